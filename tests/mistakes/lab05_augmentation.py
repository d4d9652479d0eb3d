from labkit import Variant

_AUG = ("augmentation = keras.Sequential([{}], name='augmentation')")
_ROT, _ZOOM, _SHIFT = "layers.RandomRotation(10 / 360)", "layers.RandomZoom(0.1)", "layers.RandomTranslation(0.1, 0.1)"

_BUILD = ("model_plain = models.kaggle_cnn(name='plain', bn_momentum=0.9{plain})\n"
          "model_aug = models.kaggle_cnn(name='augmented', {aug}bn_momentum=0.9)\n"
          "for m in (model_plain, model_aug):\n"
          "    m.compile(optimizer={opt}, loss='categorical_crossentropy', metrics=['accuracy'])\n")
_ADAM = "keras.optimizers.Adam(learning_rate=0.001)"

_PICK = ("def better_on_validation(model_a, model_b):\n"
         "    acc_a = model_a.evaluate({x}, {y}, verbose=0)[1]\n"
         "    acc_b = model_b.evaluate({x}, {y}, verbose=0)[1]\n"
         "    return model_a if acc_a {cmp} acc_b else model_b\n"
         "chosen = better_on_validation(model_plain, model_aug)\n")
_CHOSEN = "chosen = better_on_validation(model_plain, model_aug)\n"

_SUB = ("labels = np.argmax({model}.predict(X_test, verbose=0), axis=1)\n"
        "submission = pd.DataFrame({{'ImageId': {ids}, 'Label': labels}})\n"
        "submission.to_csv(SUBMISSION_FILE, index={index})\n")

_GAPS = "curve_gaps = {name: generalization_gap(h) for name, h in curves['histories'].items()}\n"


def _gap(expr: str) -> str:
    """The curve-gap answer with ``expr`` (over ``logs``, the epoch lists) as the gap."""
    return ("def generalization_gap(history):\n"
            "    logs = history.history if isinstance(history, keras.callbacks.History) else history\n"
            f"    return float({expr})\n" + _GAPS)


VARIANTS = [
    # 1 augmentation
    Variant("augmentation", "augment: rotation factor given in degrees",
            _AUG.format(f"layers.RandomRotation(10), {_ZOOM}, {_SHIFT}"), error="ValueError", message="factor"),
    Variant("augmentation", "augment: rotation 0.1 of a turn (36 degrees)",
            _AUG.format(f"layers.RandomRotation(0.1), {_ZOOM}, {_SHIFT}"), message="应为 ±10°"),
    Variant("augmentation", "augment: flips added",
            _AUG.format(f"layers.RandomFlip('horizontal_and_vertical'), {_ROT}, {_ZOOM}, {_SHIFT}"),
            message="翻转"),
    Variant("augmentation", "augment: no translation",
            _AUG.format(f"{_ROT}, {_ZOOM}"), message="RandomTranslation"),
    Variant("augmentation", "augment: zoom 50%",
            _AUG.format(f"{_ROT}, layers.RandomZoom(0.5), {_SHIFT}"), message="缩放范围应为 10%"),
    Variant("augmentation", "augment: shift only vertical",
            _AUG.format(f"{_ROT}, {_ZOOM}, layers.RandomTranslation(0.1, 0.0)"), message="平移范围"),
    Variant("augmentation", "augment: explicit ranges, other order, default fill", correct=True,
            code=_AUG.format("layers.RandomTranslation(height_factor=(-0.1, 0.1), width_factor=(-0.1, 0.1)), "
                             "layers.RandomZoom(height_factor=(-0.1, 0.1)), "
                             "layers.RandomRotation(factor=(-10 / 360, 10 / 360))")),
    # 3 two models
    Variant("build_models", "models: both models augmented",
            _BUILD.format(plain=", augmentation=augmentation", aug="augmentation=augmentation, ", opt=_ADAM),
            message="对照组"),
    Variant("build_models", "models: augmentation forgotten",
            _BUILD.format(plain="", aug="", opt=_ADAM), message="model_aug 应带上"),
    Variant("build_models", "models: SGD instead of Adam",
            _BUILD.format(plain="", aug="augmentation=augmentation, ", opt="keras.optimizers.SGD(learning_rate=0.001)"),
            message="Adam"),
    Variant("build_models", "models: learning rate 0.01",
            _BUILD.format(plain="", aug="augmentation=augmentation, ", opt="keras.optimizers.Adam(learning_rate=0.01)"),
            message="学习率应为 0.001"),
    Variant("build_models", "models: one optimizer shared by both models",
            "_opt = keras.optimizers.Adam(learning_rate=0.001)\n" + _BUILD.format(
                plain="", aug="augmentation=augmentation, ", opt="_opt"), message="共用"),
    Variant("build_models", "models: not compiled",
            "model_plain = models.kaggle_cnn(name='plain', bn_momentum=0.9)\n"
            "model_aug = models.kaggle_cnn(name='augmented', augmentation=augmentation, bn_momentum=0.9)",
            message="编译"),
    Variant("build_models", "models: Keras' default BN momentum (bn_momentum not given)",
            "model_plain = models.kaggle_cnn(name='plain')\n"
            "model_aug = models.kaggle_cnn(name='augmented', augmentation=augmentation)\n"
            "for m in (model_plain, model_aug):\n"
            "    m.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss='categorical_crossentropy', metrics=['accuracy'])\n",
            message="动量（momentum）与说明不符"),
    Variant("build_models", "models: bn_momentum only on the augmented model",
            _BUILD.format(plain=", bn_momentum=0.99", aug="augmentation=augmentation, ", opt=_ADAM).replace(
                "bn_momentum=0.9, bn_momentum=0.99", "bn_momentum=0.99"), message="model_plain 的批归一化层动量"),
    Variant("build_models", "models: compile_classifier with the optimizer's name", correct=True,
            code="model_plain = models.compile_classifier(models.kaggle_cnn(bn_momentum=0.9), 'adam', learning_rate=1e-3)\n"
                 "model_aug = models.compile_classifier(\n"
                 "    models.kaggle_cnn(augmentation=augmentation, bn_momentum=0.9), 'adam', learning_rate=1e-3)"),
    # 4 callback
    Variant("reduce_lr", "callback: Keras 2 metric name val_acc",
            "reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor='val_acc', patience=3, factor=0.5, min_lr=0.00001)",
            message="监控的指标"),
    Variant("reduce_lr", "callback: accuracy watched in 'min' mode",
            "reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor='val_accuracy', mode='min', patience=3, factor=0.5, min_lr=0.00001)",
            message="越大越好"),
    Variant("reduce_lr", "callback: training accuracy monitored",
            "reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor='accuracy', patience=3, factor=0.5, min_lr=0.00001)",
            message="监控的指标"),
    Variant("reduce_lr", "callback: default factor and patience",
            "reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor='val_accuracy', min_lr=0.00001)",
            message="patience 和 factor"),
    Variant("reduce_lr", "callback: explicit max mode", correct=True,
            code="reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor='val_accuracy', mode='max', factor=0.5, patience=3, min_lr=1e-5, verbose=1)"),
    # 5b read the stored 30-epoch curves
    Variant("curve_gap", "curve gap: validation minus training",
            _gap("logs['val_accuracy'][-1] - logs['accuracy'][-1]"), message="方向反了"),
    Variant("curve_gap", "curve gap: best epochs instead of the last",
            _gap("max(logs['accuracy']) - max(logs['val_accuracy'])"), message="最后一个周期"),
    Variant("curve_gap", "curve gap: mean over the epochs",
            _gap("np.mean(logs['accuracy']) - np.mean(logs['val_accuracy'])"), message="最后一个周期"),
    Variant("curve_gap", "curve gap: losses instead of accuracies",
            _gap("logs['loss'][-1] - logs['val_loss'][-1]"), message="最后一个周期"),
    Variant("curve_gap", "curve gap: a History is not read",
            "def generalization_gap(history):\n    return float(history['accuracy'][-1] - history['val_accuracy'][-1])\n"
            + _GAPS, error="TypeError"),
    Variant("curve_gap", "curve gap: the printed figures copied",
            _gap("logs['accuracy'][-1] - logs['val_accuracy'][-1]").replace(
                _GAPS, "curve_gaps = {'plain': 0.0156, 'augmented': 0.0106}\n"), message="不要抄"),
    Variant("curve_gap", "curve gap: names swapped",
            _gap("logs['accuracy'][-1] - logs['val_accuracy'][-1]").replace(
                _GAPS, "_g = {name: generalization_gap(h) for name, h in curves['histories'].items()}\n"
                       "curve_gaps = dict(zip(_g, reversed(list(_g.values()))))\n"), message="不符"),
    Variant("curve_gap", "curve gap: hasattr check, index by length, loop", correct=True,
            code="def generalization_gap(history):\n"
                 "    if hasattr(history, 'history'):\n"
                 "        history = history.history\n"
                 "    train, val = history['accuracy'], history['val_accuracy']\n"
                 "    return train[len(train) - 1] - val[len(val) - 1]\n"
                 "curve_gaps = {}\n"
                 "for name in curves['histories']:\n"
                 "    curve_gaps[name] = generalization_gap(curves['histories'][name])\n"),
    # 5 decide on the validation set (checked on probe models with known accuracies, not on
    #   the order of the two trained models' accuracies)
    Variant("held_out", "held out: decided on the test set",
            _PICK.format(x="X_test", y="Y_test", cmp=">"), message="验证集"),
    Variant("held_out", "held out: decided on the training set",
            _PICK.format(x="X_train", y="Y_train", cmp=">"), message="验证集"),
    Variant("held_out", "held out: the two models swapped",
            "def better_on_validation(model_a, model_b):\n"
            "    acc_a = model_b.evaluate(X_val, Y_val, verbose=0)[1]\n"
            "    acc_b = model_a.evaluate(X_val, Y_val, verbose=0)[1]\n"
            "    return model_a if acc_a > acc_b else model_b\n" + _CHOSEN, message="模型对吗"),
    Variant("held_out", "held out: ties go to the first model",
            _PICK.format(x="X_val", y="Y_val", cmp=">="), message="相等时"),
    Variant("held_out", "held out: returns the accuracy instead of the model",
            "def better_on_validation(model_a, model_b):\n"
            "    return max(model_a.evaluate(X_val, Y_val, verbose=0)[1], model_b.evaluate(X_val, Y_val, verbose=0)[1])\n"
            + _CHOSEN, message="应返回一个模型", loses=("held_out_tests", "submission_tests")),
    Variant("held_out", "held out: always the augmented model (hard-coded)",
            "def better_on_validation(model_a, model_b):\n    return model_aug\n" + _CHOSEN,
            message="两个模型之一"),
    Variant("held_out", "held out: last validation accuracy from the training history",
            "def better_on_validation(model_a, model_b):\n"
            "    acc = {id(m): h.history['val_accuracy'][-1] for m, h in [(model_plain, histories['plain']), (model_aug, histories['augmented'])]}\n"
            "    return model_a if acc[id(model_a)] > acc[id(model_b)] else model_b\n" + _CHOSEN,
            error="KeyError"),
    Variant("held_out", "held out: computed from the predictions", correct=True,
            code="def better_on_validation(model_a, model_b):\n"
                 "    truth = Y_val.argmax(axis=1)\n"
                 "    acc_a = float((model_a.predict(X_val, verbose=0).argmax(axis=1) == truth).mean())\n"
                 "    acc_b = float((model_b.predict(X_val, verbose=0).argmax(axis=1) == truth).mean())\n"
                 "    return model_b if acc_b >= acc_a else model_a\n" + _CHOSEN),
    Variant("held_out", "held out: evaluate with return_dict and max over a list", correct=True,
            code="def better_on_validation(model_a, model_b):\n"
                 "    scored = [(m.evaluate(X_val, Y_val, verbose=0, return_dict=True)['accuracy'], i, m)\n"
                 "              for i, m in enumerate([model_a, model_b])]\n"
                 "    return max(scored, key=lambda t: (t[0], t[1]))[2]\n" + _CHOSEN),
    # 7 submission
    Variant("submission", "submission: ImageId from 0",
            _SUB.format(model="chosen", ids="np.arange(len(X_test))", index=False), message="从 1 开始"),
    Variant("submission", "submission: row numbers written as an extra column",
            _SUB.format(model="chosen", ids="np.arange(1, len(X_test) + 1)", index=True), message="行号"),
    Variant("submission", "submission: predictions of the model that was not chosen",
            _SUB.format(model="(model_plain if chosen is model_aug else model_aug)", ids="np.arange(1, len(X_test) + 1)",
                        index=False), message="chosen"),
    Variant("submission", "submission: true labels submitted instead of predictions",
            "submission = pd.DataFrame({'ImageId': np.arange(1, len(X_test) + 1), 'Label': np.argmax(Y_test, axis=1)})\n"
            "submission.to_csv(SUBMISSION_FILE, index=False)", message="chosen"),
    Variant("submission", "submission: probabilities instead of digits",
            "submission = pd.DataFrame({'ImageId': np.arange(1, len(X_test) + 1),\n"
            "                           'Label': chosen.predict(X_test, verbose=0).max(axis=1)})\n"
            "submission.to_csv(SUBMISSION_FILE, index=False)", message="0–9 的整数"),
    Variant("submission", "submission: handout 004's concat of two Series", correct=True,
            code="results = pd.Series(np.argmax(chosen.predict(X_test, verbose=0), axis=1), name='Label')\n"
                 "submission = pd.concat([pd.Series(range(1, len(X_test) + 1), name='ImageId'), results], axis=1)\n"
                 "submission.to_csv(str(SUBMISSION_FILE), index=False)"),
]
