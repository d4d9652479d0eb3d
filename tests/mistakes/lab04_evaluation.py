from labkit import Variant

_RAW_TEST = ("_t = pd.read_csv(course_data.MNIST_TEST)\n"
             "_x_raw = _t.drop(columns=['label']).to_numpy(dtype='float32').reshape(-1, 28, 28, 1)\n")

VARIANTS = [
    # 1 held-out accuracy
    Variant("test_accuracy", "accuracy: evaluated on the validation set",
            "test_loss, test_accuracy = model.evaluate(X_val, Y_val, verbose=0)",
            message="不一致"),
    Variant("test_accuracy", "accuracy: test file read again but not normalised",
            _RAW_TEST + "test_loss, test_accuracy = model.evaluate(_x_raw, Y_test, verbose=0)",
            message="不一致"),
    Variant("test_accuracy", "accuracy: the loss taken for the accuracy",
            "test_accuracy, test_loss = model.evaluate(X_test, Y_test, verbose=0)",
            message="不一致"),
    Variant("test_accuracy", "accuracy: the whole list kept",
            "test_accuracy = model.evaluate(X_test, Y_test, verbose=0)\ntest_loss = test_accuracy[0]",
            message="不是列表"),
    Variant("test_accuracy", "accuracy: the loss taken from the validation set",
            "test_loss = model.evaluate(X_val, Y_val, verbose=0)[0]\n"
            "test_accuracy = model.evaluate(X_test, Y_test, verbose=0)[1]", message="test_loss"),
    Variant("test_accuracy", "accuracy: evaluate with return_dict", correct=True,
            code="_r = model.evaluate(X_test, Y_test, verbose=0, return_dict=True)\n"
                 "test_loss, test_accuracy = _r['loss'], _r['accuracy']"),
    # 2 predictions
    Variant("predictions", "predictions: predict_classes (removed in Keras 3)",
            "test_probs = model.predict(X_test, verbose=0)\ny_pred = model.predict_classes(X_test)\n"
            "y_true = np.argmax(Y_test, axis=1)", error="AttributeError"),
    Variant("predictions", "predictions: argmax over the wrong axis",
            "test_probs = model.predict(X_test, verbose=0)\ny_pred = np.argmax(test_probs, axis=0)\n"
            "y_true = np.argmax(Y_test, axis=1)", message="argmax 沿哪个轴"),
    Variant("predictions", "predictions: the largest probability instead of its position",
            "test_probs = model.predict(X_test, verbose=0)\ny_pred = np.max(test_probs, axis=1)\n"
            "y_true = np.argmax(Y_test, axis=1)", message="整数"),
    Variant("predictions", "predictions: validation labels as the truth",
            "test_probs = model.predict(X_test, verbose=0)\ny_pred = np.argmax(test_probs, axis=1)\n"
            "y_true = np.argmax(Y_val, axis=1)", message="y_true"),
    Variant("predictions", "predictions: model called directly", correct=True,
            code="test_probs = np.asarray(model(X_test, training=False))\ny_pred = test_probs.argmax(-1)\n"
                 "y_true = Y_test.argmax(axis=1)"),
    # 3 confusion matrix
    Variant("confusion", "confusion: true and predicted swapped",
            "cm = confusion_matrix(y_pred, y_true)\n"
            "ct = pd.crosstab(y_pred, y_true, rownames=['label'], colnames=['predict'])",
            message="行和列是不是弄反了"),
    Variant("confusion", "confusion: normalised by row",
            "cm = confusion_matrix(y_true, y_pred, normalize='true')\n"
            "ct = pd.crosstab(y_true, y_pred, rownames=['label'], colnames=['predict'])",
            message="应等于留出测试集的张数"),
    Variant("confusion", "confusion: on the validation set",
            "_pv = np.argmax(model.predict(X_val, verbose=0), axis=1)\n_tv = np.argmax(Y_val, axis=1)\n"
            "cm = confusion_matrix(_tv, _pv)\nct = pd.crosstab(_tv, _pv, rownames=['label'], colnames=['predict'])",
            message="应等于留出测试集的张数"),
    Variant("confusion", "confusion: crosstab without axis names",
            "cm = confusion_matrix(y_true, y_pred)\nct = pd.crosstab(y_true, y_pred)",
            message="行名应为 'label'"),
    Variant("confusion", "confusion: crosstab with swapped data but the right names",
            "cm = confusion_matrix(y_true, y_pred)\n"
            "ct = pd.crosstab(y_pred, y_true, rownames=['label'], colnames=['predict'])",
            message="ct 的数值与 cm 不一致"),
    Variant("confusion", "confusion: counted by hand, crosstab from named Series", correct=True,
            code="cm = np.zeros((10, 10), dtype=int)\nnp.add.at(cm, (y_true, y_pred), 1)\n"
                 "ct = pd.crosstab(pd.Series(y_true, name='label'), pd.Series(y_pred, name='predict'))"),
    # 4 most confused pair
    Variant("most_confused", "most confused: diagonal not removed",
            "_r, _c = np.unravel_index(np.argmax(cm), cm.shape)\nmost_confused = (int(_r), int(_c))",
            message="对角线"),
    Variant("most_confused", "most confused: flat index not unravelled",
            "_o = np.array(cm)\nnp.fill_diagonal(_o, 0)\nmost_confused = int(np.argmax(_o))",
            message="元组"),
    Variant("most_confused", "most confused: the smallest off-diagonal cell",
            "_o = np.array(cm)\nnp.fill_diagonal(_o, 10**6)\n"
            "_r, _c = np.unravel_index(np.argmin(_o), _o.shape)\nmost_confused = (int(_r), int(_c))",
            message="对角线以外最大的格子"),
    Variant("most_confused", "most confused: from the crosstab with pandas", correct=True,
            code="_s = ct.stack()\n_s = _s[[a != b for a, b in _s.index]]\n"
                 "most_confused = tuple(int(v) for v in _s.idxmax())"),
    # 5 most confident errors
    Variant("top_errors", "top errors: sorted the wrong way (least confident)",
            "errors = np.flatnonzero(y_pred != y_true)\n"
            "gap = test_probs[errors, y_pred[errors]] - test_probs[errors, y_true[errors]]\n"
            "top9 = errors[np.argsort(gap)[:9]]", message="从大到小"),
    Variant("top_errors", "top errors: positions in the error list, not in X_test",
            "errors = np.flatnonzero(y_pred != y_true)\n"
            "gap = test_probs[errors, y_pred[errors]] - test_probs[errors, y_true[errors]]\n"
            "top9 = np.argsort(gap)[::-1][:9]", message="预测对了"),
    Variant("top_errors", "top errors: the handout's ascending last nine",
            "errors = np.flatnonzero(y_pred != y_true)\n"
            "gap = test_probs[errors, y_pred[errors]] - test_probs[errors, y_true[errors]]\n"
            "top9 = errors[np.argsort(gap)[-9:]]", message="从大到小"),
    Variant("top_errors", "top errors: most confident predictions overall, right or wrong",
            "top9 = np.argsort(test_probs.max(axis=1))[::-1][:9]", message="预测对了"),
    Variant("top_errors", "top errors: pandas sort", correct=True,
            code="_df = pd.DataFrame({'p_pred': test_probs.max(axis=1),\n"
                 "                    'p_true': test_probs[np.arange(len(y_true)), y_true],\n"
                 "                    'wrong': y_pred != y_true})\n"
                 "_df['gap'] = _df.p_pred - _df.p_true\n"
                 "top9 = _df[_df.wrong].sort_values('gap', ascending=False).index[:9].to_numpy()"),
    # 6 ROC / AUC
    Variant("roc_auc", "roc: hard predicted classes used as scores",
            "_pb = label_binarize(y_pred, classes=list(range(10)))\n_tb = label_binarize(y_true, classes=list(range(10)))\n"
            "roc_auc = {k: roc_auc_score(_tb[:, k], _pb[:, k]) for k in range(10)}\n"
            "macro_auc = float(np.mean(list(roc_auc.values())))", message="AUC"),
    Variant("roc_auc", "roc: micro average reported as the macro average",
            "_tb = label_binarize(y_true, classes=list(range(10)))\n"
            "roc_auc = {k: roc_auc_score(_tb[:, k], test_probs[:, k]) for k in range(10)}\n"
            "macro_auc = roc_auc_score(_tb.ravel(), test_probs.ravel())", message="简单平均"),
    Variant("roc_auc", "roc: score of the predicted class for every column",
            "_tb = label_binarize(y_true, classes=list(range(10)))\n"
            "roc_auc = {k: roc_auc_score(_tb[:, k], test_probs.max(axis=1)) for k in range(10)}\n"
            "macro_auc = float(np.mean(list(roc_auc.values())))", message="AUC"),
    Variant("roc_auc", "roc: sklearn per-class scores in one call", correct=True,
            code="_scores = roc_auc_score(y_true, test_probs, multi_class='ovr', average=None)\n"
                 "roc_auc = {k: float(s) for k, s in enumerate(_scores)}\n"
                 "macro_auc = roc_auc_score(y_true, test_probs, multi_class='ovr', average='macro')"),
    # 7 feature maps after each convolution
    Variant("feature_maps", "feature maps: every layer's output, not only the convolutions",
            "def feature_maps(model, image):\n"
            "    sub = keras.Model(model.inputs, [layer.output for layer in model.layers])\n"
            "    return [out[0] for out in sub.predict(image[np.newaxis], verbose=0)]\n"
            "digit_maps = feature_maps(model, X_test[0])", message="只要卷积层"),
    Variant("feature_maps", "feature maps: the batch axis kept",
            "def feature_maps(model, image):\n"
            "    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]\n"
            "    return list(keras.Model(model.inputs, [c.output for c in convs]).predict(image[np.newaxis], verbose=0))\n"
            "digit_maps = feature_maps(model, X_test[0])", message="批的维度"),
    Variant("feature_maps", "feature maps: only the last convolution",
            "def feature_maps(model, image):\n"
            "    conv = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)][-1]\n"
            "    return [keras.Model(model.inputs, conv.output).predict(image[np.newaxis], verbose=0)[0]]\n"
            "digit_maps = feature_maps(model, X_test[0])", message="每层一个"),
    Variant("feature_maps", "feature maps: computed in training mode (Dropout on)",
            "def feature_maps(model, image):\n"
            "    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]\n"
            "    sub = keras.Model(model.inputs, [c.output for c in convs])\n"
            "    return [np.asarray(out)[0] for out in sub(image[np.newaxis], training=True)]\n"
            "digit_maps = feature_maps(model, X_test[0])", message="Dropout 不起作用"),
    Variant("feature_maps", "feature maps: the lab's model instead of the argument",
            "def feature_maps(net, image):\n"
            "    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]\n"
            "    return [o[0] for o in keras.Model(model.inputs, [c.output for c in convs]).predict(image[None], verbose=0)]\n"
            "digit_maps = feature_maps(model, X_test[0])", message="另一个有两个卷积层的小网络"),
    Variant("feature_maps", "feature maps: the digit of another image",
            "def feature_maps(model, image):\n"
            "    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]\n"
            "    return [o[0] for o in keras.Model(model.inputs, [c.output for c in convs]).predict(image[None], verbose=0)]\n"
            "digit_maps = feature_maps(model, X_train[0])", message="是 X_test[0] 的吗"),
    Variant("feature_maps", "feature maps: the layers called one by one", correct=True,
            code="def feature_maps(model, image):\n"
                 "    x, maps = image[np.newaxis], []\n"
                 "    for layer in model.layers:\n"
                 "        x = layer(x, training=False)\n"
                 "        if isinstance(layer, keras.layers.Conv2D):\n"
                 "            maps.append(np.asarray(x)[0])\n"
                 "    return maps\n"
                 "digit_maps = feature_maps(model, X_test[0])"),
    Variant("feature_maps", "feature maps: one sub-model per convolution", correct=True,
            code="def feature_maps(model, image):\n"
                 "    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]\n"
                 "    return [keras.Model(model.inputs, c.output).predict(np.expand_dims(image, 0), verbose=0)[0] for c in convs]\n"
                 "digit_maps = feature_maps(model, X_test[0])"),
    # 8 the filter most sensitive to horizontal strokes
    Variant("horizontal_filter", "horizontal filter: vertical minus horizontal",
            "def horizontal_filter(model):\n"
            "    h = feature_maps(model, H_BAR)[0].mean(axis=(0, 1))\n"
            "    v = feature_maps(model, V_BAR)[0].mean(axis=(0, 1))\n"
            "    return int(np.argmax(v - h))\n"
            "h_index = horizontal_filter(model)", message="偏爱的是竖的方向"),
    Variant("horizontal_filter", "horizontal filter: argmin",
            "def horizontal_filter(model):\n"
            "    h = feature_maps(model, H_BAR)[0].mean(axis=(0, 1))\n"
            "    v = feature_maps(model, V_BAR)[0].mean(axis=(0, 1))\n"
            "    return int(np.argmin(h - v))\n"
            "h_index = horizontal_filter(model)", message="最小值"),
    Variant("horizontal_filter", "horizontal filter: index off by one",
            "def horizontal_filter(model):\n"
            "    h = feature_maps(model, H_BAR)[0].mean(axis=(0, 1))\n"
            "    v = feature_maps(model, V_BAR)[0].mean(axis=(0, 1))\n"
            "    return int(np.argmax(h - v)) + 1\n"
            "h_index = horizontal_filter(model)", message="从 0 开始"),
    Variant("horizontal_filter", "horizontal filter: the horizontal response alone",
            "def horizontal_filter(model):\n"
            "    return int(np.argmax(feature_maps(model, H_BAR)[0].mean(axis=(0, 1))))\n"
            "h_index = horizontal_filter(model)", message="亮斑"),
    Variant("horizontal_filter", "horizontal filter: mean of the raw weights instead of the response",
            "def horizontal_filter(model):\n"
            "    conv = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)][0]\n"
            "    return int(np.argmax(conv.get_weights()[0].mean(axis=(0, 1, 2))))\n"
            "h_index = horizontal_filter(model)", message="不是直接对权重求平均"),
    Variant("horizontal_filter", "horizontal filter: the last convolution",
            "def horizontal_filter(model):\n"
            "    h = feature_maps(model, H_BAR)[-1].mean(axis=(0, 1))\n"
            "    v = feature_maps(model, V_BAR)[-1].mean(axis=(0, 1))\n"
            "    return int(np.argmax(h - v))\n"
            "h_index = horizontal_filter(model)", message="用的是第一个卷积层吗"),
    Variant("horizontal_filter", "horizontal filter: the maximum value instead of its index",
            "def horizontal_filter(model):\n"
            "    h = feature_maps(model, H_BAR)[0].mean(axis=(0, 1))\n"
            "    v = feature_maps(model, V_BAR)[0].mean(axis=(0, 1))\n"
            "    return float(np.max(h - v))\n"
            "h_index = horizontal_filter(model)", message="返回一个整数"),
    Variant("horizontal_filter", "horizontal filter: the first convolution called on both probes", correct=True,
            code="def horizontal_filter(model):\n"
                 "    conv = next(l for l in model.layers if isinstance(l, keras.layers.Conv2D))\n"
                 "    out = np.asarray(conv(np.stack([H_BAR, V_BAR])))\n"
                 "    return int(np.argmax(out[0].mean(axis=(0, 1)) - out[1].mean(axis=(0, 1))))\n"
                 "h_index = horizontal_filter(model)"),
    Variant("horizontal_filter", "horizontal filter: a pandas table of responses", correct=True,
            code="def horizontal_filter(model):\n"
                 "    conv = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)][0]\n"
                 "    sub = keras.Model(model.inputs, conv.output)\n"
                 "    maps = sub.predict(np.stack([H_BAR, V_BAR]), verbose=0)\n"
                 "    table = pd.DataFrame({'h': maps[0].mean(axis=(0, 1)), 'v': maps[1].mean(axis=(0, 1))})\n"
                 "    return int((table.h - table.v).idxmax())\n"
                 "h_index = horizontal_filter(model)"),
]
