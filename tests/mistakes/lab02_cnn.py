from labkit import Variant


def cnn(*, last="Dense(10, activation='softmax')", inp="keras.Input((28, 28, 1))", conv3_padding="same",
        batchnorm=True, flatten=True, init="he_normal", dropouts=(0.2, 0.25, 0.25), pool="MaxPooling2D"):
    """Source of handout 000's network with one thing changed."""
    init_arg = f", kernel_initializer={init!r}" if init else ""
    rows = [
        inp,
        f"layers.Conv2D(32, (3, 3), activation='relu'{init_arg})",
        f"layers.Conv2D(32, (3, 3), activation='relu'{init_arg})",
        f"layers.{pool}((2, 2), strides=2)",
        f"layers.Dropout({dropouts[0]})",
        f"layers.Conv2D(64, (3, 3), padding={conv3_padding!r}, activation='relu'{init_arg})",
        f"layers.{pool}((2, 2))",
        f"layers.Dropout({dropouts[1]})",
        "layers.Flatten()" if flatten else None,
        "layers.Dense(128, activation='relu')",
        "layers.BatchNormalization()" if batchnorm else None,
        f"layers.Dropout({dropouts[2]})",
        f"layers.{last}",
    ]
    return "model = keras.Sequential([\n" + "".join(f"    {r},\n" for r in rows if r) + "])"


FUNCTIONAL = """inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(32, 3, activation="relu", kernel_initializer=keras.initializers.HeNormal())(inputs)
x = layers.Conv2D(32, 3, activation="relu", kernel_initializer=keras.initializers.HeNormal())(x)
x = layers.MaxPool2D(pool_size=2, strides=2)(x)
x = layers.Dropout(0.2)(x)
x = layers.Conv2D(64, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
x = layers.MaxPool2D()(x)
x = layers.Dropout(0.25)(x)
x = layers.Flatten()(x)
x = layers.Dense(128, activation="relu")(x)
x = layers.BatchNormalization()(x)
x = layers.Dropout(0.25)(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs)"""

ADD_STYLE = """model = keras.Sequential()
model.add(keras.Input(shape=(28, 28, 1)))
model.add(layers.Conv2D(filters=32, kernel_size=(3, 3), activation="relu", kernel_initializer="he_normal"))
model.add(layers.Conv2D(filters=32, kernel_size=(3, 3), activation="relu", kernel_initializer="he_normal"))
model.add(layers.MaxPool2D((2, 2), strides=2))
model.add(layers.Dropout(0.2))
model.add(layers.Conv2D(64, (3, 3), activation="relu", padding="same", kernel_initializer="he_normal"))
model.add(layers.MaxPool2D(pool_size=(2, 2)))
model.add(layers.Dropout(0.25))
model.add(layers.Flatten())
model.add(layers.Dense(128, activation="relu"))
model.add(layers.BatchNormalization())
model.add(layers.Dropout(0.25))
model.add(layers.Dense(10, activation="softmax"))"""

NET_5X5 = """model_5x5 = keras.Sequential([
    keras.Input((28, 28, 1)),
    layers.Conv2D(16, ({k}, {k}), padding="{pad}", activation="relu"),
    layers.MaxPooling2D((2, 2)),
    layers.Conv2D(36, ({k}, {k}), padding="{pad}", activation="relu"),
    layers.MaxPooling2D((2, 2)),{extra}
    layers.Dropout(0.25),
    layers.Flatten(),
    layers.Dense(128, activation="relu"),{drop}
    layers.Dense(10, activation="softmax"),
])"""


def net_5x5(k=5, pad="same", extra="", drop="\n    layers.Dropout(0.5),"):
    return NET_5X5.format(k=k, pad=pad, extra=extra, drop=drop)


def summary(count="sum(isinstance(l, layers.Conv2D) for l in network.layers)",
            largest="max(network.layers, key=lambda l: l.count_params())"):
    return (f"def count_conv_layers(network):\n    return {count}\n"
            f"def find_largest_layer(network):\n    return {largest}\n"
            "n_conv_layers = count_conv_layers(model)\n"
            "largest_layer = find_largest_layer(model)\n"
            "largest_layer_params = largest_layer.count_params()")


def flatten(index="-1", shape="tuple(int(d) for d in pool(model).output.shape[1:])"):
    return (f"def pool(network):\n    return [l for l in network.layers if isinstance(l, layers.MaxPooling2D)][{index}]\n"
            "def flatten_length(network):\n    return int(np.prod(pool(network).output.shape[1:]))\n"
            f"last_pool_shape = {shape}\n"
            "flatten_size = flatten_length(model)")


def corr2d(window="(x[i:i + kh, j:j + kw] * k).sum()", rows="x.shape[0] - kh + 1", cols="x.shape[1] - kw + 1",
           shape="kh, kw = k.shape", pre=""):
    """A hand-written cross-correlation with one thing changed."""
    return ("def corr2d(x, k):\n"
            "    x, k = np.asarray(x, dtype=float), np.asarray(k, dtype=float)\n"
            f"    {shape}\n{pre}"
            f"    out = np.zeros(({rows}, {cols}))\n"
            "    for i in range(out.shape[0]):\n"
            "        for j in range(out.shape[1]):\n"
            f"            out[i, j] = {window}\n"
            "    return out")


def output_size(formula="(n + 2 * p - k) // s + 1", padding="(k - 1) // 2"):
    return (f"def conv_output_size(n, k, p=0, s=1):\n    return {formula}\n"
            f"def same_padding(k):\n    return {padding}")


def map_params(dense="n * n * m * m + m * m", local="(k * k + 1) * m * m", shared="k * k + 1",
               side="conv_output_size(n, k)"):
    return (f"def map_params(n, k):\n    m = {side}\n    return {dense}, {local}, {shared}\n"
            "mnist_map_params = map_params(28, 3)")


VARIANTS = [
    # 1 cross-correlation by hand
    Variant("corr2d", "corr2d: true convolution (kernel flipped)",
            "from scipy.signal import convolve2d\ndef corr2d(x, k):\n    return convolve2d(x, k, mode='valid')",
            message="卷积核不翻转"),
    Variant("corr2d", "corr2d: kernel flipped by hand", corr2d(window="(x[i:i + kh, j:j + kw] * k[::-1, ::-1]).sum()"),
            message="卷积核不翻转"),
    Variant("corr2d", "corr2d: one position short in each direction", corr2d(rows="x.shape[0] - kh", cols="x.shape[1] - kw"),
            message="一共有几个"),
    Variant("corr2d", "corr2d: square input assumed", corr2d(cols="x.shape[0] - kh + 1"),
            message="行和列要分别"),
    Variant("corr2d", "corr2d: output as large as the input (zero padding)",
            corr2d(pre="    x = np.pad(x, ((kh // 2, kh // 2), (kw // 2, kw // 2)))\n"), message="输出应是 (2, 2)"),
    Variant("corr2d", "corr2d: matrix product instead of element-wise product",
            corr2d(window="(x[i:i + kh, j:j + kw] @ k).sum()"), message="逐元素相乘"),
    Variant("corr2d", "corr2d: scipy's correlate2d", correct=True,
            code="from scipy.signal import correlate2d\ndef corr2d(x, k):\n    return correlate2d(x, k, mode='valid')"),
    Variant("corr2d", "corr2d: sliding windows and einsum", correct=True,
            code="def corr2d(x, k):\n"
                 "    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x, dtype=float), np.shape(k))\n"
                 "    return np.einsum('ijab,ab->ij', windows, k)"),
    # 2 output size
    Variant("conv_output_size", "size: true division, no floor", output_size(formula="(n + 2 * p - k) / s + 1"),
            message="应该是一个整数",
            loses=("conv_output_size_tests", "map_params_tests")),   # map_params uses the student's conv_output_size
    Variant("conv_output_size", "size: + 1 forgotten", output_size(formula="(n + 2 * p - k) // s"),
            message="公式最后的 + 1",
            loses=("conv_output_size_tests", "map_params_tests")),   # map_params uses the student's conv_output_size
    Variant("conv_output_size", "size: padding on one side only", output_size(formula="(n + p - k) // s + 1"),
            message="两边都要补"),
    Variant("conv_output_size", "size: stride ignored", output_size(formula="n + 2 * p - k + 1"),
            message="步幅 s 在公式里起什么作用"),
    Variant("conv_output_size", "size: rounded up instead of down",
            "import math\n" + output_size(formula="math.ceil((n + 2 * p - k) / s) + 1"), message="向下取整"),
    Variant("conv_output_size", "size: same padding as the total of both sides", output_size(padding="k - 1"),
            message="每一边补几圈"),
    Variant("conv_output_size", "size: same padding k/2 rounded up", output_size(padding="(k + 1) // 2"),
            message="每一边补几圈"),
    Variant("conv_output_size", "size: np.floor and k // 2", correct=True,
            code=output_size(formula="int(np.floor((n + 2 * p - k) / s)) + 1", padding="k // 2")),
    # 3 parameters of one feature map
    Variant("map_params", "params: dense without biases", map_params(dense="n * n * m * m"), message="偏置有几个"),
    Variant("map_params", "params: dense output as large as the input", map_params(dense="n * n * n * n + n * n"),
            message="输出有几个"),
    Variant("map_params", "params: map side n - k (off by one)", map_params(side="n - k"), message="输出有几个"),
    Variant("map_params", "params: weights not shared", map_params(shared="(k * k + 1) * m * m"),
            message="所有位置共用同一组权重"),
    Variant("map_params", "params: local connections without biases", map_params(local="k * k * m * m"),
            message="每一个都有自己的一组"),
    Variant("map_params", "params: the numbers for 28 and 3 written in",
            "def map_params(n, k):\n    return 530_660, 6_760, 10\nmnist_map_params = map_params(28, 3)",
            message="map_params(10, 3) 算错了"),
    Variant("map_params", "params: counted with Keras layers", correct=True,
            code="def map_params(n, k):\n"
                 "    conv = layers.Conv2D(1, k, kernel_initializer='zeros')\n"
                 "    conv.build((None, n, n, 1))\n"
                 "    m = conv_output_size(n, k)\n"
                 "    dense = layers.Dense(m * m, kernel_initializer='zeros')\n"
                 "    dense.build((None, n * n))\n"
                 "    return dense.count_params(), conv.count_params() * m * m, conv.count_params()\n"
                 "mnist_map_params = map_params(28, 3)"),
    Variant("map_params", "params: (inputs + 1) per output, side from the formula", correct=True,
            code="def map_params(n, k):\n"
                 "    outputs = (n - k + 1) ** 2\n"
                 "    return int((n * n + 1) * outputs), int((k * k + 1) * outputs), int(k * k + 1)\n"
                 "mnist_map_params = map_params(28, 3)"),
    # 1 build the network
    Variant("build_model", "cnn: sigmoid on the last layer", cnn(last="Dense(10, activation='sigmoid')"),
            message="最后一层的激活函数是 sigmoid"),
    Variant("build_model", "cnn: 9 classes", cnn(last="Dense(9, activation='softmax')"),
            message="模型的输出形状应是 (None, 10)"),
    Variant("build_model", "cnn: no Flatten before the dense layers", cnn(flatten=False),
            message="全连接层之前展平了吗"),
    Variant("build_model", "cnn: BatchNormalization left out", cnn(batchnorm=False),
            message="不可训练参数有 0 个"),
    Variant("build_model", "cnn: valid instead of same padding on the third convolution", cnn(conv3_padding="valid"),
            message="参数总数是"),
    Variant("build_model", "cnn: input without the channel axis", cnn(inp="keras.Input((28, 28))"),
            error="ValueError"),
    Variant("build_model", "cnn: flat (784,) input as for an MLP", cnn(inp="keras.Input((784,))"),
            error="ValueError"),
    Variant("build_model", "cnn: default (Glorot) initialiser", cnn(init=None), message="kernel_initializer"),
    Variant("build_model", "cnn: he_uniform instead of he_normal", cnn(init="he_uniform"), message="kernel_initializer"),
    Variant("build_model", "cnn: tanh in the convolutions", cnn().replace("activation='relu', kernel", "activation='tanh', kernel"),
            message="卷积层的激活函数"),
    Variant("build_model", "cnn: dropout rates swapped", cnn(dropouts=(0.25, 0.2, 0.25)), message="Dropout 的比例"),
    Variant("build_model", "cnn: functional API, MaxPool2D alias", FUNCTIONAL, correct=True),
    Variant("build_model", "cnn: Sequential.add one layer at a time", ADD_STYLE, correct=True),
    # 2 summary questions
    Variant("summary_answers", "summary: pooling layers counted as convolutions",
            summary(count="sum(isinstance(l, (layers.Conv2D, layers.MaxPooling2D)) for l in network.layers)"),
            message="卷积层的个数不对"),
    Variant("summary_answers", "summary: largest output taken for most parameters",
            summary(largest="max(network.layers, key=lambda l: int(np.prod(l.output.shape[1:])))"),
            message="这不是参数最多的层"),
    Variant("summary_answers", "summary: layer name instead of the layer",
            summary(largest="max(network.layers, key=lambda l: l.count_params()).name")
            .replace("largest_layer.count_params()", "295040"),
            message="层对象本身"),
    Variant("summary_answers", "summary: the summary's numbers copied (count returns 3)",
            summary(count="3"), message="卷积层的个数不对"),
    Variant("summary_answers", "summary: hard-coded per network size",
            summary(count="2 if len(network.layers) < 6 else 3"),
            message="count_conv_layers 在另一个网络上数错了"),
    Variant("summary_answers", "summary: answers for model written by hand, no functions",
            "n_conv_layers = 3\nlargest_layer = model.layers[9]\nlargest_layer_params = 295040", error="NameError"),
    Variant("summary_answers", "summary: sorted and len()", correct=True,
            code=summary(count="len([l for l in network.layers if type(l).__name__ == 'Conv2D'])",
                         largest="sorted(network.layers, key=lambda l: l.count_params())[-1]")),
    # 3 parameter formula
    Variant("conv_formula", "formula: bias forgotten",
            "def conv2d_params(filters, kernel_size, in_channels):\n"
            "    return filters * kernel_size[0] * kernel_size[1] * in_channels\n"
            "first_conv = model.layers[0]\n"
            "first_conv_params = conv2d_params(first_conv.filters, first_conv.kernel_size, 1)",
            message="偏置有几个"),
    Variant("conv_formula", "formula: input channels ignored (right only for the first layer)",
            "def conv2d_params(filters, kernel_size, in_channels):\n"
            "    return filters * kernel_size[0] * kernel_size[1] + filters\n"
            "first_conv = model.layers[0]\n"
            "first_conv_params = conv2d_params(first_conv.filters, first_conv.kernel_size, model.input_shape[-1])",
            message="输入有多个通道时"),
    Variant("conv_formula", "formula: one bias per weight",
            "def conv2d_params(filters, kernel_size, in_channels):\n"
            "    return 2 * filters * kernel_size[0] * kernel_size[1] * in_channels\n"
            "first_conv_params = conv2d_params(32, (3, 3), 1)",
            message="偏置有几个"),
    Variant("conv_formula", "formula: (k*k*c + 1) * filters with np.prod", correct=True,
            code="def conv2d_params(filters, kernel_size, in_channels):\n"
                 "    return int((np.prod(kernel_size) * in_channels + 1) * filters)\n"
                 "conv = next(l for l in model.layers if isinstance(l, layers.Conv2D))\n"
                 "first_conv_params = conv2d_params(conv.filters, conv.kernel_size, model.input_shape[-1])"),
    # 4 flatten size
    Variant("flatten_size", "flatten: first pooling layer taken",
            flatten(index="0"), message="取的是最后一个池化层吗"),
    Variant("flatten_size", "flatten: shape with the batch axis",
            flatten(shape="tuple(pool(model).output.shape)"), message="不含批大小"),
    Variant("flatten_size", "flatten: 7x7 assumed (as if every convolution kept the size)",
            "last_pool_shape = (7, 7, 64)\ndef flatten_length(network):\n    return 7 * 7 * 64\n"
            "flatten_size = flatten_length(model)",
            message="与它的展平层不一致"),
    Variant("flatten_size", "flatten: the summary's 2304 copied",
            "last_pool_shape = (6, 6, 64)\ndef flatten_length(network):\n    return 2304\n"
            "flatten_size = flatten_length(model)",
            message="与它的展平层不一致"),
    Variant("flatten_size", "flatten: hard-coded for the two small networks it was tried on",
            "last_pool_shape = (6, 6, 64)\ndef flatten_length(network):\n    return 20 if len(network.layers) == 6 else 2304\n"
            "flatten_size = flatten_length(model)",
            message="flatten_length 在讲义 001 的网络上算错了"),
    Variant("flatten_size", "flatten: by name and math.prod", correct=True,
            code="import math\n"
                 "def flatten_length(network):\n"
                 "    pools = [l for l in network.layers if 'pool' in l.name]\n"
                 "    return math.prod(pools[-1].output.shape[1:])\n"
                 "last_pool_shape = tuple(int(d) for d in [l for l in model.layers if 'pool' in l.name][-1].output.shape[1:])\n"
                 "flatten_size = flatten_length(model)"),
    Variant("flatten_size", "flatten: read from the Flatten layer", correct=True,
            code="def flatten_length(network):\n"
                 "    return int(next(l for l in network.layers if isinstance(l, layers.Flatten)).output.shape[-1])\n"
                 "last_pool_shape = tuple(model.layers[6].output.shape[1:])\n"
                 "flatten_size = flatten_length(model)"),
    # 5 initialiser experiment
    Variant("init_experiment", "init: models built but never trained",
            "init_results = {name: models.digit_cnn(second_conv_initializer=name) for name in ['zeros', 'ones', 'he_normal']}",
            message="History 对象"),
    Variant("init_experiment", "init: initialiser never passed (all he_normal)",
            "init_results = {name: short_training(models.digit_cnn()) for name in ['zeros', 'ones', 'he_normal']}",
            message="全零初始化的网络验证准确率达到了"),
    Variant("init_experiment", "init: every convolution initialised the same way", correct=True,
            code="init_results = {}\n"
                 "for name in ('zeros', 'ones', 'he_normal'):\n"
                 "    init_results[name] = short_training(models.digit_cnn(conv_initializer=name))"),
    # 7 handout 001's network
    Variant("model_5x5", "5x5: valid padding", net_5x5(pad="valid"), message="展平后应有 1,764 个数"),
    Variant("model_5x5", "5x5: the handout's duplicated pooling layer",
            net_5x5(extra="\n    layers.MaxPooling2D((2, 2)),"), message="展平后应有 1,764 个数"),
    Variant("model_5x5", "5x5: 3x3 kernels", net_5x5(k=3), message="两个卷积层的参数是"),
    Variant("model_5x5", "5x5: Dropout 0.5 left out", net_5x5(drop=""), message="层的种类或顺序"),
    Variant("model_5x5", "5x5: the two Dropout rates swapped",
            net_5x5(drop="\n    layers.Dropout(0.25),").replace("layers.Dropout(0.25),\n    layers.Flatten()",
                                                           "layers.Dropout(0.5),\n    layers.Flatten()"),
            message="Dropout 的比例"),
    Variant("model_5x5", "5x5: tanh in the hidden dense layer",
            net_5x5().replace('Dense(128, activation="relu")', 'Dense(128, activation="tanh")'), message="激活函数不对"),
    Variant("model_5x5", "5x5: functional API with MaxPool2D", correct=True, code="""inp = keras.Input((28, 28, 1))
h = layers.MaxPool2D()(layers.Conv2D(16, 5, padding="same", activation="relu")(inp))
h = layers.MaxPool2D()(layers.Conv2D(36, 5, padding="same", activation="relu")(h))
h = layers.Flatten()(layers.Dropout(0.25)(h))
h = layers.Dropout(0.5)(layers.Dense(128, activation="relu")(h))
model_5x5 = keras.Model(inp, layers.Dense(10, activation="softmax")(h))"""),
]
