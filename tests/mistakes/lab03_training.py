from labkit import Variant

SGD = "keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)"
LOSSES = '["categorical_crossentropy", "binary_crossentropy", "mean_squared_error", "mean_absolute_error"]'


def compile_fn(loss='"categorical_crossentropy"', optimizer="optimizer", metrics='["accuracy"]', used_loss="loss",
               ret="network"):
    return (f"def compile_model(network, optimizer, loss={loss}):\n"
            f"    network.compile(optimizer={optimizer}, loss={used_loss}, metrics={metrics})\n"
            f"    return {ret}")


def optimizer_dict(sgd=SGD, rms="keras.optimizers.RMSprop(learning_rate=0.001)",
                   adam="keras.optimizers.Adam(learning_rate=0.001)", keys=("SGD", "RMSprop", "Adam")):
    return (f"optimizers = {{\n    {keys[0]!r}: {sgd},\n    {keys[1]!r}: {rms},\n    {keys[2]!r}: {adam},\n}}")


def callback(**kw):
    args = dict(monitor='"val_accuracy"', patience="1", factor="0.5", min_lr="1e-5", verbose="1")
    args.update(kw)
    return "reduce_lr = keras.callbacks.ReduceLROnPlateau(" + ", ".join(f"{k}={v}" for k, v in args.items()) + ")"


def best(expression, head=""):
    return (f"{head}def best_by_val_accuracy(histories):\n    return {expression}\n"
            "best_optimizer = best_by_val_accuracy(opt_histories)")


def steps_fn(steps="math.ceil(n_samples / batch_size)", total="epochs * steps_per_epoch(n_samples, batch_size)",
             updates="total_updates(len(x_train), BATCH_SIZE, EPOCHS)"):
    return ("import math\n"
            f"def steps_per_epoch(n_samples, batch_size):\n    return {steps}\n"
            f"def total_updates(n_samples, batch_size, epochs):\n    return {total}\n"
            f"opt_updates = {updates}")


DROPOUT_RUN = ("run_experiment(keras.optimizers.Adam(learning_rate=0.001), build={build}, epochs={epochs},\n"
               "                   batch_size={batch}, x=x_train[:DROPOUT_IMAGES], y=y_train[:DROPOUT_IMAGES])")


def ablation(on="models.digit_cnn", off="lambda: models.digit_cnn(dropout=False)", off_epochs="DROPOUT_EPOCHS",
             off_batch="DROPOUT_BATCH", head=""):
    run_on = DROPOUT_RUN.format(build=on, epochs="DROPOUT_EPOCHS", batch="DROPOUT_BATCH")
    run_off = DROPOUT_RUN.format(build=off, epochs=off_epochs, batch=off_batch)
    return f"{head}dropout_histories = {{\n    'dropout': {run_on},\n    'no dropout': {run_off},\n}}"


# the course's network without its Dropout layers, written out by a student
NO_DROPOUT_LAYERS = """def my_cnn():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu", kernel_initializer="he_normal"),
        layers.Conv2D(32, (3, 3), activation="relu", kernel_initializer="he_normal"),
        layers.MaxPooling2D((2, 2), strides=2),
        layers.Conv2D(64, (3, 3), padding="same", activation="relu", kernel_initializer="he_normal"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.BatchNormalization(),
        layers.Dense(10, activation="softmax"),
    ])
"""


VARIANTS = [
    # 1 compile function
    Variant("compile_model", "compile: binary cross-entropy for ten one-hot classes",
            compile_fn(loss='"binary_crossentropy"'), message="默认的损失函数是 binary_crossentropy"),
    Variant("compile_model", "compile: forgot to return the network", compile_fn(ret="None"),
            message="别忘了 return"),
    Variant("compile_model", "compile: optimizer argument ignored", compile_fn(optimizer='"rmsprop"'),
            message="使用传入的 optimizer"),
    Variant("compile_model", "compile: loss argument ignored", compile_fn(used_loss='"categorical_crossentropy"'),
            message="使用传入的 loss"),
    Variant("compile_model", "compile: metric named acc", compile_fn(metrics='["acc"]'),
            message="评价指标请用"),
    Variant("compile_model", "compile: loss and metric objects", correct=True,
            code=compile_fn(loss="keras.losses.CategoricalCrossentropy()",
                            metrics='[keras.metrics.CategoricalAccuracy(name="accuracy")]')),
    Variant("compile_model", "compile: positional arguments", correct=True,
            code="def compile_model(network, optimizer, loss='categorical_crossentropy'):\n"
                 "    network.compile(optimizer, loss, metrics=['accuracy'])\n"
                 "    return network"),
    # 2 the three optimisers
    Variant("optimizers", "optimizers: Keras 2 lr= argument",
            optimizer_dict(sgd="keras.optimizers.SGD(lr=0.01, momentum=0.9)"), error="ValueError",
            message="lr"),
    Variant("optimizers", "optimizers: SGD without momentum",
            optimizer_dict(sgd="keras.optimizers.SGD(learning_rate=0.01)"), message="动量"),
    Variant("optimizers", "optimizers: SGD with momentum 0.5",
            optimizer_dict(sgd="keras.optimizers.SGD(learning_rate=0.01, momentum=0.5)"), message="动量大小与说明不一致"),
    Variant("optimizers", "optimizers: Adam with the handout's RMSprop rate 0.01",
            optimizer_dict(adam="keras.optimizers.Adam(learning_rate=0.01)"), message="学习率是"),
    Variant("optimizers", "optimizers: lower-case keys", optimizer_dict(keys=("sgd", "rmsprop", "adam")),
            message="应为 SGD、RMSprop、Adam"),
    Variant("optimizers", "optimizers: one object under two names",
            "adam = keras.optimizers.Adam(learning_rate=0.001)\n"
            "optimizers = {'SGD': keras.optimizers.SGD(learning_rate=0.01, momentum=0.9), 'RMSprop': adam, 'Adam': adam}",
            message="不是 RMSprop 优化器"),
    Variant("optimizers", "optimizers: positional rates, Nesterov momentum", correct=True,
            code=optimizer_dict(sgd="keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)",
                                rms="keras.optimizers.RMSprop(1e-3)", adam="keras.optimizers.get('adam')")),
    # 4 best optimiser
    Variant("best_optimizer", "best: min instead of max",
            best("min(histories, key=lambda k: histories[k].history['val_accuracy'][-1])"),
            message="按最后一个周期的验证准确率选最高的那个"),
    Variant("best_optimizer", "best: the History instead of its name",
            best("max(histories.values(), key=lambda h: h.history['val_accuracy'][-1])"),
            message="名字（字符串）"),
    Variant("best_optimizer", "best: first epoch's accuracy",
            best("max(histories, key=lambda k: histories[k].history['val_accuracy'][0])"),
            message="按最后一个周期的验证准确率选最高的那个"),
    Variant("best_optimizer", "best: best epoch instead of the last one",
            best("max(histories, key=lambda k: max(histories[k].history['val_accuracy']))"),
            message="在另一组训练记录上选错了"),
    Variant("best_optimizer", "best: the printed winner hard-coded",
            best("'Adam'"), message="按最后一个周期的验证准确率选最高的那个"),
    Variant("best_optimizer", "best: no function, a name typed in",
            "best_optimizer = 'Adam'", error="NameError"),
    Variant("best_optimizer", "best: pandas idxmax", correct=True,
            code=best("pd.Series({k: h.history['val_accuracy'][-1] for k, h in histories.items()}).idxmax()",
                      head="import pandas as pd\n")),
    Variant("best_optimizer", "best: sorted items", correct=True,
            code=best("sorted(histories.items(), key=lambda kv: kv[1].history['val_accuracy'][-1])[-1][0]")),
    # 5 steps per epoch and updates
    Variant("batch_steps", "steps: floor division drops the last, smaller batch", steps_fn(steps="n_samples // batch_size"),
            message="单独成一批"),
    Variant("batch_steps", "steps: round() instead of rounding up", steps_fn(steps="round(n_samples / batch_size)"),
            message="单独成一批"),
    Variant("batch_steps", "steps: one more batch even when it divides evenly",
            steps_fn(steps="n_samples // batch_size + 1"), message="这时不会多出一批"),
    Variant("batch_steps", "updates: epochs x images instead of epochs x steps", steps_fn(total="epochs * n_samples"),
            message="total_updates(3780, 40, 20) 给出"),
    Variant("batch_steps", "updates: epochs x n / batch without rounding up",
            steps_fn(total="epochs * n_samples / batch_size"), message="total_updates(3780, 40, 20) 给出"),
    Variant("batch_steps", "updates: the handout's batch size and epochs for this lab's runs",
            steps_fn(updates="total_updates(len(x_train), 40, 20)"), message="Adam 实际更新了"),
    Variant("batch_steps", "updates: the printed count typed in, functions right for the handout only",
            steps_fn(steps="95 if n_samples == 3780 else 60", total="1900", updates="120"),
            message="Keras 在优化器比较里每个周期走了"),
    Variant("batch_steps", "steps: negative floor division", correct=True,
            code=steps_fn(steps="-(-n_samples // batch_size)")),
    Variant("batch_steps", "steps: numpy ceil, updates without the helper", correct=True,
            code=steps_fn(steps="int(np.ceil(n_samples / batch_size))",
                          total="epochs * int(np.ceil(n_samples / batch_size))")),
    Variant("batch_steps", "steps: length of the batch start indices", correct=True,
            code=steps_fn(steps="len(range(0, n_samples, batch_size))")),
    # 5 loss comparison
    Variant("loss_histories", "losses: one optimizer object reused for every run",
            f"opt = {SGD}\nloss_histories = {{}}\n"
            f"for loss in {LOSSES}:\n"
            "    loss_histories[loss] = run_experiment(opt, loss=loss, epochs=LOSS_EPOCHS, x=x_small, y=y_small)",
            error="ValueError", message="new optimizer instance"),
    Variant("loss_histories", "losses: dict comprehension", correct=True,
            code=f"loss_histories = {{loss: run_experiment({SGD}, loss, epochs=LOSS_EPOCHS, x=x_small, y=y_small)\n"
                 f"                  for loss in {LOSSES}}}"),
    # 7 ReduceLROnPlateau
    Variant("reduce_lr", "plateau: the handouts' val_acc", callback(monitor='"val_acc"'), message="val_acc"),
    Variant("reduce_lr", "plateau: monitors the validation loss", callback(monitor='"val_loss"'),
            message="题目要求监控验证集上的准确率"),
    Variant("reduce_lr", "plateau: factor 0.1 (the Keras default)", callback(factor="0.1"), message="factor"),
    Variant("reduce_lr", "plateau: the handouts' patience of 3 in a short run", callback(patience="3"),
            message="patience"),
    Variant("reduce_lr", "plateau: min mode", callback(mode='"min"'), message="mode"),
    Variant("reduce_lr", "plateau: explicit max mode, quiet", correct=True,
            code=callback(mode='"max"', verbose="0")),
    Variant("reduce_lr", "plateau: positional monitor, min_lr as 0.00001", correct=True,
            code="reduce_lr = keras.callbacks.ReduceLROnPlateau('val_accuracy', factor=0.5, patience=1, min_lr=0.00001)"),
    # 10 Dropout on / off
    Variant("dropout_ablation", "dropout: both runs keep the handout's Dropout",
            ablation(off="models.digit_cnn"), message="还有起作用的 Dropout"),
    Variant("dropout_ablation", "dropout: one run stored under both names",
            "_run = " + DROPOUT_RUN.format(build="models.digit_cnn", epochs="DROPOUT_EPOCHS", batch="DROPOUT_BATCH")
            + "\ndropout_histories = {'dropout': _run, 'no dropout': _run}", message="两个新建的网络"),
    Variant("dropout_ablation", "dropout: a built network passed as build=",
            ablation(off="models.digit_cnn(dropout=False)"), error="TypeError"),
    Variant("dropout_ablation", "dropout: the second run keeps the default EPOCHS",
            ablation(off_epochs="EPOCHS"), message="两次训练的周期数是"),
    Variant("dropout_ablation", "dropout: the second run with the default batch size",
            ablation(off_batch="BATCH_SIZE"), message="每个周期的步数不同"),
    Variant("dropout_ablation", "dropout: a def and a loop", correct=True,
            code="def no_dropout():\n    return models.digit_cnn(dropout=False)\n"
                 "dropout_histories = {}\n"
                 "for name, build in [('dropout', models.digit_cnn), ('no dropout', no_dropout)]:\n"
                 "    dropout_histories[name] = " + DROPOUT_RUN.format(build="build", epochs="DROPOUT_EPOCHS",
                                                                        batch="DROPOUT_BATCH")),
    Variant("dropout_ablation", "dropout: the network written out without Dropout layers", correct=True,
            code=ablation(off="my_cnn", head=NO_DROPOUT_LAYERS)),
    # 9 your own run
    Variant("my_run", "my run: the Adam baseline handed in again",
            "my_change = 'Adam'\nmy_run = opt_histories['Adam']", message="完全一样"),
    Variant("my_run", "my run: no description",
            "my_change = ''\nmy_run = opt_histories['Adam']", message="my_change"),
    Variant("my_run", "my run: a learning-rate callback on the Adam run", correct=True,
            code="my_change = '给 Adam 的训练加上 ReduceLROnPlateau'\n"
                 "my_run = run_experiment(keras.optimizers.Adam(learning_rate=0.001), callbacks=[\n"
                 "    keras.callbacks.ReduceLROnPlateau(monitor='val_accuracy', patience=1, factor=0.5, min_lr=1e-5)])"),
]
