"""The networks of the course, written once and reused by the later labs (as d2l does).

Each builder returns an uncompiled ``keras.Sequential`` that starts with
``keras.Input(shape)``; :func:`compile_classifier` compiles it the way the labs do.
Lab 2 has students build :func:`digit_cnn` themselves; later labs call it from here.

==============================  ==========  ===================================
builder                         params      source
==============================  ==========  ===================================
:func:`digit_cnn`                324,906    handout 000 (labs 2-4)
:func:`digit_cnn_5x5`            242,062    handout 001, second network (lab 2)
:func:`kaggle_cnn`                   —      handout 004 (lab 5)
:func:`fashion_mlp`              870,410    handout 003 MLP (lab 6)
:func:`fashion_cnn`              469,098    the course's Fashion-MNIST CNN (lab 6)
==============================  ==========  ===================================

:data:`FULL_DATA_RECIPE` is how :func:`fashion_cnn` is trained on the full Fashion-MNIST (lab 6,
``make bench``): :func:`warmup_cosine`, 13 epochs, batch 128, mixed bfloat16.
"""
from __future__ import annotations

import keras
from keras import layers

NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)


def digit_cnn(conv_initializer: str = "he_normal", *, second_conv_initializer: str | None = None,
              dropout: bool = True, name: str = "digit_cnn") -> keras.Sequential:
    """Handout 000's CNN: 324,906 parameters (324,650 trainable, 256 non-trainable).

    Conv 32 3×3 → Conv 32 3×3 → MaxPool 2×2 → Dropout 0.2 → Conv 64 3×3 same → MaxPool 2×2
    → Dropout 0.25 → Flatten (2,304) → Dense 128 relu → BatchNorm → Dropout 0.25 → Dense 10 softmax.

    ``conv_initializer`` is the kernel initialiser of every convolution;
    ``second_conv_initializer`` overrides it for the second one only (lab 2's experiment).
    ``dropout=False`` turns the three Dropout layers off (rate 0: they pass everything through),
    for lab 3's ablation, the last step of handout 000's tuning order. The layers are built with
    their usual rates and set to 0 afterwards: Keras gives a Dropout layer with a positive rate a
    random seed of its own when it is created, so building them at rate 0 (or leaving them out)
    would shift the random numbers of the later initialisers, and the same seed would no longer
    give the same initial weights. Every other layer and the parameter count stay the same.
    """
    second = second_conv_initializer or conv_initializer

    def drop(rate: float) -> layers.Dropout:
        layer = layers.Dropout(rate)
        if not dropout:
            layer.rate = 0.0
        return layer

    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        layers.Conv2D(32, (3, 3), activation="relu", kernel_initializer=conv_initializer),
        layers.Conv2D(32, (3, 3), activation="relu", kernel_initializer=second),
        layers.MaxPooling2D((2, 2), strides=2),
        drop(0.2),
        layers.Conv2D(64, (3, 3), padding="same", activation="relu", kernel_initializer=conv_initializer),
        layers.MaxPooling2D((2, 2)),
        drop(0.25),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.BatchNormalization(),
        drop(0.25),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ], name=name)


def digit_cnn_5x5(name: str = "digit_cnn_5x5") -> keras.Sequential:
    """Handout 001's second CNN: 16 and 36 filters of 5×5 (same padding), each followed by
    2×2 max-pooling; Dropout 0.25, Flatten (1,764), Dense 128, Dropout 0.5, Dense 10.
    242,062 parameters (416 + 14,436 + 225,920 + 1,290)."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        layers.Conv2D(16, (5, 5), padding="same", activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(36, (5, 5), padding="same", activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ], name=name)


def kaggle_cnn(name: str = "kaggle_cnn", augmentation: keras.layers.Layer | None = None, *,
               bn_momentum: float = 0.99) -> keras.Sequential:
    """Handout 004's network: two 32-filter 5×5 and two 64-filter 3×3 convolutions with
    BatchNorm, 2×2 max-pooling and dropout after each block, Dense 256 with BatchNorm,
    Dropout 0.5, Dense 10. ``augmentation`` (a layer, e.g. a ``keras.Sequential`` of
    preprocessing layers) is placed right after the input; it is active only in training.

    ``bn_momentum`` is the BatchNorm moving-average momentum (Keras' default 0.99). Lab 5
    trains a few hundred steps only and uses 0.9, so that the moving statistics used at
    inference catch up with the weights: with 0.99 the initial statistics decay with a time
    constant of about 100 steps and still carry 30% of the weight after lab 5's first
    119-step epoch (0.99**119); with 0.9 the time constant is about 10 steps.
    The architecture and the parameter count do not depend on it."""
    stack: list = [keras.Input(INPUT_SHAPE)]
    if augmentation is not None:
        stack.append(augmentation)
    stack += _conv_bn_blocks([(32, 5), (64, 3)], bn_momentum) + _dense_bn_head(256, bn_momentum)
    return keras.Sequential(stack, name=name)


def fashion_mlp(name: str = "fashion_mlp") -> keras.Sequential:
    """Handout 003's MLP on flattened 784-pixel images: Dense 512-512-256-256 (relu), each
    followed by BatchNorm, Dropout 0.3 after the 2nd and 4th, Dense 10 softmax.
    870,410 parameters, 3,072 of them non-trainable (the BatchNorm moving statistics)."""
    return keras.Sequential([
        keras.Input((784,)),
        layers.Dense(512, activation="relu"), layers.BatchNormalization(),
        layers.Dense(512, activation="relu"), layers.BatchNormalization(),
        layers.Dropout(0.3),
        layers.Dense(256, activation="relu"), layers.BatchNormalization(),
        layers.Dense(256, activation="relu"), layers.BatchNormalization(),
        layers.Dropout(0.3),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ], name=name)


def fashion_cnn(name: str = "fashion_cnn", *, bn_momentum: float = 0.99, dropout: float = 0.1,
                head_dropout: float = 0.3, mixed_bfloat16: bool = False) -> keras.Sequential:
    """The course's recommended Fashion-MNIST CNN (lab 6), in place of handout 003's 7.66M-parameter one.

    Two blocks of two 3×3 convolutions (32 then 64 filters, same padding, relu), each
    followed by BatchNormalization over the channel axis (Keras' default ``axis=-1``; the
    handout's ``axis=1`` normalised over image rows), 2×2 max-pooling and Dropout ``dropout``;
    then Flatten (3,136) → Dense 128 relu → BatchNorm → Dropout ``head_dropout`` → Dense 10 softmax.
    469,098 parameters (640 non-trainable). ``bn_momentum`` as in :func:`kaggle_cnn`.

    The dropout rates (0.1 in the blocks, 0.3 before the output) are lighter than the
    0.25 / 0.5 of :func:`kaggle_cnn`: with a budget of 7 epochs on the full 54,000 training
    images the network is still under-fitting, and the heavier rates cost about half a point
    of test accuracy (``make bench``, README).

    ``mixed_bfloat16=True`` builds the layers under Keras' ``mixed_bfloat16`` dtype policy: they
    compute in bfloat16 and keep float32 weights, the same parameters. Only the output layer stays
    in float32 (Keras' advice: bfloat16 probabilities are too coarse for the loss). CPUs with
    AMX / AVX512-BF16 train it about 1.5× faster (``make bench``, the "float32" trial); older CPUs
    have no bfloat16 units and gain nothing. The global policy is left as it was.
    """
    policy = keras.config.dtype_policy()
    if mixed_bfloat16:
        keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        stack = [keras.Input(INPUT_SHAPE), *_conv_bn_blocks([(32, 3), (64, 3)], bn_momentum, dropout),
                 *_dense_bn_head(128, bn_momentum, head_dropout, output_dtype="float32" if mixed_bfloat16 else None)]
    finally:
        keras.config.set_dtype_policy(policy)
    return keras.Sequential(stack, name=name)


# The course's full-data recipe for :func:`fashion_cnn` (lab 6 explains it; ``make bench`` measures
# it on the 60,000 / 10,000 images: bench/RESULTS.md). Train with
# ``keras.optimizers.Adam(learning_rate=warmup_cosine(peak_learning_rate, epochs, steps_per_epoch))``,
# categorical cross-entropy, ``batch_size``, 10% of the training images for validation.
FULL_DATA_RECIPE = {"epochs": 13, "batch_size": 128, "peak_learning_rate": 3e-3, "bn_momentum": 0.9,
                    "mixed_bfloat16": True, "shift": 0.0}


def _conv_bn_blocks(blocks, bn_momentum: float, dropout: float = 0.25) -> list:
    """For each ``(filters, size)``: two same-padded relu convolutions, each followed by
    BatchNorm over the channel axis, then 2×2 max-pooling and Dropout ``dropout``."""
    stack = []
    for filters, size in blocks:
        for _ in range(2):
            stack += [layers.Conv2D(filters, (size, size), padding="same", activation="relu"),
                      layers.BatchNormalization(momentum=bn_momentum)]
        stack += [layers.MaxPooling2D((2, 2)), layers.Dropout(dropout)]
    return stack


def _dense_bn_head(units: int, bn_momentum: float, dropout: float = 0.5, output_dtype: str | None = None) -> list:
    """Flatten → Dense ``units`` relu → BatchNorm → Dropout ``dropout`` → Dense 10 softmax
    (in ``output_dtype`` when given, else the current dtype policy)."""
    return [layers.Flatten(), layers.Dense(units, activation="relu"),
            layers.BatchNormalization(momentum=bn_momentum), layers.Dropout(dropout),
            layers.Dense(NUM_CLASSES, activation="softmax", dtype=output_dtype)]


def warmup_cosine(peak_learning_rate: float, epochs: int, steps_per_epoch: int,
                  warmup_epochs: int = 1) -> keras.optimizers.schedules.LearningRateSchedule:
    """The learning-rate schedule of the course's full-data recipe (lab 6, ``make bench``).

    One epoch of linear warm-up from ``peak_learning_rate / 10`` to ``peak_learning_rate``,
    then cosine decay to 0 at the end of the last epoch (``keras.optimizers.schedules.CosineDecay``).
    With a fixed budget of epochs the learning rate is large while the network is far from a
    solution and small in the last epochs, where it settles; no callback has to wait for a plateau.
    Pass it as ``keras.optimizers.Adam(learning_rate=warmup_cosine(...))``.
    """
    total = epochs * steps_per_epoch
    warmup = min(warmup_epochs * steps_per_epoch, max(total - 1, 0))
    return keras.optimizers.schedules.CosineDecay(
        peak_learning_rate / 10, decay_steps=max(total - warmup, 1),
        warmup_target=peak_learning_rate, warmup_steps=warmup)


def compile_classifier(model: keras.Model, optimizer="adam", learning_rate: float | None = None,
                       loss: str = "categorical_crossentropy") -> keras.Model:
    """Compile for one-hot 10-class targets with accuracy as the metric.

    ``optimizer`` is a Keras optimizer or a name ("adam", "rmsprop", "sgd");
    ``learning_rate`` applies when a name is given.
    """
    if isinstance(optimizer, str) and learning_rate is not None:
        optimizer = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model


def count_params(model: keras.Model) -> dict[str, int]:
    """``{"total", "trainable", "non_trainable"}`` parameter counts, as ``model.summary()`` shows."""
    trainable = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    non_trainable = sum(int(keras.ops.size(w)) for w in model.non_trainable_weights)
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}
