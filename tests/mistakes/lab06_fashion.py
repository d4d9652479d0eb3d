from labkit import Variant


_NT = ("def non_trainable_params(model):\n"
       "    return sum({per_layer} for l in model.layers if isinstance(l, layers.BatchNormalization))\n")
_NT_RIGHT = _NT.format(per_layer="2 * int(l.moving_mean.shape[0])")


def _mlp(body: str, nt: str = _NT_RIGHT, inputs: str = "keras.Input((784,))") -> str:
    return (f"mlp = keras.Sequential([{inputs}, {body}, layers.Dense(10, activation='softmax')])\n" + nt
            + "mlp_non_trainable = non_trainable_params(mlp)\n")


_D, _BN = "layers.Dense({}, activation='relu')", "layers.BatchNormalization()"
_RIGHT = ", ".join([_D.format(512), _BN, _D.format(512), _BN, "layers.Dropout(0.3)",
                    _D.format(256), _BN, _D.format(256), _BN, "layers.Dropout(0.3)"])


def _cnn(bn: str, dense: int = 128, conv: str = "32") -> str:
    return ("cnn = keras.Sequential([keras.Input((28, 28, 1)),\n"
            f"    layers.Conv2D({conv}, (3, 3), activation='relu'), {bn}, layers.MaxPooling2D((2, 2)),\n"
            f"    layers.Conv2D(64, (3, 3), activation='relu'), {bn}, layers.MaxPooling2D((2, 2)),\n"
            f"    layers.Flatten(), layers.Dense({dense}, activation='relu'), layers.Dropout(0.5),\n"
            "    layers.Dense(10, activation='softmax')])")


_CT = ("y_true = np.argmax(Y_test, axis=1)\n"
       "y_pred_cnn = np.argmax(cnn.predict(X_test, verbose=0), axis=1)\n"
       "ct = pd.crosstab(y_true, y_pred_cnn, rownames=['label'], colnames=['predict'])\n"
       "_tab = ct.reindex(index=range(10), columns=range(10), fill_value=0).to_numpy().copy()\n")

VARIANTS = [
    # 1 flatten
    Variant("flatten", "flatten: rows of 28 instead of 784",
            "X_train_flat = X_train.reshape(-1, 28)\nX_val_flat = X_val.reshape(-1, 28)\nX_test_flat = X_test.reshape(-1, 28)",
            message="784"),
    Variant("flatten", "flatten: test set left as images",
            "X_train_flat = X_train.reshape(len(X_train), 784)\nX_val_flat = X_val.reshape(len(X_val), 784)\nX_test_flat = X_test",
            message="X_test_flat 的形状"),
    Variant("flatten", "flatten: keras Flatten layer", correct=True,
            code="_f = layers.Flatten()\nX_train_flat = np.asarray(_f(X_train))\nX_val_flat = np.asarray(_f(X_val))\n"
                 "X_test_flat = np.asarray(_f(X_test))"),
    # 2 MLP
    Variant("mlp", "mlp: images not flattened at the input",
            _mlp(_RIGHT, inputs="keras.Input((28, 28, 1))"), message="784"),
    Variant("mlp", "mlp: batch normalisation left out",
            _mlp(", ".join([_D.format(512), _D.format(512), "layers.Dropout(0.3)", _D.format(256), _D.format(256),
                            "layers.Dropout(0.3)"])), message="870,410"),
    Variant("mlp", "mlp: dropout after every dense layer",
            _mlp(", ".join([_D.format(512), _BN, "layers.Dropout(0.3)", _D.format(512), _BN, "layers.Dropout(0.3)",
                            _D.format(256), _BN, "layers.Dropout(0.3)", _D.format(256), _BN, "layers.Dropout(0.3)"])),
            message="Dropout"),
    Variant("mlp", "mlp: dropout 0.5",
            _mlp(_RIGHT.replace("0.3", "0.5")), message="0.3"),
    Variant("mlp", "mlp: all BatchNorm parameters counted as non-trainable",
            _mlp(_RIGHT, nt=_NT.format(per_layer="4 * int(l.moving_mean.shape[0])")), message="只有滑动均值和滑动方差不可训练"),
    Variant("mlp", "mlp: only the moving means counted",
            _mlp(_RIGHT, nt=_NT.format(per_layer="int(l.moving_mean.shape[0])")), message="与摘要里的不可训练参数个数不一致"),
    Variant("mlp", "mlp: the summary's number copied (hard-coded 3072)",
            _mlp(_RIGHT, nt="def non_trainable_params(model):\n    return 3072\n"), message="不要照着摘要抄数字"),
    Variant("mlp", "mlp: a number instead of a function",
            _mlp(_RIGHT, nt="non_trainable_params = 3072\n").replace("mlp_non_trainable = non_trainable_params(mlp)\n",
                                                                       "mlp_non_trainable = 3072\n"), message="应是一个函数"),
    Variant("mlp", "mlp: non-trainable weights summed", correct=True,
            code=_mlp(_RIGHT, nt="def non_trainable_params(model):\n"
                                 "    return int(sum(np.prod(w.shape) for w in model.non_trainable_weights))\n")),
    Variant("mlp", "mlp: functional API and the count read from the model", correct=True,
            code="_inp = keras.Input((784,))\n_h = _inp\n"
                 "for _k, _u in enumerate([512, 512, 256, 256]):\n"
                 "    _h = layers.BatchNormalization()(layers.Dense(_u, activation='relu')(_h))\n"
                 "    if _k % 2 == 1:\n"
                 "        _h = layers.Dropout(0.3)(_h)\n"
                 "mlp = keras.Model(_inp, layers.Dense(10, activation='softmax')(_h))\n"
                 "non_trainable_params = lambda model: models.count_params(model)['non_trainable']\n"
                 "mlp_non_trainable = non_trainable_params(mlp)"),
    # 4 CNN
    Variant("cnn", "cnn: the handout's BatchNormalization(axis=1)",
            _cnn("layers.BatchNormalization(axis=1)"), message="通道"),
    Variant("cnn", "cnn: the handout's 7.66M-parameter network",
            "_f = 128\ncnn = keras.Sequential([keras.Input((28, 28, 1)),\n"
            "    layers.Conv2D(_f, (3, 3), activation='relu'), layers.BatchNormalization(),\n"
            "    layers.Conv2D(_f, (3, 3), activation='relu'), layers.BatchNormalization(), layers.Dropout(0.3),\n"
            "    layers.Conv2D(2 * _f, (3, 3), activation='relu'), layers.BatchNormalization(),\n"
            "    layers.Conv2D(2 * _f, (3, 3), activation='relu'), layers.BatchNormalization(),\n"
            "    layers.MaxPooling2D((2, 2)), layers.Dropout(0.3), layers.Flatten(),\n"
            "    layers.Dense(256, activation='relu'), layers.BatchNormalization(),\n"
            "    layers.Dense(256, activation='relu'), layers.BatchNormalization(), layers.Dropout(0.3),\n"
            "    layers.Dense(10, activation='softmax')])", message="1,000,000"),
    Variant("cnn", "cnn: an MLP on the images, no convolution",
            "cnn = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(256, activation='relu'),\n"
            "    layers.BatchNormalization(), layers.Dense(10, activation='softmax')])", message="卷积层"),
    Variant("cnn", "cnn: flattened input", 
            "cnn = keras.Sequential([keras.Input((784,)), layers.Reshape((28, 28, 1)),\n"
            "    layers.Conv2D(32, (3, 3), activation='relu'), layers.Flatten(), layers.Dense(10, activation='softmax')])",
            message="(28, 28, 1)"),
    Variant("cnn", "cnn: the course's fashion_cnn", correct=True,
            code="cnn = models.fashion_cnn(bn_momentum=0.9)"),
    Variant("cnn", "cnn: BatchNormalization(axis=3) written out, same padding", correct=True,
            code=_cnn("layers.BatchNormalization(axis=3, momentum=0.9)", dense=64).replace(
                "activation='relu')", "activation='relu', padding='same')", 2)),
    # 5 compare on the validation set
    Variant("compare", "compare: both evaluated on the test set",
            "mlp_val_acc = mlp.evaluate(X_test_flat, Y_test, verbose=0)[1]\ncnn_val_acc = cnn.evaluate(X_test, Y_test, verbose=0)[1]",
            message="用的是验证集吗"),
    Variant("compare", "compare: images given to the MLP",
            "mlp_val_acc = mlp.evaluate(X_val, Y_val, verbose=0)[1]\ncnn_val_acc = cnn.evaluate(X_val, Y_val, verbose=0)[1]",
            error="ValueError"),
    Variant("compare", "compare: the two models swapped",
            "mlp_val_acc = cnn.evaluate(X_val, Y_val, verbose=0)[1]\ncnn_val_acc = mlp.evaluate(X_val_flat, Y_val, verbose=0)[1]",
            message="模型对吗"),
    Variant("compare", "compare: the loss instead of the accuracy",
            "mlp_val_acc = mlp.evaluate(X_val_flat, Y_val, verbose=0)[0]\ncnn_val_acc = cnn.evaluate(X_val, Y_val, verbose=0)[0]",
            message="不一致"),
    Variant("compare", "compare: an untrained CNN does not beat the MLP",
            "cnn = keras.models.clone_model(cnn)\n"
            "cnn.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])\n"
            "mlp_val_acc = mlp.evaluate(X_val_flat, Y_val, verbose=0)[1]\ncnn_val_acc = cnn.evaluate(X_val, Y_val, verbose=0)[1]",
            message="没有超过 MLP"),
    Variant("compare", "compare: from predictions", correct=True,
            code="_t = Y_val.argmax(axis=1)\n"
                 "mlp_val_acc = float((mlp.predict(X_val_flat, verbose=0).argmax(1) == _t).mean())\n"
                 "cnn_val_acc = float((cnn.predict(X_val, verbose=0).argmax(1) == _t).mean())"),
    Variant("compare", "compare: last val_accuracy of the histories (same final weights)", correct=True,
            code="mlp_val_acc = history_mlp.history['val_accuracy'][-1]\ncnn_val_acc = history_cnn.history['val_accuracy'][-1]"),
    # 6 confusion
    Variant("fashion_confusion", "confusion: diagonal not excluded",
            _CT + "_i, _j = np.unravel_index(np.argmax(_tab), _tab.shape)\n"
                  "most_confused_pair = (class_names[_i], class_names[_j])\n"
                  "def mistaken_for(table, k):\n    return int(np.argmax(table[k]))\n"
                  "shirt_mistaken_for = class_names[int(np.argmax(_tab[6]))]", message="对角线"),
    Variant("fashion_confusion", "confusion: crosstab of the MLP's predictions",
            "y_true = np.argmax(Y_test, axis=1)\n_pm = np.argmax(mlp.predict(X_test_flat, verbose=0), axis=1)\n"
            "ct = pd.crosstab(y_true, _pm, rownames=['label'], colnames=['predict'])\n"
            "_tab = ct.reindex(index=range(10), columns=range(10), fill_value=0).to_numpy().copy()\nnp.fill_diagonal(_tab, 0)\n"
            "_i, _j = np.unravel_index(np.argmax(_tab), _tab.shape)\n"
            "most_confused_pair = (class_names[_i], class_names[_j])\n"
            "mistaken_for = lambda table, k: int(np.argmax(np.where(np.eye(10, dtype=bool)[k], -1, table[k])))\n"
            "shirt_mistaken_for = class_names[int(np.argmax(_tab[6]))]", message="用的是 CNN 吗"),
    Variant("fashion_confusion", "confusion: true and predicted swapped",
            "y_true = np.argmax(Y_test, axis=1)\ny_pred_cnn = np.argmax(cnn.predict(X_test, verbose=0), axis=1)\n"
            "ct = pd.crosstab(y_pred_cnn, y_true, rownames=['label'], colnames=['predict'])\n"
            "_tab = ct.reindex(index=range(10), columns=range(10), fill_value=0).to_numpy().copy()\nnp.fill_diagonal(_tab, 0)\n"
            "_i, _j = np.unravel_index(np.argmax(_tab), _tab.shape)\n"
            "most_confused_pair = (class_names[_i], class_names[_j])\n"
            "mistaken_for = lambda table, k: int(np.argmax(np.where(np.eye(10, dtype=bool)[k], -1, table[k])))\n"
            "shirt_mistaken_for = class_names[int(np.argmax(_tab[6]))]", message="行是真实标签吗"),
    Variant("fashion_confusion", "confusion: shirt column read instead of its row",
            _CT + "np.fill_diagonal(_tab, 0)\n_i, _j = np.unravel_index(np.argmax(_tab), _tab.shape)\n"
                  "most_confused_pair = (class_names[_i], class_names[_j])\n"
                  "def mistaken_for(table, k):\n"
                  "    col = np.array(table)[:, k].copy()\n    col[k] = 0\n    return int(np.argmax(col))\n"
                  "shirt_mistaken_for = class_names[mistaken_for(_tab, 6)]", message="看的是那一行吗"),
    Variant("fashion_confusion", "confusion: diagonal kept in mistaken_for",
            _CT + "np.fill_diagonal(_tab, 0)\n_i, _j = np.unravel_index(np.argmax(_tab), _tab.shape)\n"
                  "most_confused_pair = (class_names[_i], class_names[_j])\n"
                  "def mistaken_for(table, k):\n    return int(np.argmax(np.array(table)[k]))\n"
                  "shirt_mistaken_for = class_names[mistaken_for(_tab, 6)]", message="认对的那一格去掉了吗"),
    Variant("fashion_confusion", "confusion: Chinese class names",
            _CT + "np.fill_diagonal(_tab, 0)\n_i, _j = np.unravel_index(np.argmax(_tab), _tab.shape)\n"
                  "most_confused_pair = (course_data.FASHION_CLASSES_ZH[_i], course_data.FASHION_CLASSES_ZH[_j])\n"
                  "mistaken_for = lambda table, k: int(np.argmax(np.where(np.eye(10, dtype=bool)[k], -1, table[k])))\n"
                  "shirt_mistaken_for = course_data.FASHION_CLASSES_ZH[int(np.argmax(_tab[6]))]", message="英文类别名"),
    Variant("fashion_confusion", "confusion: pandas stack on a named table", correct=True,
            code="y_true = np.argmax(Y_test, axis=1)\ny_pred_cnn = np.argmax(cnn.predict(X_test, verbose=0), axis=1)\n"
                 "ct = pd.crosstab(pd.Series(y_true, name='label'), pd.Series(y_pred_cnn, name='predict'))\n"
                 "_s = ct.stack()\n_s = _s[[a != b for a, b in _s.index]]\n"
                 "most_confused_pair = tuple(class_names[k] for k in _s.idxmax())\n"
                 "mistaken_for = lambda table, k: int(pd.DataFrame(table).iloc[k].drop(k).idxmax())\n"
                 "shirt_mistaken_for = class_names[mistaken_for(ct.reindex(index=range(10), columns=range(10), fill_value=0), 6)]"),
]
