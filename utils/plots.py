"""The figures of the labs.

Every function draws one thing, takes ``ax=None`` (or ``fig=None`` for grids) and falls
back to a new figure, returns what it drew (the ``Axes`` or the ``Figure``) and never
calls ``plt.show()``: Jupyter shows the figure, a test inspects it, a student restyles it.
Figure text stays in English so that it renders on machines without CJK fonts; where a lab
passes Chinese text (e.g. ``utils.data.FASHION_CLASSES_ZH``), :func:`utils.fonts.use_cjk_font`,
run on import, supplies a Chinese font.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from .fonts import use_cjk_font

use_cjk_font()

__all__ = [
    "plot_label_distribution", "plot_images", "plot_maps", "plot_history", "plot_confusion_matrix",
    "most_confident_errors", "plot_top_errors", "roc_auc_per_class", "plot_roc",
    "model_diagram", "TextDiagram", "conv_layers", "plot_filters", "plot_feature_maps",
]


def _labels_1d(y) -> np.ndarray:
    """Integer class labels from integer labels or one-hot / probability rows."""
    y = np.asarray(y)
    if y.ndim == 2:
        return np.argmax(y, axis=1)
    return y.astype(int)


def _name(class_names, k) -> str:
    return str(class_names[k]) if class_names is not None else str(k)


# --------------------------------------------------------------------------- data

def plot_label_distribution(labels, *, class_names: Sequence[str] | None = None, ax=None,
                            title: str = "Label distribution"):
    """Bar chart of how many images each class has (seaborn bars of ``np.bincount``).

    ``labels`` may be integer labels (a Series, list or array) or one-hot rows.
    Returns the Axes; one bar per class, bar heights are the counts.
    """
    ax = ax or plt.figure().gca()
    y = _labels_1d(labels)
    order = list(range(int(y.max()) + 1)) if class_names is None else list(range(len(class_names)))
    counts = np.bincount(y, minlength=len(order))[:len(order)]
    names = [str(c) for c in class_names] if class_names is not None else [str(k) for k in order]
    sns.barplot(x=names, y=counts, ax=ax, color="C0", order=names)
    if class_names is not None:
        ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("label")
    ax.set_ylabel("count")
    ax.set_title(title)
    return ax


def plot_images(images, labels=None, predictions=None, *, n: int | None = None, ncols: int = 5,
                class_names: Sequence[str] | None = None, fig=None, cmap: str = "gray"):
    """A grid of images, each titled with its true label and, if given, the predicted one.

    ``images``: (n, 28, 28), (n, 28, 28, 1) or (n, 784). ``labels`` / ``predictions``:
    integer labels, one-hot rows or probability rows. Titles read ``true: 3`` or
    ``true: 3 / pred: 5``; a wrong prediction is titled in red. Returns the Figure.
    """
    images = np.asarray(images)
    count = len(images) if n is None else min(n, len(images))
    images = images[:count].reshape(count, 28, 28)
    y = _labels_1d(labels)[:count] if labels is not None else None
    p = _labels_1d(predictions)[:count] if predictions is not None else None
    ncols = max(1, min(ncols, count))
    nrows = int(np.ceil(count / ncols))
    fig = fig or plt.figure(figsize=(1.8 * ncols, 2.0 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= count:
            continue
        ax.imshow(images[i], cmap=cmap)
        parts = []
        if y is not None:
            parts.append(f"true: {_name(class_names, y[i])}")
        if p is not None:
            parts.append(f"pred: {_name(class_names, p[i])}")
        wrong = y is not None and p is not None and y[i] != p[i]
        ax.set_title("\n".join(parts) if class_names is not None else " / ".join(parts),
                     fontsize=9, color="red" if wrong else "black")
    fig.tight_layout()
    return fig


def plot_maps(image, maps, *, titles: Sequence[str] | None = None, fig=None,
              image_title: str = "input"):
    """One row: the input image (grey), then each feature map computed from it.

    ``image``: (h, w) or (h, w, 1); ``maps``: a list of 2-D arrays (e.g. the outputs of
    a hand-written cross-correlation with an edge kernel). Each map is drawn with a diverging
    colour map centred on 0 (red positive, blue negative, colour limits ±max|map|) and
    a colour bar, so the sign of an edge shows. Returns the Figure; the map panels are
    ``fig.axes[1:len(maps) + 1]``.
    """
    image = np.asarray(image)
    image = image.reshape(image.shape[:2])
    maps = [np.asarray(m, dtype=float) for m in maps]
    titles = list(titles) if titles is not None else [f"map {i + 1}" for i in range(len(maps))]
    if len(titles) != len(maps):
        raise ValueError("give one title per feature map")
    fig = fig or plt.figure(figsize=(3.2 * (len(maps) + 1), 3.2))
    axes = fig.subplots(1, len(maps) + 1, squeeze=False)[0]
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title(f"{image_title} {image.shape[0]}x{image.shape[1]}")
    for ax, fmap, title in zip(axes[1:], maps, titles):
        limit = float(np.abs(fmap).max()) or 1.0
        shown = ax.imshow(fmap, cmap="RdBu_r", vmin=-limit, vmax=limit)
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        ax.set_title(f"{title} {fmap.shape[0]}x{fmap.shape[1]}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- training

def _history_dict(history) -> dict:
    if hasattr(history, "history"):
        return dict(history.history)
    if isinstance(history, Mapping):
        return dict(history)
    raise TypeError("expected a keras History or a dict of lists such as history.history")


def plot_history(histories, *, metrics: Sequence[str] = ("loss", "accuracy"), fig=None):
    """Learning curves: one panel per metric, training (solid) vs validation (dashed).

    ``histories`` is one ``History`` (or ``history.history`` dict) or a mapping
    ``{run name: History}`` to compare several runs (optimisers, losses...) side by side:
    each run keeps one colour. Returns the Figure; legend entries read
    ``train`` / ``validation`` for one run and ``<name> train`` / ``<name> val`` for several.
    """
    if hasattr(histories, "history") or (
            isinstance(histories, Mapping) and histories and
            all(isinstance(v, (list, tuple, np.ndarray)) for v in histories.values())):
        runs = {"": _history_dict(histories)}
    elif isinstance(histories, Mapping):
        runs = {str(name): _history_dict(h) for name, h in histories.items()}
    else:
        raise TypeError("expected a History, a history dict or a mapping of run name -> History")
    fig = fig or plt.figure(figsize=(5.5 * len(metrics), 4))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        for colour, (name, hist) in enumerate(runs.items()):
            prefix = f"{name} " if name else ""
            if metric in hist:
                values = hist[metric]
                ax.plot(range(1, len(values) + 1), values, color=f"C{colour}", linestyle="-",
                        marker="o", markersize=3, label=f"{prefix}train")
            if f"val_{metric}" in hist:
                values = hist[f"val_{metric}"]
                ax.plot(range(1, len(values) + 1), values, color=f"C{colour}", linestyle="--",
                        marker="s", markersize=3, label=f"{prefix}val" if name else "validation")
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if ax.get_lines():
            ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- evaluation

def plot_confusion_matrix(y_true, y_pred, *, normalize: bool = False,
                          class_names: Sequence[str] | None = None, ax=None, cmap: str = "Blues",
                          title: str | None = None):
    """Confusion matrix (rows: true label, columns: predicted) as a seaborn heatmap.

    Counts come from :func:`sklearn.metrics.confusion_matrix`; with ``normalize=True``
    each row is divided by its total (``normalize="true"``), so a row sums to 1.
    ``y_true`` / ``y_pred`` may be integer labels, one-hot or probability rows.
    Returns the Axes; the matrix drawn is in ``ax.collections[0].get_array()``.
    """
    from sklearn.metrics import confusion_matrix

    yt, yp = _labels_1d(y_true), _labels_1d(y_pred)
    n = len(class_names) if class_names is not None else int(max(yt.max(), yp.max())) + 1
    cm = confusion_matrix(yt, yp, labels=list(range(n)), normalize="true" if normalize else None)
    cm = np.nan_to_num(cm)
    ax = ax or plt.figure(figsize=(7, 6)).gca()
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(n)]
    sns.heatmap(cm, annot=True, fmt=".2f" if normalize else "d", cmap=cmap, square=True,
                xticklabels=names, yticklabels=names, cbar=True, ax=ax, annot_kws={"fontsize": 8})
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(title or ("Confusion matrix (normalised by row)" if normalize else "Confusion matrix"))
    return ax


def most_confident_errors(y_true, probabilities, n: int = 9) -> np.ndarray:
    """Indices of the ``n`` misclassified images with the largest p(predicted) − p(true).

    Ordered from the most confident error down. ``y_true``: integer labels or one-hot rows;
    ``probabilities``: (n_images, n_classes) softmax outputs. Fewer than ``n`` indices come
    back when there are fewer errors.
    """
    probs = np.asarray(probabilities)
    yt = _labels_1d(y_true)
    yp = np.argmax(probs, axis=1)
    wrong = np.flatnonzero(yp != yt)
    gap = probs[wrong, yp[wrong]] - probs[wrong, yt[wrong]]
    order = np.argsort(-gap, kind="stable")
    return wrong[order[:n]]


def plot_top_errors(images, y_true, probabilities, *, n: int = 9, ncols: int = 3,
                    class_names: Sequence[str] | None = None, fig=None):
    """Show the ``n`` most confident errors (see :func:`most_confident_errors`).

    Each title gives the predicted label with its probability and the true label with its
    probability. Returns the Figure; its indices are in ``fig.error_indices``.
    """
    probs = np.asarray(probabilities)
    idx = most_confident_errors(y_true, probs, n)
    yt = _labels_1d(y_true)
    yp = np.argmax(probs, axis=1)
    count = max(len(idx), 1)
    ncols = max(1, min(ncols, count))
    nrows = int(np.ceil(count / ncols))
    fig = fig or plt.figure(figsize=(2.4 * ncols, 2.5 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    imgs = np.asarray(images)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= len(idx):
            continue
        i = idx[k]
        ax.imshow(imgs[i].reshape(28, 28), cmap="gray")
        ax.set_title(f"pred {_name(class_names, yp[i])} ({probs[i, yp[i]]:.2f})\n"
                     f"true {_name(class_names, yt[i])} ({probs[i, yt[i]]:.2f})", fontsize=9)
    if not len(idx):
        axes.flat[0].set_title("no errors")
    fig.tight_layout()
    fig.error_indices = idx
    return fig


def roc_auc_per_class(y_true, probabilities) -> dict[int, float]:
    """One-vs-rest AUC of every class (``label_binarize`` + ``roc_auc_score``)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import label_binarize

    probs = np.asarray(probabilities)
    classes = list(range(probs.shape[1]))
    y_bin = label_binarize(_labels_1d(y_true), classes=classes)
    return {k: float(roc_auc_score(y_bin[:, k], probs[:, k])) for k in classes if 0 < y_bin[:, k].sum() < len(y_bin)}


def plot_roc(y_true, probabilities, *, class_names: Sequence[str] | None = None, ax=None):
    """Per-class one-vs-rest ROC curves with their AUC (``sklearn.metrics.RocCurveDisplay``).

    Legend entries read ``<class> (AUC = 0.99)``; the dashed diagonal is a random guess.
    Returns the Axes.
    """
    from sklearn.metrics import RocCurveDisplay
    from sklearn.preprocessing import label_binarize

    probs = np.asarray(probabilities)
    classes = list(range(probs.shape[1]))
    y_bin = label_binarize(_labels_1d(y_true), classes=classes)
    ax = ax or plt.figure(figsize=(7, 6)).gca()
    for k in roc_auc_per_class(y_true, probs):
        RocCurveDisplay.from_predictions(y_bin[:, k], probs[:, k], name=_name(class_names, k),
                                         ax=ax, curve_kwargs={"color": f"C{k % 10}"},
                                         plot_chance_level=False)
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    ax.set_title("ROC curves, one class vs the rest")
    ax.legend(loc="lower right", fontsize=8)
    return ax


# --------------------------------------------------------------------------- what the network learned

def conv_layers(model) -> list:
    """The ``Conv2D`` layers of ``model`` (its own layers, not those of nested models), in order."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def _kernels(layer_or_weights, channel: int) -> np.ndarray:
    """(filters, height, width) from a Conv2D layer, its kernel (h, w, in, out) or (h, w, out)."""
    if hasattr(layer_or_weights, "get_weights"):
        weights = layer_or_weights.get_weights()
        if not weights:
            raise ValueError("this layer has no weights: is it a Conv2D layer, and is it built?")
        kernel = np.asarray(weights[0])
    else:
        kernel = np.asarray(layer_or_weights)
    if kernel.ndim == 4:
        kernel = kernel[:, :, channel, :]
    if kernel.ndim != 3:
        raise ValueError(f"expected a Conv2D kernel of shape (h, w, in, out) or (h, w, out), got {kernel.shape}")
    return np.moveaxis(kernel, -1, 0)


def plot_filters(layer_or_weights, *, channel: int = 0, ncols: int = 8, highlight: int | None = None,
                 fig=None, cmap: str = "gray"):
    """The kernels of a convolution as a grid of small images, one per filter.

    ``layer_or_weights``: a ``Conv2D`` layer, or its kernel array of shape (h, w, in, out);
    ``channel`` picks the input channel shown (the first layer of a grey-scale network has
    one). All kernels share one symmetric colour scale (white = most positive weight,
    black = most negative, mid-grey = 0), so they can be compared. Each panel is titled with
    the filter's index; ``highlight`` draws that filter's title in red.
    Returns the Figure; the drawn kernels, shape (filters, h, w), are in ``fig.kernels``.
    """
    kernels = _kernels(layer_or_weights, channel)
    count = len(kernels)
    ncols = max(1, min(ncols, count))
    nrows = int(np.ceil(count / ncols))
    fig = fig or plt.figure(figsize=(1.2 * ncols, 1.35 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    limit = float(np.abs(kernels).max()) or 1.0
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= count:
            continue
        ax.imshow(kernels[k], cmap=cmap, vmin=-limit, vmax=limit)
        ax.set_title(str(k), fontsize=8, color="red" if k == highlight else "black",
                     fontweight="bold" if k == highlight else "normal")
    fig.tight_layout()
    fig.kernels = kernels
    return fig


def _one_image(image) -> np.ndarray:
    x = np.asarray(image, dtype="float32")
    if x.ndim == 4 and len(x) == 1:
        x = x[0]
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3:
        raise ValueError(f"expected one image (h, w) or (h, w, channels), got shape {np.shape(image)}")
    return x


def plot_feature_maps(model, image, *, n: int = 8, fig=None, cmap: str = "viridis"):
    """The feature maps of one image after each convolution of ``model``.

    The maps come from a sub-model ``keras.Model(model.inputs, [conv.output, ...])`` that
    shares ``model``'s layers, called in inference mode (Dropout off). ``image``: (28, 28),
    (28, 28, 1) or a batch of one. One row per ``Conv2D`` layer, its first ``n`` channels;
    each row is labelled with the layer's name and the map's shape (height × width × channels),
    each panel with the channel's index.
    Returns the Figure; the full maps (one (h, w, channels) array per convolution) are in
    ``fig.feature_maps`` and the layer names in ``fig.layer_names``.
    """
    import keras

    convs = conv_layers(model)
    if not convs:
        raise ValueError(f"model {model.name!r} has no Conv2D layer")
    sub = keras.Model(model.inputs[0], [conv.output for conv in convs])
    outputs = sub(_one_image(image)[None], training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    maps = [np.asarray(out)[0] for out in outputs]
    ncols = max(1, min(n, max(m.shape[-1] for m in maps)))
    fig = fig or plt.figure(figsize=(1.5 * ncols + 0.8, 1.6 * len(maps)))
    axes = fig.subplots(len(maps), ncols, squeeze=False)
    for row, (conv, fmap) in zip(axes, zip(convs, maps)):
        for k, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            if k >= fmap.shape[-1]:
                ax.set_axis_off()
                continue
            ax.imshow(fmap[:, :, k], cmap=cmap)
            ax.set_title(str(k), fontsize=8)
        h, w, c = fmap.shape
        row[0].set_ylabel(f"{conv.name}\n{h}x{w}x{c}", fontsize=8)
    fig.tight_layout()
    fig.feature_maps = maps
    fig.layer_names = [conv.name for conv in convs]
    return fig


# --------------------------------------------------------------------------- model diagram

class TextDiagram(str):
    """A plain-text model diagram (the fallback when Graphviz is not installed)."""

    def _repr_pretty_(self, p, cycle):  # IPython shows the text without quotes
        p.text(str(self))


def _graphviz_available() -> bool:
    try:
        import pydot

        pydot.Dot.create(pydot.Dot())
        return True
    except Exception:
        return False


def _text_diagram(model) -> TextDiagram:
    rows = [("layer (type)", "output shape", "params")]
    for layer in model.layers:
        try:
            shape = str(tuple(layer.output.shape))
        except Exception:
            shape = "?"
        rows.append((f"{layer.name} ({type(layer).__name__})", shape, f"{layer.count_params():,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    box = lambda r: f"| {r[0]:<{widths[0]}} | {r[1]:<{widths[1]}} | {r[2]:>{widths[2]}} |"
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [f"Model: {model.name}", rule, box(rows[0]), rule]
    for k, r in enumerate(rows[1:]):
        lines.append(box(r))
        if k < len(rows) - 2:
            lines.append(f"| {'|':^{widths[0]}} | {'v':^{widths[1]}} | {'':>{widths[2]}} |")
    lines += [rule, f"Total params: {model.count_params():,}"]
    return TextDiagram("\n".join(lines))


def model_diagram(model, to_file: str | None = None, *, text: bool | None = None):
    """A diagram of ``model``: ``keras.utils.plot_model`` (shapes shown) when pydot and
    Graphviz are installed, else (or with ``text=True``) a readable text diagram.

    Returns an ``IPython.display.Image`` or a :class:`TextDiagram` (a ``str``).
    """
    use_text = (not _graphviz_available()) if text is None else text
    if not use_text:
        import os
        import tempfile

        import keras

        path = to_file or os.path.join(tempfile.mkdtemp(prefix="model-"), f"{model.name}.png")
        return keras.utils.plot_model(model, to_file=path, show_shapes=True, show_layer_names=True)
    return _text_diagram(model)
