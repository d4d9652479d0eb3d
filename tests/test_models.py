"""utils.models: the networks the later labs reuse have the handouts' shapes and sizes."""
import keras
import numpy as np
import pytest

from utils import models


def test_digit_cnn_matches_handout_000():
    model = models.digit_cnn()
    assert models.count_params(model) == {"total": 324_906, "trainable": 324_650, "non_trainable": 256}
    assert model.output_shape == (None, 10)
    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    assert [l.count_params() for l in convs] == [320, 9_248, 18_496]
    flatten = next(l for l in model.layers if isinstance(l, keras.layers.Flatten))
    assert flatten.output.shape[1] == 2_304
    assert model.layers[-1].get_config()["activation"] == "softmax"


def test_digit_cnn_initialisers():
    model = models.digit_cnn(second_conv_initializer="zeros")
    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    assert np.all(convs[1].get_weights()[0] == 0) and np.any(convs[0].get_weights()[0] != 0)
    model = models.digit_cnn("ones")
    assert all(np.all(l.get_weights()[0] == 1) for l in model.layers if isinstance(l, keras.layers.Conv2D))


def test_digit_cnn_without_dropout_changes_nothing_else():
    with_dropout, without = models.digit_cnn(), models.digit_cnn(dropout=False)
    rates = [l.rate for l in with_dropout.layers if isinstance(l, keras.layers.Dropout)]
    assert rates == [0.2, 0.25, 0.25]
    assert [l.rate for l in without.layers if isinstance(l, keras.layers.Dropout)] == [0.0, 0.0, 0.0]
    assert models.count_params(without) == models.count_params(with_dropout)

    def others(model):
        # every layer but Dropout, with its configuration (names differ between instances)
        return [(type(l).__name__, {k: v for k, v in l.get_config().items() if k != "name"})
                for l in model.layers if not isinstance(l, keras.layers.Dropout)]

    assert others(without) == others(with_dropout)
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype="float32")
    dropouts = [l for l in without.layers if isinstance(l, keras.layers.Dropout)]
    assert all(np.array_equal(l(x, training=True), x) for l in dropouts), "rate 0 passes everything through"
    assert not np.array_equal(with_dropout.layers[3](x, training=True), x)
    keras.utils.set_random_seed(0)
    a = models.digit_cnn().get_weights()
    keras.utils.set_random_seed(0)
    b = models.digit_cnn(dropout=False).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b)), "same seed, same initial weights"


def test_digit_cnn_5x5_matches_handout_001_text():
    model = models.digit_cnn_5x5()
    assert models.count_params(model)["total"] == 242_062
    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    assert [l.count_params() for l in convs] == [416, 14_436]
    flatten = next(l for l in model.layers if isinstance(l, keras.layers.Flatten))
    assert flatten.output.shape[1] == 1_764


def test_fashion_mlp_matches_handout_003():
    model = models.fashion_mlp()
    assert models.count_params(model) == {"total": 870_410, "trainable": 867_338, "non_trainable": 3_072}


def test_kaggle_cnn_structure_and_augmentation_slot():
    aug = keras.Sequential([keras.layers.RandomRotation(10 / 360)], name="augment")
    model = models.kaggle_cnn(augmentation=aug)
    assert model.layers[0].name == "augment"
    assert models.count_params(model) == models.count_params(models.kaggle_cnn())
    assert sum(isinstance(l, keras.layers.BatchNormalization) for l in model.layers) == 5
    assert model.output_shape == (None, 10)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_compile_classifier(optimizer):
    model = models.compile_classifier(models.digit_cnn_5x5(), optimizer, learning_rate=0.01)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.01)
    assert model.loss == "categorical_crossentropy"
    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype("float32")
    y = np.eye(10)[np.arange(8)]
    history = model.fit(x, y, epochs=1, verbose=0)
    assert set(history.history) >= {"loss", "accuracy"}


def test_fashion_cnn_is_modest_and_normalises_channels():
    model = models.fashion_cnn()
    counts = models.count_params(model)
    assert counts["total"] <= 1_000_000
    assert counts == {"total": 469_098, "trainable": 468_458, "non_trainable": 640}
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            # one scale per channel (or unit), never per image row
            assert layer.gamma.shape[0] == layer.input.shape[-1]
    assert model.output_shape == (None, 10)
    rates = [l.rate for l in model.layers if isinstance(l, keras.layers.Dropout)]
    assert rates == [0.1, 0.1, 0.3]
    assert [l.rate for l in models.kaggle_cnn().layers if isinstance(l, keras.layers.Dropout)] == [0.25, 0.25, 0.5]


def test_bn_momentum_changes_no_parameter():
    assert models.count_params(models.kaggle_cnn(bn_momentum=0.9)) == models.count_params(models.kaggle_cnn())
    assert all(l.momentum == 0.9 for l in models.kaggle_cnn(bn_momentum=0.9).layers
               if isinstance(l, keras.layers.BatchNormalization))


def test_warmup_cosine_rises_for_one_epoch_then_decays_to_zero():
    schedule = models.warmup_cosine(2e-3, epochs=5, steps_per_epoch=100)
    lr = [float(schedule(step)) for step in range(0, 501, 25)]
    assert lr[0] == pytest.approx(2e-4)
    assert lr[4] == pytest.approx(2e-3)            # step 100: the end of the warm-up epoch
    assert all(a < b for a, b in zip(lr[:4], lr[1:5]))
    assert all(a > b for a, b in zip(lr[4:-1], lr[5:]))
    assert lr[-1] == pytest.approx(0.0, abs=1e-9)   # step 500: the end of the last epoch
    assert lr[12] == pytest.approx(1e-3, rel=1e-3)  # step 300: half-way through the decay


def test_fashion_cnn_mixed_bfloat16_keeps_the_network_and_the_policy():
    before = keras.config.dtype_policy().name
    model = models.fashion_cnn(bn_momentum=0.9, mixed_bfloat16=True)
    assert keras.config.dtype_policy().name == before == "float32"     # the global policy is left alone
    assert models.count_params(model) == models.count_params(models.fashion_cnn())
    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    assert convs and {l.compute_dtype for l in convs} == {"bfloat16"}
    assert {w.dtype for l in convs for w in l.weights} == {"float32"}   # float32 weights, bfloat16 compute
    assert model.layers[-1].compute_dtype == "float32"                  # the softmax in float32
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    probs = np.asarray(model(x))
    assert probs.dtype == np.float32 and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert {l.compute_dtype for l in models.fashion_cnn().layers} == {"float32"}

    # make bench measures the recipe utils.models documents, not a copy of it
    from bench import __main__ as bench_cli

    recipe = models.FULL_DATA_RECIPE
    assert (bench_cli.FULL_EPOCHS, bench_cli.FULL_SHIFT, bench_cli.FULL_PRECISION == "bfloat16") == \
        (recipe["epochs"], recipe["shift"], recipe["mixed_bfloat16"])


def test_shipped_lab04_model_is_the_one_lab04_describes():
    """data/lab04_digit_cnn.weights.h5 (scripts/make_lab04_model.py): digit_cnn trained 4 epochs on the
    course subset. Lab 4 loads it when its own training set is that subset."""
    import json

    from utils import data as course_data
    from utils import evaluation as course_eval

    shipped = json.loads((course_data.DATA_DIR / "lab04_history.json").read_text(encoding="utf-8"))
    data = course_data.prepare(full=False, labelled_test=True)
    assert shipped["train_images"] == len(data.x_train) and shipped["epochs"] == 4
    assert {len(v) for v in shipped["history"].values()} == {4}
    assert {"accuracy", "val_accuracy", "loss", "val_loss"} <= set(shipped["history"])
    model = models.digit_cnn()
    model.load_weights(course_data.DATA_DIR / "lab04_digit_cnn.weights.h5")   # as lab 4 does: before compiling
    model = models.compile_classifier(model, "adam", learning_rate=0.001)
    # lab 4 says "about 95%-97%" and wants a model that still makes mistakes
    assert 0.93 <= course_eval.accuracy(model, data.x_test, data.y_test) < 0.995
    assert abs(course_eval.accuracy(model, data.x_val, data.y_val) - shipped["history"]["val_accuracy"][-1]) < 0.01
