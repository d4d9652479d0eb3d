"""Reference evaluations the labs' test cells compare a student's answer with.

A test cell that recomputed "the accuracy" with ``np.argmax(model.predict(x), axis=1)``
would show the student the answer to the question it grades. The tests call these
helpers instead. They compute the same numbers another way: the model is called on
batches in inference mode (``training=False``, so Dropout is off and batch normalization
uses its moving averages, as ``predict`` and ``evaluate`` do) and the labels are counted
with ``np.bincount``-style comparisons.
"""
from __future__ import annotations

import numpy as np

__all__ = ["predicted_labels", "probabilities", "accuracy", "crossentropy", "confusion_counts", "constant_classifier",
           "conv_feature_maps", "mean_responses"]


def predicted_labels(model, x, batch_size: int = 256) -> np.ndarray:
    """The class each image of ``x`` is predicted to be (int64, one per image)."""
    x = np.asarray(x)
    out = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), batch_size):
        scores = np.asarray(model(x[start:start + batch_size], training=False))
        out[start:start + batch_size] = scores.argmax(axis=-1)
    return out


def probabilities(model, x, batch_size: int = 256) -> np.ndarray:
    """The model's outputs on ``x`` in inference mode, as one float array."""
    x = np.asarray(x)
    parts = [np.asarray(model(x[start:start + batch_size], training=False)) for start in range(0, len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 10), np.float32)


def crossentropy(model, x, y, batch_size: int = 256) -> float:
    """Mean categorical cross-entropy of ``model`` on ``(x, y)``: the loss ``evaluate`` reports."""
    truth = _labels(y)
    p = probabilities(model, x, batch_size).astype(np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.log(np.clip(p[np.arange(len(truth)), truth], 1e-7, 1.0)).mean())


def _labels(y) -> np.ndarray:
    y = np.asarray(y)
    return y.argmax(axis=1) if y.ndim == 2 else y.astype(np.int64)


def accuracy(model, x, y, batch_size: int = 256) -> float:
    """Share of ``x`` that ``model`` classifies as ``y`` (integer labels or one-hot rows)."""
    truth = _labels(y)
    if len(truth) == 0:
        return float("nan")
    return float(np.count_nonzero(predicted_labels(model, x, batch_size) == truth) / len(truth))


def confusion_counts(y_true, y_pred, num_classes: int = 10) -> np.ndarray:
    """(num_classes, num_classes) counts: row = true class, column = predicted class."""
    flat = _labels(y_true) * num_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def constant_classifier(k: int, input_shape=(28, 28, 1), num_classes: int = 10, name: str | None = None):
    """A compiled model that predicts class ``k`` for every image (a probe with a known accuracy).

    Its accuracy on any data is the share of class ``k`` in the labels, so a test can check
    a student's evaluation function on it without any training.
    """
    import keras

    model = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                              keras.layers.Dense(num_classes, activation="softmax")],
                             name=name or f"always_{k}")
    dense = model.layers[-1]
    kernel, bias = dense.get_weights()
    bias = np.zeros_like(bias)
    bias[k] = 10.0
    dense.set_weights([np.zeros_like(kernel), bias])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def conv_feature_maps(model, image) -> list[np.ndarray]:
    """The output of every ``Conv2D`` layer of a ``Sequential`` ``model`` for one image.

    Computed layer by layer (each layer called on the previous one's output, in inference
    mode), not with a sub-model: the labs' tests compare a student's sub-model with it.
    ``image``: (h, w), (h, w, channels) or a batch of one. Returns one (h, w, filters)
    array per convolution, in order.
    """
    import keras

    x = np.asarray(image, dtype="float32")
    if x.ndim == 4:
        x = x[0]
    if x.ndim == 2:
        x = x[..., None]
    out = x[None]
    maps = []
    for layer in model.layers:
        out = layer(out, training=False)
        if isinstance(layer, keras.layers.Conv2D):
            maps.append(np.asarray(out)[0])
    return maps


def mean_responses(model, image) -> np.ndarray:
    """Mean activation of each filter of the first ``Conv2D`` layer of ``model`` on one image."""
    return conv_feature_maps(model, image)[0].mean(axis=(0, 1))
