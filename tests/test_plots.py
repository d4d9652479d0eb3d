"""utils.plots: check what is drawn, not merely that nothing raised."""
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, roc_auc_score

from utils import plots

RNG = np.random.default_rng(0)


def fake_predictions(n=200, classes=10, noise=1.5):
    y = RNG.integers(0, classes, n)
    logits = RNG.normal(0, noise, (n, classes))
    logits[np.arange(n), y] += 2.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, probs


def test_label_distribution_bars_are_the_counts():
    labels = np.repeat(np.arange(10), [5, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    ax = plots.plot_label_distribution(labels)
    heights = [p.get_height() for p in ax.patches]
    assert heights == [5, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    # one-hot input and a given Axes
    fig, own = plt.subplots()
    assert plots.plot_label_distribution(np.eye(10)[labels], ax=own) is own
    assert [p.get_height() for p in own.patches] == heights


def test_label_distribution_with_class_names():
    ax = plots.plot_label_distribution([0, 0, 2], class_names=["a", "b", "c"])
    assert [p.get_height() for p in ax.patches] == [2, 0, 1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]


def test_image_grid_titles_and_count():
    images = RNG.random((7, 784))
    fig = plots.plot_images(images, labels=[1, 2, 3, 4, 5, 6, 7], predictions=np.eye(10)[[1, 2, 0, 4, 5, 6, 7]], ncols=4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 7 and len(fig.axes) == 8
    titles = [ax.get_title() for ax in shown]
    assert titles[0] == "true: 1 / pred: 1" and titles[2] == "true: 3 / pred: 0"
    assert shown[2].title.get_color() == "red" and shown[0].title.get_color() == "black"
    assert shown[0].images[0].get_array().shape == (28, 28)


def test_image_grid_limits_n():
    fig = plots.plot_images(np.zeros((20, 28, 28, 1)), n=6, ncols=3)
    assert len([ax for ax in fig.axes if ax.images]) == 6
    assert all(ax.get_title() == "" for ax in fig.axes)


def test_maps_show_the_input_and_each_map_centred_on_zero():
    image = RNG.random((28, 28, 1))
    maps = [RNG.normal(size=(26, 26)), -np.abs(RNG.normal(size=(26, 26)))]
    fig = plots.plot_maps(image, maps, titles=["vertical", "horizontal"])
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 3                               # input + two maps (the rest are colour bars)
    assert np.array_equal(panels[0].images[0].get_array(), image[:, :, 0])
    for ax, fmap in zip(panels[1:], maps):
        shown = ax.images[0]
        assert np.array_equal(shown.get_array(), fmap)
        low, high = shown.get_clim()
        assert high == pytest.approx(np.abs(fmap).max()) and low == pytest.approx(-high)
    assert [ax.get_title() for ax in panels] == ["input 28x28", "vertical 26x26", "horizontal 26x26"]
    own = plt.figure()
    assert plots.plot_maps(image[:, :, 0], maps[:1], fig=own) is own
    with pytest.raises(ValueError):
        plots.plot_maps(image, maps, titles=["only one"])


def test_history_single_run():
    hist = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.8, 0.9],
            "val_accuracy": [0.4, 0.7, 0.8]}
    fig = plots.plot_history(hist)
    loss_ax, acc_ax = fig.axes[:2]
    assert loss_ax.get_title() == "loss" and acc_ax.get_title() == "accuracy"
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["train", "validation"]
    assert list(acc_ax.get_lines()[1].get_ydata()) == [0.4, 0.7, 0.8]
    assert list(acc_ax.get_lines()[0].get_xdata()) == [1, 2, 3]


def test_history_compares_runs():
    class FakeHistory:
        def __init__(self, h):
            self.history = h

    runs = {name: FakeHistory({"loss": [1, 0.5], "val_loss": [1, 0.6], "accuracy": [0.5, 0.9], "val_accuracy": [0.5, 0.8]})
            for name in ["SGD", "RMSprop", "Adam"]}
    fig = plots.plot_history(runs)
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert labels == ["SGD train", "SGD val", "RMSprop train", "RMSprop val", "Adam train", "Adam val"]
    colours = {line.get_label(): line.get_color() for line in fig.axes[1].get_lines()}
    assert colours["SGD train"] == colours["SGD val"] != colours["Adam val"]
    with pytest.raises(TypeError):
        plots.plot_history([1, 2, 3])


def test_confusion_matrix_cells_match_sklearn():
    y, probs = fake_predictions()
    pred = probs.argmax(axis=1)
    ax = plots.plot_confusion_matrix(y, probs)
    drawn = np.asarray(ax.collections[0].get_array()).reshape(10, 10)
    expected = confusion_matrix(y, pred, labels=range(10))
    np.testing.assert_array_equal(drawn, expected)
    annotations = [int(t.get_text()) for t in ax.texts]
    assert annotations == expected.ravel().tolist()
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"


def test_confusion_matrix_normalised_rows_sum_to_one():
    y, probs = fake_predictions()
    ax = plots.plot_confusion_matrix(np.eye(10)[y], probs.argmax(axis=1), normalize=True,
                                     class_names=[f"c{i}" for i in range(10)])
    drawn = np.asarray(ax.collections[0].get_array()).reshape(10, 10)
    np.testing.assert_allclose(drawn.sum(axis=1), 1.0)
    assert "normalised" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["c0", "c1"]


def test_most_confident_errors_ranked_by_gap():
    y = np.array([0, 1, 2, 3, 4])
    probs = np.array([
        [0.9, 0.1, 0, 0, 0],      # right
        [0.6, 0.4, 0, 0, 0],      # wrong, gap 0.2
        [0.0, 0.0, 0.05, 0.95, 0],  # wrong, gap 0.9
        [0, 0, 0, 1.0, 0],        # right
        [0.5, 0, 0, 0, 0.2],      # wrong, gap 0.3
    ])
    assert plots.most_confident_errors(y, probs, n=9).tolist() == [2, 4, 1]
    assert plots.most_confident_errors(np.eye(5)[y], probs, n=2).tolist() == [2, 4]


def test_top_errors_figure():
    y, probs = fake_predictions()
    images = RNG.random((len(y), 28, 28, 1))
    fig = plots.plot_top_errors(images, y, probs, n=9)
    expected = plots.most_confident_errors(y, probs, 9)
    assert fig.error_indices.tolist() == expected.tolist()
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 9
    first = expected[0]
    assert shown[0].get_title().startswith(f"pred {probs[first].argmax()} ({probs[first].max():.2f})")
    assert f"true {y[first]}" in shown[0].get_title()


def test_roc_auc_values_match_sklearn():
    y, probs = fake_predictions(400)
    aucs = plots.roc_auc_per_class(y, probs)
    for k in range(10):
        assert aucs[k] == pytest.approx(roc_auc_score((y == k).astype(int), probs[:, k]))
    ax = plots.plot_roc(y, probs)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 10
    for k, text in enumerate(legend):
        m = re.search(r"AUC = ([0-9.]+)", text)
        assert text.startswith(str(k)) and m and float(m.group(1)) == pytest.approx(aucs[k], abs=0.005)
    macro = roc_auc_score(y, probs, multi_class="ovr", average="macro")
    assert np.mean(list(aucs.values())) == pytest.approx(macro)


@pytest.fixture(scope="module")
def small_model():
    import keras

    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, name="conv"),
                             keras.layers.Flatten(name="flat"), keras.layers.Dense(10, name="out")], name="tiny")


def test_model_diagram_text_fallback(small_model):
    text = plots.model_diagram(small_model, text=True)
    assert isinstance(text, str)
    assert "conv (Conv2D)" in text and "(None, 26, 26, 4)" in text and "out (Dense)" in text
    assert f"Total params: {small_model.count_params():,}" in text
    assert text.index("conv") < text.index("flat") < text.index("out (Dense)")


def test_model_diagram_graphviz(small_model, tmp_path):
    if not plots._graphviz_available():
        # without Graphviz the fallback must be chosen automatically
        assert isinstance(plots.model_diagram(small_model), plots.TextDiagram)
        return
    image = plots.model_diagram(small_model, to_file=str(tmp_path / "m.png"))
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert type(image).__name__ == "Image"


# --------------------------------------------------------------------------- what the network learned

@pytest.fixture(scope="module")
def two_conv_model():
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(6, 3, activation="relu", name="c1"),
                             keras.layers.MaxPooling2D(name="pool"), keras.layers.Dropout(0.5, name="drop"),
                             keras.layers.Conv2D(3, 5, padding="same", activation="relu", name="c2"),
                             keras.layers.Flatten(), keras.layers.Dense(10)], name="two_conv")


def test_conv_layers_in_order(two_conv_model):
    assert [layer.name for layer in plots.conv_layers(two_conv_model)] == ["c1", "c2"]


def test_filters_are_the_kernels(two_conv_model):
    conv = two_conv_model.get_layer("c1")
    kernel = conv.get_weights()[0]                       # (3, 3, 1, 6)
    fig = plots.plot_filters(conv, ncols=4, highlight=2)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 6 and len(fig.axes) == 8         # 2 rows of 4, two empty panels
    for k, ax in enumerate(shown):
        np.testing.assert_array_equal(ax.images[0].get_array(), kernel[:, :, 0, k])
        assert ax.get_title() == str(k)
    assert shown[2].title.get_color() == "red" and shown[0].title.get_color() == "black"
    limits = {ax.images[0].get_clim() for ax in shown}
    assert len(limits) == 1 and limits.pop() == pytest.approx((-np.abs(kernel).max(), np.abs(kernel).max()))
    assert fig.kernels.shape == (6, 3, 3)


def test_filters_from_weights_and_given_figure(two_conv_model):
    kernel = two_conv_model.get_layer("c2").get_weights()[0]   # (5, 5, 6, 3)
    own = plt.figure()
    fig = plots.plot_filters(kernel, channel=4, fig=own)
    assert fig is own
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 3
    np.testing.assert_array_equal(shown[1].images[0].get_array(), kernel[:, :, 4, 1])
    with pytest.raises(ValueError):
        plots.plot_filters(np.zeros((3, 3)))


def test_feature_maps_are_the_conv_outputs(two_conv_model):
    import keras

    from utils import evaluation

    image = RNG.random((28, 28)).astype("float32")
    fig = plots.plot_feature_maps(two_conv_model, image, n=4)
    assert fig.layer_names == ["c1", "c2"]
    assert [m.shape for m in fig.feature_maps] == [(26, 26, 6), (13, 13, 3)]
    # the same maps as calling the layers one by one in inference mode (Dropout off) ...
    for drawn, ref in zip(fig.feature_maps, evaluation.conv_feature_maps(two_conv_model, image)):
        np.testing.assert_allclose(drawn, ref, atol=1e-5)
    # ... and as the first convolution alone
    first = np.asarray(two_conv_model.get_layer("c1")(image[None, :, :, None]))[0]
    np.testing.assert_allclose(fig.feature_maps[0], first, atol=1e-5)
    rows = np.array(fig.axes).reshape(2, 4)
    np.testing.assert_allclose(rows[0, 3].images[0].get_array(), first[:, :, 3], atol=1e-5)
    assert all(ax.images for ax in rows[0]) and [bool(ax.images) for ax in rows[1]] == [True] * 3 + [False]
    assert rows[0, 0].get_ylabel() == "c1\n26x26x6" and rows[1, 0].get_ylabel() == "c2\n13x13x3"
    # a batch of one and a given figure
    own = plt.figure()
    assert plots.plot_feature_maps(two_conv_model, image[None, :, :, None], fig=own) is own
    with pytest.raises(ValueError):
        plots.plot_feature_maps(keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()]), image)

