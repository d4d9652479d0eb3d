"""The shipped data: checksums, regeneration, layout, and the utils.data loaders."""
import hashlib
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from utils import data

FILES = ["mnist_train.csv.gz", "mnist_test.csv.gz", "fashion_train.csv.gz", "fashion_test.csv.gz"]


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def readme_sums():
    text = (ROOT / "data" / "README.md").read_text()
    return dict(re.findall(r"\|\s*`([\w.]+\.csv\.gz)`\s*\|\s*`([0-9a-f]{64})`\s*\|", text))


def test_files_match_published_checksums():
    listed = dict(reversed(line.split()) for line in (ROOT / "data" / "SHA256SUMS").read_text().splitlines())
    assert sorted(listed) == sorted(FILES)
    assert readme_sums() == listed, "data/README.md and data/SHA256SUMS disagree"
    for name in FILES:
        assert sha256(ROOT / "data" / name) == listed[name], f"{name} differs from its published SHA-256"


def test_files_are_small():
    for name in FILES:
        assert (ROOT / "data" / name).stat().st_size < 5 * 2**20


def test_regeneration_is_byte_for_byte(tmp_path):
    if not (data.DEBIAN_FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (make install adds it as root)")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_data.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for name in FILES:
        assert sha256(tmp_path / name) == sha256(ROOT / "data" / name), name


@pytest.mark.parametrize("name,rows,per_class", [
    ("mnist_train.csv.gz", 4200, 420), ("mnist_test.csv.gz", 800, 80),
    ("fashion_train.csv.gz", 6000, 600), ("fashion_test.csv.gz", 1000, 100)])
def test_layout_and_class_counts(name, rows, per_class):
    frame = pd.read_csv(ROOT / "data" / name)
    assert list(frame.columns) == ["label"] + [f"pixel{i}" for i in range(784)]
    assert len(frame) == rows
    assert frame["label"].value_counts().sort_index().tolist() == [per_class] * 10
    pixels = frame.drop(columns="label").to_numpy()
    assert pixels.dtype.kind == "i" and pixels.min() == 0 and pixels.max() == 255


def test_mnist_train_and_test_do_not_overlap():
    train = pd.read_csv(data.MNIST_TRAIN).drop(columns="label").to_numpy()
    test = pd.read_csv(data.MNIST_TEST).drop(columns="label").to_numpy()
    train_rows = {row.tobytes() for row in train}
    assert not any(row.tobytes() in train_rows for row in test)


def test_prepare_reproduces_lab1():
    p = data.prepare()
    assert p.x_train.shape == (3780, 28, 28, 1) and p.y_train.shape == (3780, 10)
    assert p.x_val.shape == (420, 28, 28, 1) and p.y_val.shape == (420, 10)
    assert p.x_test.shape == (800, 28, 28, 1) and p.y_test.shape == (800, 10)
    assert p.x_train.dtype == np.float32 and 0 <= p.x_train.min() and p.x_train.max() == 1.0
    # the same arrays as lab 1's steps written out by hand
    from sklearn.model_selection import train_test_split
    import keras
    frame = pd.read_csv(data.MNIST_TRAIN)
    x = (frame.drop(columns="label").to_numpy() / 255.0).reshape(-1, 28, 28, 1)
    y = keras.utils.to_categorical(frame["label"], num_classes=10)
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=0.1, random_state=2)
    np.testing.assert_allclose(p.x_train, x_tr, atol=1e-7)
    np.testing.assert_array_equal(p.y_val, y_val)
    # another seed gives another split
    assert not np.array_equal(data.prepare(random_state=3).y_val, p.y_val)


def test_prepare_fashion():
    p = data.prepare("fashion")
    assert p.x_train.shape == (5400, 28, 28, 1) and p.x_test.shape == (1000, 28, 28, 1)
    assert len(data.FASHION_CLASSES) == 10 == len(data.FASHION_CLASSES_ZH)
    with pytest.raises(ValueError, match="mnist"):
        data.prepare("cifar")


def test_bad_csv_is_named(tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text("label,pixel0\n1,0\n")
    with pytest.raises(data.CSVFormatError, match="broken.csv.*pixel"):
        data.read_digits_csv(bad)
    bad.write_text("a,b\n")
    with pytest.raises(data.CSVFormatError, match="label"):
        data.read_digits_csv(bad)
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        data.read_digits_csv(tmp_path / "nothere.csv")


def _write_kaggle(folder, n=30, with_test=True):
    rng = np.random.default_rng(0)
    cols = [f"pixel{i}" for i in range(784)]
    train = pd.DataFrame(rng.integers(0, 256, (n, 784)), columns=cols)
    train.insert(0, "label", np.arange(n) % 10)
    train.to_csv(folder / "train.csv", index=False)
    if with_test:
        pd.DataFrame(rng.integers(0, 256, (7, 784)), columns=cols).to_csv(folder / "test.csv", index=False)
    return train


def test_kaggle_loader_and_full_prepare(tmp_path, monkeypatch):
    train = _write_kaggle(tmp_path)
    (x, y), (xt, yt) = data.load_kaggle_digits(tmp_path)
    assert x.shape == (30, 28, 28) and x.dtype == np.uint8 and xt.shape == (7, 28, 28) and yt is None
    assert (y == train["label"].to_numpy()).all()
    monkeypatch.setenv(data.KAGGLE_ENV, str(tmp_path))
    p = data.prepare(full=True)
    assert p.x_train.shape == (27, 28, 28, 1) and p.x_val.shape == (3, 28, 28, 1)
    assert p.x_test.shape == (7, 28, 28, 1) and p.y_test.shape == (0, 10)


def test_full_prepare_with_kaggle_files_can_hold_out_a_labelled_test_set(tmp_path, monkeypatch):
    """Lab 4 needs labels on its test set: Kaggle's labelled train.csv is split, test.csv is unused."""
    train = _write_kaggle(tmp_path, n=70)
    monkeypatch.setenv(data.KAGGLE_ENV, str(tmp_path))
    p = data.prepare(full=True, labelled_test=True)
    assert p.x_test.shape == (10, 28, 28, 1) and p.y_test.shape == (10, 10)
    assert len(p.x_train) + len(p.x_val) == 60
    # the held-out images are Kaggle's labelled ones, with their own labels, one per digit (stratified)
    rows = {tuple(train.iloc[i, 1:].to_numpy(dtype=int)): int(train.iloc[i, 0]) for i in range(70)}
    for image, label in zip(p.x_test, p.y_test):
        assert rows[tuple(np.rint(image.reshape(-1) * 255).astype(int))] == int(np.argmax(label))
    assert sorted(np.argmax(p.y_test, axis=1)) == list(range(10))


def test_missing_mnist_gives_a_bilingual_message(tmp_path, monkeypatch):
    import keras

    def offline():
        raise Exception("URL fetch failure on https://example.invalid/mnist.npz: None -- [Errno -2]")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(data.DatasetUnavailableError) as info:
        data.load_mnist_full(kaggle_dir=tmp_path)
    message = str(info.value)
    assert "无法获得完整的 MNIST" in message and "not available" in message
    assert "train.csv" in message and str(tmp_path) in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_missing_fashion_gives_a_bilingual_message(tmp_path, monkeypatch):
    import keras

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data",
                        lambda: (_ for _ in ()).throw(Exception("URL fetch failure")))
    with pytest.raises(data.DatasetUnavailableError, match="apt-get install dataset-fashion-mnist"):
        data.load_fashion_full(debian_dir=tmp_path)


def test_full_fashion_from_debian_files(monkeypatch):
    if not (data.DEBIAN_FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (make install adds it as root)")
    from keras.src.utils import file_utils

    def no_download(*args, **kwargs):
        raise AssertionError("load_fashion_full tried to download")

    monkeypatch.setattr(file_utils, "urlretrieve", no_download)
    (x, y), (xt, yt) = data.load_fashion_full()
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert np.bincount(yt).tolist() == [1000] * 10
    assert (data._keras_cache_dir("fashion-mnist") / "t10k-images-idx3-ubyte.gz").exists()
