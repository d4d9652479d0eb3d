from labkit import Variant

HAS_NAN = "def has_nan(frame):\n    return bool(np.isnan(np.asarray(frame, dtype=float)).any())\n"

VARIANTS = [
    # 1 load
    Variant("load_data", "load: train and test swapped",
            "train = pd.read_csv(course_data.MNIST_TEST)\ntest = pd.read_csv(course_data.MNIST_TRAIN)",
            message="train 应有 4200 行"),
    Variant("load_data", "load: first row used as header",
            "train = pd.read_csv(course_data.MNIST_TRAIN, header=None)\ntest = pd.read_csv(course_data.MNIST_TEST, header=None)",
            message="4200"),
    Variant("load_data", "load: compression given explicitly", correct=True,
            code="train = pd.read_csv(str(course_data.MNIST_TRAIN), compression='gzip')\n"
                 "test = pd.read_csv(str(course_data.MNIST_TEST), compression='gzip')"),
    # 2 separate
    Variant("split_columns", "separate: label column kept in X",
            "Y_train = train['label']\nY_test = test['label']\nX_train = train\nX_test = test",
            message="X_train 的形状应是 (4200, 784)"),
    Variant("split_columns", "separate: test pixels keep the label",
            "Y_train = train['label']\nY_test = test['label']\nX_train = train.drop(labels=['label'], axis=1)\nX_test = test",
            message="测试集也要去掉标签列"),
    Variant("split_columns", "separate: iloc slicing", correct=True,
            code="Y_train = train.iloc[:, 0]\nY_test = test.iloc[:, 0]\nX_train = train.iloc[:, 1:]\nX_test = test.iloc[:, 1:]"),
    # 3 label counts
    Variant("label_counts", "counts: not sorted by digit",
            "label_counts = Y_train.value_counts()\nlabel_counts.index = label_counts.index[::-1]",
            message="排序"),
    Variant("label_counts", "counts: counted the test labels",
            "label_counts = Y_test.value_counts().sort_index()", message="总数"),
    Variant("label_counts", "counts: groupby", correct=True,
            code="label_counts = train.groupby('label').size()"),
    # 4 missing values
    Variant("missing_values", "nulls: checked the whole frame at once",
            "train_null_summary = X_train.isnull().any().any()\n" + HAS_NAN + "test_has_nan = has_nan(X_test)",
            message="describe()"),
    Variant("missing_values", "nulls: test answer as an array",
            "train_null_summary = X_train.isnull().any().describe()\n"
            "def has_nan(frame):\n    return np.isnan(np.asarray(frame, dtype=float))\n"
            "test_has_nan = has_nan(X_test)",
            message="True 或 False"),
    Variant("missing_values", "nulls: claims the test set has NaNs",
            "train_null_summary = X_train.isnull().any().describe()\n" + HAS_NAN + "test_has_nan = True",
            message="has_nan(X_test) 的结果"),
    Variant("missing_values", "nulls: the printed answer hard-coded (has_nan always False)",
            "train_null_summary = X_train.isnull().any().describe()\n"
            "def has_nan(frame):\n    return False\n"
            "test_has_nan = has_nan(X_test)",
            message="没有发现数据里的空值"),
    Variant("missing_values", "nulls: has_nan checks X_test, not its argument",
            "train_null_summary = X_train.isnull().any().describe()\n"
            "def has_nan(frame):\n    return bool(np.isnan(X_test.to_numpy()).any())\n"
            "test_has_nan = has_nan(X_test)",
            message="没有发现数据里的空值"),
    Variant("missing_values", "nulls: no function, a bare boolean",
            "train_null_summary = X_train.isnull().any().describe()\n"
            "test_has_nan = bool(np.isnan(X_test.to_numpy()).any())",
            error="NameError"),
    Variant("missing_values", "nulls: isna and numpy bool", correct=True,
            code="train_null_summary = X_train.isna().any().describe()\n"
                 "def has_nan(frame):\n    return np.isnan(np.asarray(frame)).any()\n"
                 "test_has_nan = has_nan(X_test)"),
    Variant("missing_values", "nulls: pandas isna inside has_nan", correct=True,
            code="train_null_summary = X_train.isnull().any().describe()\n"
                 "def has_nan(frame):\n    return bool(pd.DataFrame(frame).isna().to_numpy().any())\n"
                 "test_has_nan = has_nan(X_test)"),
    # 5 normalise
    Variant("normalize", "normalise: forgot the test set", "X_train = X_train / 255.0",
            message="测试集也需要归一化"),
    Variant("normalize", "normalise: divided twice (cell run twice)",
            "X_train = X_train / 255.0 / 255.0\nX_test = X_test / 255.0 / 255.0", message="运行了两次"),
    Variant("normalize", "normalise: by the maximum of each image",
            "X_train = X_train.div(X_train.max(axis=1), axis=0)\nX_test = X_test.div(X_test.max(axis=1), axis=0)"),
    Variant("normalize", "normalise: numpy float32", correct=True,
            code="X_train = X_train.to_numpy(dtype='float32') / 255\nX_test = X_test.to_numpy(dtype='float32') / 255"),
    # 6 reshape
    Variant("reshape", "reshape: kept flat (n, 784) for the CNN",
            "X_train = X_train.values\nX_test = X_test.values", message="4 维"),
    Variant("reshape", "reshape: channels first (n, 1, 28, 28)",
            "X_train = X_train.values.reshape(-1, 1, 28, 28)\nX_test = X_test.values.reshape(-1, 1, 28, 28)",
            message="顺序"),
    Variant("reshape", "reshape: transposed images",
            "X_train = X_train.values.reshape(-1, 28, 28, 1).transpose(0, 2, 1, 3)\n"
            "X_test = X_test.values.reshape(-1, 28, 28, 1).transpose(0, 2, 1, 3)",
            message="排列顺序"),
    Variant("reshape", "reshape: np.reshape", correct=True,
            code="X_train = np.reshape(np.asarray(X_train), (len(X_train), 28, 28, 1))\n"
                 "X_test = np.reshape(np.asarray(X_test), (-1, 28, 28, 1))"),
    # 7 one-hot
    Variant("one_hot", "one-hot: 9 classes", "Y_train = keras.utils.to_categorical(Y_train, num_classes=9)\n"
            "Y_test = keras.utils.to_categorical(Y_test, num_classes=9)", error="IndexError"),
    Variant("one_hot", "one-hot: test labels left as digits",
            "Y_train = keras.utils.to_categorical(Y_train, num_classes=10)", message="测试标签也要编码"),
    Variant("one_hot", "one-hot: np.eye", correct=True,
            code="Y_train = np.eye(10)[np.asarray(Y_train)]\nY_test = np.eye(10)[np.asarray(Y_test)]"),
    Variant("one_hot", "one-hot: pandas get_dummies", correct=True,
            code="Y_train = pd.get_dummies(Y_train).to_numpy(dtype=float)\nY_test = pd.get_dummies(Y_test).to_numpy(dtype=float)"),
    # 8 split
    Variant("split", "split: another seed",
            "X_train, X_val, Y_train, Y_val = train_test_split(X_train, Y_train, test_size=0.1, random_state=42)",
            message="随机种子"),
    Variant("split", "split: 8:2 instead of 9:1",
            "X_train, X_val, Y_train, Y_val = train_test_split(X_train, Y_train, test_size=0.2, random_state=2)",
            message="10%"),
    Variant("split", "split: no shuffling",
            "X_train, X_val, Y_train, Y_val = train_test_split(X_train, Y_train, test_size=0.1, shuffle=False)",
            message="随机种子"),
    Variant("split", "split: the test set split instead",
            "X_train, X_val, Y_train, Y_val = train_test_split(X_test, Y_test, test_size=0.1, random_state=2)",
            message="4200"),
    Variant("split", "split: test_size as a count", correct=True,
            code="X_train, X_val, Y_train, Y_val = train_test_split(X_train, Y_train, test_size=420, random_state=2)"),
    # 9 first label
    Variant("first_label", "first label: the one-hot vector itself",
            "first_label = Y_train[0]", message="整数"),
    Variant("first_label", "first label: from the validation set",
            "first_label = int(np.argmax(Y_val[0]))", message="不一致"),
    Variant("first_label", "first label: argmax then item", correct=True,
            code="first_label = Y_train[0].argmax().item()"),
    Variant("first_label", "first label: position of the 1 with list.index", correct=True,
            code="first_label = list(Y_train[0]).index(1)"),
]
