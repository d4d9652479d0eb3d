"""CPU seconds of the labs' typical short trainings at one thread (issue 16's levers).

    TF_ENABLE_ONEDNN_OPTS=1 python scripts/probe_training_cost.py
    TF_ENABLE_ONEDNN_OPTS=0 python scripts/probe_training_cost.py

Each line: one ``fit`` on the course subset (seed 2, Adam 0.001, validation every epoch), its process
CPU time, wall time and last validation accuracy. Used to compare a setting (e.g. oneDNN on/off)
before changing what the grader runs; not part of ``make test``.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    started = time.process_time()
    import keras
    import tensorflow as tf

    from utils import data as course_data
    from utils import models

    imports = time.process_time() - started
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    data = course_data.prepare(full=False)
    print(f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', '(unset)')}; imports {imports:.2f} CPU-s")

    def run(label, build, epochs, batch_size, n=None):
        keras.utils.set_random_seed(2)
        model = models.compile_classifier(build(), "adam", learning_rate=0.001)
        x, y = (data.x_train, data.y_train) if n is None else (data.x_train[:n], data.y_train[:n])
        cpu, wall = time.process_time(), time.perf_counter()
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=(data.x_val, data.y_val), verbose=0)
        print(f"{label:32s} CPU {time.process_time() - cpu:6.2f} s  wall {time.perf_counter() - wall:6.2f} s  "
              f"val {history.history['val_accuracy'][-1]:.3f}", flush=True)

    run("digit_cnn, 2 epochs, batch 64", models.digit_cnn, 2, 64)
    run("kaggle_cnn, 1 epoch, batch 32", lambda: models.kaggle_cnn(bn_momentum=0.9), 1, 32)
    run("kaggle_cnn, 2 epochs, batch 32", lambda: models.kaggle_cnn(bn_momentum=0.9), 2, 32)
    run("digit_cnn, 300 images, 15 epochs", models.digit_cnn, 15, 32, n=300)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
