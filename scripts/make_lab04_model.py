"""The model lab 4 evaluates: ``digit_cnn()`` trained as lab 4's section 1 trains it, saved in data/.

    python scripts/make_lab04_model.py [--out data]

Lab 4 is about evaluating a model, not training one. Its section 1 loads these weights instead of
training for a minute in every run (and in every student's grading job, issue 16), unless the
student sets ``TRAIN_HERE = True`` or ``FULL_DATA = True``. The code below is the code of that cell:
the course subset (``prepare(labelled_test=True)``), seed 2, Adam 0.001, batch 40, 4 epochs,
``ReduceLROnPlateau(monitor="val_accuracy")``. It writes ``lab04_digit_cnn.weights.h5`` (the
weights, 1.3 MB) and ``lab04_history.json`` (the per-epoch history lab 4 plots). One fixed model
also makes lab 4's graded figures the same on every machine and in every run.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EPOCHS, BATCH_SIZE, SEED = 4, 40, 2
WEIGHTS, HISTORY = "lab04_digit_cnn.weights.h5", "lab04_history.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data")
    args = parser.parse_args(argv)
    import keras

    from utils import data as course_data
    from utils import evaluation as course_eval
    from utils import models

    keras.utils.set_random_seed(SEED)
    data = course_data.prepare(full=False, labelled_test=True)
    model = models.compile_classifier(models.digit_cnn(), "adam", learning_rate=0.001)
    reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_accuracy", patience=3, factor=0.5, min_lr=1e-5)
    history = model.fit(data.x_train, data.y_train, batch_size=BATCH_SIZE, epochs=EPOCHS,
                        validation_data=(data.x_val, data.y_val), callbacks=[reduce_lr], verbose=0)
    args.out.mkdir(parents=True, exist_ok=True)
    # the weights only: saved from the compiled model they would carry Adam's moments too (three times the
    # size, and a warning in lab 4 when an uncompiled-for-training model skips them)
    bare = models.digit_cnn()
    bare.set_weights(model.get_weights())
    bare.save_weights(args.out / WEIGHTS)
    record = {key: [round(float(v), 6) for v in values] for key, values in history.history.items()}
    record = {"epochs": EPOCHS, "batch_size": BATCH_SIZE, "seed": SEED, "train_images": int(len(data.x_train)),
              "history": record}
    (args.out / HISTORY).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out / WEIGHTS} and {args.out / HISTORY}; held-out accuracy "
          f"{course_eval.accuracy(model, data.x_test, data.y_test):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
