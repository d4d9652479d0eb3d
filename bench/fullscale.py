"""Full Fashion-MNIST (60,000 / 10,000) with lab 6's MLP and the course CNN, and scaling.

The data come from ``keras.datasets.fashion_mnist`` through :func:`utils.data.load_fashion_full`
(Debian's ``dataset-fashion-mnist`` files, no download). Both networks use the course's
full-data recipe, the one lab 6 shows: Adam with :func:`utils.models.warmup_cosine` (one epoch
of warm-up to 0.003, cosine decay to 0 at the last epoch), categorical cross-entropy, batch 128;
the CNN is :func:`utils.models.fashion_cnn` with ``bn_momentum=0.9``.
The 10,000 test images are used only for the final score; validation uses 10% of the training set.
"""
from __future__ import annotations

import time

import numpy as np

ANCHORS = [
    {"model": "Handout 003 MLP (50 epochs)", "test_accuracy": 0.884, "params": 870_410},
    {"model": "Handout 003 CNN (50 epochs)", "test_accuracy": 0.9295, "params": 7_658_746},
    {"model": "Fashion-MNIST benchmark, small CNNs", "test_accuracy": "0.876-0.939", "params": None},
    {"model": "Human performance", "test_accuracy": 0.835, "params": None},
]


class EpochTimer:
    """A Keras callback recording the seconds of every epoch."""

    def __new__(cls):
        import keras

        class _Timer(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self._t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self._t)

        return _Timer()


def load(limit: int | None = None, test_limit: int | None = None):
    from utils import data

    (x, y), (xt, yt) = data.load_fashion_full()
    if limit:
        x, y = x[:limit], y[:limit]
    if test_limit:
        xt, yt = xt[:test_limit], yt[:test_limit]
    return (data.to_images(x), data.one_hot(y)), (data.to_images(xt), data.one_hot(yt))


# The levers issue 16 asks to measure, one run each (``--full-trials``): what each changes from the
# recipe (bench/__main__.py: mixed bfloat16, no shifts). "float32" computes in float32 instead;
# "shift" adds random translations (no flips: they hurt on Fashion-MNIST, see lab 6).
TRIALS = {
    "xla": {"jit_compile": True},
    "float32": {"mixed_bfloat16": False},
    "batch256": {"batch_size": 256, "peak_learning_rate": 4e-3},
    "batch64": {"batch_size": 64, "peak_learning_rate": 2e-3},
    "shift": {"shift": 0.1},
    "peak2e-3": {"peak_learning_rate": 2e-3},
}


def describe(batch_size: int, peak_learning_rate: float, shift: float = 0.0, jit_compile: bool = False,
             mixed_bfloat16: bool = False) -> str:
    text = f"Adam, warm-up + cosine to 0, peak {peak_learning_rate:g}, batch {batch_size}"
    if shift:
        text += f", random shifts ±{shift:g}"
    if jit_compile:
        text += ", XLA"
    if mixed_bfloat16:
        text += ", mixed bfloat16"
    return text


def train_and_score(kind: str, epochs: int, *, limit: int | None = None, test_limit: int | None = None,
                    batch_size: int = 128, peak_learning_rate: float = 3e-3, seed: int = 2,
                    shift: float = 0.0, jit_compile: bool = False, mixed_bfloat16: bool = False) -> dict:
    """Train ``kind`` ("mlp" or "cnn") on the full (or ``limit``-ed) Fashion-MNIST and score it.

    ``shift`` > 0 puts a ``RandomTranslation(shift, shift)`` layer (no parameters; active only
    in training) in front of the network; ``jit_compile`` compiles the training step with XLA;
    ``mixed_bfloat16`` computes in bfloat16 with float32 weights (Keras' ``mixed_bfloat16``
    policy), the output layer's softmax in float32.
    """
    import keras

    from utils import models

    keras.utils.set_random_seed(seed)
    (x, y), (xt, yt) = load(limit, test_limit)
    policy = keras.config.dtype_policy()
    if mixed_bfloat16:
        keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        if kind == "mlp":
            model = models.fashion_mlp()
            x, xt = x.reshape(len(x), 784), xt.reshape(len(xt), 784)
        elif kind == "cnn":
            model = models.fashion_cnn(bn_momentum=0.9, mixed_bfloat16=mixed_bfloat16)
        else:
            raise ValueError(kind)
        if shift:
            model = keras.Sequential([keras.Input(x.shape[1:]),
                                      keras.layers.RandomTranslation(shift, shift, fill_mode="constant"),
                                      *model.layers], name=model.name)
    finally:
        keras.config.set_dtype_policy(policy)
    steps_per_epoch = int(np.ceil(len(x) * 0.9 / batch_size))
    model.compile(optimizer=keras.optimizers.Adam(
        learning_rate=models.warmup_cosine(peak_learning_rate, epochs, steps_per_epoch)),
        loss="categorical_crossentropy", metrics=["accuracy"], jit_compile=jit_compile)
    timer = EpochTimer()
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_split=0.1,
                        callbacks=[timer], verbose=0)
    train_seconds = time.perf_counter() - start
    pred = np.argmax(model.predict(xt, verbose=0), axis=1)
    accuracy = float((pred == np.argmax(yt, axis=1)).mean())
    return {
        "model": kind, "keras_name": model.name, "params": int(model.count_params()),
        "train_images": int(len(x) * 0.9), "test_images": int(len(xt)), "epochs": epochs, "seed": seed,
        "recipe": describe(batch_size, peak_learning_rate, shift, jit_compile, mixed_bfloat16),
        "test_accuracy": round(accuracy, 4),
        "best_val_accuracy": round(float(max(history.history["val_accuracy"])), 4),
        "seconds_per_epoch": [round(s, 2) for s in timer.seconds],
        "median_seconds_per_epoch": round(float(np.median(timer.seconds)), 2),
        "train_seconds": round(train_seconds, 1),
    }


def recipe_summary(full: dict) -> dict:
    """What lab 6 shows of the full-data recipe (``data/fashion_recipe.json``): the CNN runs of a
    ``make bench`` full part, their median test accuracy and spread, and the time each took."""
    import statistics

    runs = [r for r in full["runs"] if r["model"] == "cnn"]
    accs = [r["test_accuracy"] for r in runs]
    return {"command": full.get("command", "python -m bench --parts full"), "date": full.get("date"),
            "recipe": runs[0]["recipe"] if runs else "", "epochs": runs[0]["epochs"] if runs else 0,
            "params": runs[0]["params"] if runs else 0, "train_images": runs[0]["train_images"] if runs else 0,
            "test_images": runs[0]["test_images"] if runs else 0,
            "runs": [{"seed": r["seed"], "test_accuracy": r["test_accuracy"], "train_seconds": r["train_seconds"],
                      "median_seconds_per_epoch": r["median_seconds_per_epoch"]} for r in runs],
            "median_test_accuracy": round(statistics.median(accs), 4) if accs else None,
            "min_test_accuracy": min(accs, default=None), "max_test_accuracy": max(accs, default=None)}


def scaling(sizes=(1000, 4000, 16000, 60000), epochs: int = 2, repeats: int = 3, kind: str = "cnn",
            long_run: float = 60.0, log=print) -> list[dict]:
    """Seconds per epoch of the course CNN against the number of training images.

    Each size is trained ``repeats`` times, once only when the first run takes over ``long_run`` s.

    The first epoch (graph tracing) is reported apart from the steady epochs.
    """
    rows = []
    for n in sizes:
        runs = []
        for _ in range(repeats):
            r = train_and_score(kind, epochs, limit=n, test_limit=1000)
            runs.append(r)
            if r["train_seconds"] > long_run:
                break
        steady = [s for r in runs for s in r["seconds_per_epoch"][1:]] or [r["seconds_per_epoch"][0] for r in runs]
        first = [r["seconds_per_epoch"][0] for r in runs]
        row = {"images": n, "train_images": runs[0]["train_images"], "epochs": epochs, "runs": len(runs),
               "first_epoch_seconds": round(float(np.median(first)), 2),
               "seconds_per_epoch": round(float(np.median(steady)), 2),
               "seconds_per_epoch_min": round(float(min(steady)), 2),
               "seconds_per_epoch_max": round(float(max(steady)), 2)}
        row["ms_per_image"] = round(1000 * row["seconds_per_epoch"] / row["train_images"], 3)
        log(f"  {n} images: {row['seconds_per_epoch']} s/epoch")
        rows.append(row)
    return rows


def plot_scaling(rows: list[dict], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    n = [r["train_images"] for r in rows]
    s = [r["seconds_per_epoch"] for r in rows]
    lo = [r["seconds_per_epoch"] - r["seconds_per_epoch_min"] for r in rows]
    hi = [r["seconds_per_epoch_max"] - r["seconds_per_epoch"] for r in rows]
    ax.errorbar(n, s, yerr=[lo, hi], marker="o", capsize=3, label="measured (median, min-max)")
    if len(n) > 1:
        slope = np.polyfit(n, s, 1)
        grid = np.linspace(0, max(n), 50)
        ax.plot(grid, np.polyval(slope, grid), "--", color="gray",
                label=f"linear fit: {1000 * slope[0]:.2f} ms/image + {slope[1]:.1f} s")
    ax.set_xlabel("training images")
    ax.set_ylabel("seconds per epoch")
    ax.set_title("Course CNN, Fashion-MNIST, CPU")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
