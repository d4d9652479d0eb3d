"""utils.evaluation: the reference numbers the labs' test cells compare answers with."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from utils import evaluation  # noqa: E402


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(n=300):
    rng = np.random.default_rng(0)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 10, n), 10)
    return x, y


def test_helpers_agree_with_keras():
    model, (x, y) = _tiny_model(), _data()
    labels = evaluation.predicted_labels(model, x, batch_size=64)
    assert labels.shape == (len(x),) and (labels == np.argmax(model.predict(x, verbose=0), axis=1)).all()
    loss, acc = model.evaluate(x, y, verbose=0)
    assert abs(evaluation.accuracy(model, x, y, batch_size=64) - acc) < 1e-6
    assert abs(evaluation.accuracy(model, x, np.argmax(y, axis=1)) - acc) < 1e-6
    assert abs(evaluation.crossentropy(model, x, y, batch_size=64) - loss) < 1e-4


def test_confusion_counts_matches_sklearn():
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(1)
    t, p = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    assert (evaluation.confusion_counts(t, p) == confusion_matrix(t, p, labels=range(10))).all()
    assert (evaluation.confusion_counts(keras.utils.to_categorical(t, 10), p) == confusion_matrix(t, p)).all()


def test_constant_classifier_accuracy_is_the_share_of_its_class():
    x, y = _data()
    truth = np.argmax(y, axis=1)
    for k in (0, 7):
        probe = evaluation.constant_classifier(k)
        assert (evaluation.predicted_labels(probe, x) == k).all()
        assert abs(probe.evaluate(x, y, verbose=0)[1] - np.mean(truth == k)) < 1e-6
    assert np.isnan(evaluation.accuracy(evaluation.constant_classifier(0), x[:0], y[:0]))


def test_conv_feature_maps_layer_by_layer():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.MaxPooling2D(), keras.layers.Dropout(0.9),
                              keras.layers.Conv2D(2, 3, padding="same"), keras.layers.Flatten(),
                              keras.layers.Dense(10)])
    image = np.random.default_rng(2).random((28, 28), dtype=np.float32)
    maps = evaluation.conv_feature_maps(model, image)
    assert [m.shape for m in maps] == [(26, 26, 4), (13, 13, 2)]
    sub = keras.Model(model.inputs, [model.layers[0].output, model.layers[3].output])
    for mine, ref in zip(maps, sub.predict(image[None, :, :, None], verbose=0)):   # Dropout off in both
        np.testing.assert_allclose(mine, ref[0], atol=1e-5)
    assert (maps[0] >= 0).all() and (maps[1] < 0).any()     # ReLU applied where the layer has it
    np.testing.assert_allclose(evaluation.mean_responses(model, image[..., None]), maps[0].mean(axis=(0, 1)))
