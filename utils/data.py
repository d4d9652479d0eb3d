"""Data for the labs: the shipped subsets, lab 1's pipeline, and the full datasets.

The course ships four small CSV files (``data/``, Kaggle "Digit Recognizer" layout:
``label`` then ``pixel0`` ... ``pixel783``, integers 0-255), so every lab runs offline:

=====================  ======  =========================================
file                   rows    content
=====================  ======  =========================================
``MNIST_TRAIN``        4,200   MNIST digits, 420 per digit
``MNIST_TEST``           800   MNIST digits, 80 per digit, held out
``FASHION_TRAIN``      6,000   Fashion-MNIST, 600 per class
``FASHION_TEST``       1,000   Fashion-MNIST, 100 per class, held out
=====================  ======  =========================================

:func:`prepare` runs lab 1's pipeline (load, normalise, reshape, one-hot, 9:1 split
with ``random_state=2``) so that every later lab starts from the same arrays.
:func:`load_mnist_full` and :func:`load_fashion_full` give the full datasets to those
who have them, and explain what to install or download when they are not there.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import settings

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
MNIST_TRAIN = DATA_DIR / "mnist_train.csv.gz"
MNIST_TEST = DATA_DIR / "mnist_test.csv.gz"
FASHION_TRAIN = DATA_DIR / "fashion_train.csv.gz"
FASHION_TEST = DATA_DIR / "fashion_test.csv.gz"

#: Where Debian's ``dataset-fashion-mnist`` package puts the original IDX files.
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)
#: Default folder for Kaggle's Digit Recognizer ``train.csv`` / ``test.csv``.
KAGGLE_DIR = DATA_DIR / "kaggle"
KAGGLE_ENV = "CNN_COURSE_KAGGLE_DIR"
#: Share of Kaggle's 42,000 labelled images held out as the test set by ``prepare(labelled_test=True)``.
KAGGLE_TEST_SIZE = 1 / 7

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)
MNIST_CLASSES = [str(i) for i in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
FASHION_CLASSES_ZH = ["T恤/上衣", "裤子", "套头衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴"]

PIXEL_COLUMNS = [f"pixel{i}" for i in range(784)]


class DatasetUnavailableError(RuntimeError):
    """A dataset is neither on disk nor downloadable; the message says what to do."""


class CSVFormatError(ValueError):
    """A CSV file is not in the Digit Recognizer layout; the message names the file."""


class Prepared(NamedTuple):
    """The arrays every lab starts from (see :func:`prepare`)."""

    x_train: np.ndarray  #: (n_train, 28, 28, 1) float32 in [0, 1]
    y_train: np.ndarray  #: (n_train, 10) one-hot float32
    x_val: np.ndarray    #: (n_val, 28, 28, 1)
    y_val: np.ndarray    #: (n_val, 10)
    x_test: np.ndarray   #: (n_test, 28, 28, 1), held out, never used for training
    y_test: np.ndarray   #: (n_test, 10); empty (0, 10) when the labels are unknown (Kaggle test.csv)


# --------------------------------------------------------------------------- CSV files

def read_digits_csv(path: str | os.PathLike, *, require_label: bool = True) -> tuple[pd.DataFrame, pd.Series | None]:
    """Read a Digit Recognizer CSV file and return ``(pixels, labels)``.

    ``labels`` is ``None`` for a file without a ``label`` column (Kaggle's ``test.csv``)
    when ``require_label`` is false. Raises :class:`CSVFormatError`, naming the file,
    when the columns or values are not what the format says.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: 文件不存在 / file not found")
    try:
        frame = pd.read_csv(path)
    except Exception as exc:  # pandas raises many kinds of parser errors
        raise CSVFormatError(f"{path}: 无法读取 CSV / cannot be read as CSV ({exc})") from None
    has_label = "label" in frame.columns
    if require_label and not has_label:
        raise CSVFormatError(f"{path}: 缺少 label 列 / no 'label' column")
    missing = [c for c in PIXEL_COLUMNS if c not in frame.columns]
    if missing:
        raise CSVFormatError(
            f"{path}: 缺少像素列 / missing pixel columns ({len(missing)}, e.g. {missing[0]})"
        )
    pixels = frame[PIXEL_COLUMNS]
    if pixels.isnull().any().any():
        raise CSVFormatError(f"{path}: 像素中有缺失值 / missing pixel values")
    if pixels.to_numpy().min() < 0 or pixels.to_numpy().max() > 255:
        raise CSVFormatError(f"{path}: 像素值应在 0–255 之间 / pixel values outside 0..255")
    labels = frame["label"] if has_label else None
    if labels is not None and not labels.between(0, 9).all():
        raise CSVFormatError(f"{path}: 标签应为 0–9 / labels outside 0..9")
    return pixels, labels


def to_images(pixels) -> np.ndarray:
    """Normalise grey levels 0-255 to [0, 1] and reshape to (n, 28, 28, 1), float32."""
    array = np.asarray(pixels, dtype=np.float32)
    return (array / 255.0).reshape(-1, *IMAGE_SHAPE)


def one_hot(labels, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """One-hot encode integer labels (same result as ``keras.utils.to_categorical``)."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    return np.eye(num_classes, dtype=np.float32)[labels]


def prepare(dataset: str = "mnist", *, full: bool | None = None, val_size: float = 0.1,
            random_state: int = 2, labelled_test: bool = False) -> Prepared:
    """Lab 1's whole pipeline: load → normalise → reshape → one-hot → 9:1 split.

    ``dataset`` is ``"mnist"`` or ``"fashion"``. With ``full=False`` (the default unless
    ``CNN_COURSE_FULL=1``) the shipped subsets are used: 3,780 / 420 / 800 images for
    MNIST. With ``full=True`` the full dataset is loaded with :func:`load_mnist_full` or
    :func:`load_fashion_full`. The split is ``train_test_split(test_size=0.1,
    random_state=2)``, exactly as lab 1 does it.

    Full MNIST comes from Kaggle's ``train.csv`` (42,000 labelled images; its ``test.csv``
    has 28,000 images without labels) when those files are present, otherwise from
    ``keras.datasets.mnist`` (60,000 training and 10,000 test images, all labelled).
    With Kaggle's files the test set is unlabelled (``y_test`` is empty), which is what a
    Kaggle submission needs; ``labelled_test=True`` asks for a labelled test set instead:
    then :data:`KAGGLE_TEST_SIZE` of Kaggle's labelled images are held out as the test set
    (before the validation split) and ``test.csv`` is not used.
    """
    from sklearn.model_selection import train_test_split

    if full is None:
        full = settings.full_data()
    if dataset not in {"mnist", "fashion"}:
        raise ValueError(f"dataset must be 'mnist' or 'fashion', not {dataset!r}")
    if full:
        loader = load_mnist_full if dataset == "mnist" else load_fashion_full
        (x_raw, y_raw), (x_test_raw, y_test_raw) = loader()
        if labelled_test and y_test_raw is None:
            x_raw, x_test_raw, y_raw, y_test_raw = train_test_split(
                x_raw, y_raw, test_size=KAGGLE_TEST_SIZE, random_state=random_state, stratify=y_raw)
        x_all = to_images(x_raw)
        y_all = one_hot(y_raw)
        x_test = to_images(x_test_raw)
        y_test = one_hot(y_test_raw) if y_test_raw is not None else np.zeros((0, NUM_CLASSES), np.float32)
    else:
        train_file, test_file = (MNIST_TRAIN, MNIST_TEST) if dataset == "mnist" else (FASHION_TRAIN, FASHION_TEST)
        pixels, labels = read_digits_csv(train_file)
        test_pixels, test_labels = read_digits_csv(test_file)
        x_all, y_all = to_images(pixels), one_hot(labels)
        x_test, y_test = to_images(test_pixels), one_hot(test_labels)
    x_train, x_val, y_train, y_val = train_test_split(
        x_all, y_all, test_size=val_size, random_state=random_state)
    return Prepared(x_train, y_train, x_val, y_val, x_test, y_test)


# --------------------------------------------------------------------------- full datasets

def _unavailable(name: str, what_to_do_zh: str, what_to_do_en: str) -> DatasetUnavailableError:
    return DatasetUnavailableError(
        f"无法获得完整的 {name} 数据集：{what_to_do_zh}\n"
        f"The full {name} dataset is not available: {what_to_do_en}"
    )


def load_kaggle_digits(directory: str | os.PathLike | None = None):
    """Load Kaggle's Digit Recognizer ``train.csv`` (42,000 labelled) and ``test.csv`` (28,000).

    Returns ``(x_train, y_train), (x_test, None)`` with uint8 images of shape (n, 28, 28):
    Kaggle's test file has no labels.
    """
    directory = Path(directory or os.environ.get(KAGGLE_ENV) or KAGGLE_DIR)
    train, test = directory / "train.csv", directory / "test.csv"
    if not train.exists():
        raise _unavailable(
            "MNIST (Kaggle)",
            f"在 {directory} 中找不到 train.csv。请从 Kaggle 的 Digit Recognizer 比赛下载 train.csv 和 test.csv 放到该目录，"
            f"或设置环境变量 {KAGGLE_ENV}。",
            f"no train.csv in {directory}. Download train.csv and test.csv from Kaggle's Digit Recognizer "
            f"competition into that folder, or set {KAGGLE_ENV}.",
        )
    pixels, labels = read_digits_csv(train)
    x_train = pixels.to_numpy(dtype=np.uint8).reshape(-1, 28, 28)
    y_train = labels.to_numpy(dtype=np.uint8)
    if test.exists():
        test_pixels, _ = read_digits_csv(test, require_label=False)
        x_test = test_pixels.to_numpy(dtype=np.uint8).reshape(-1, 28, 28)
    else:
        x_test = np.zeros((0, 28, 28), np.uint8)
    return (x_train, y_train), (x_test, None)


def load_mnist_full(kaggle_dir: str | os.PathLike | None = None):
    """The full MNIST: Kaggle's files when present, otherwise ``keras.datasets.mnist`` (needs internet).

    Returns ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays; ``y_test`` is ``None``
    for Kaggle's unlabelled test file.
    """
    directory = Path(kaggle_dir or os.environ.get(KAGGLE_ENV) or KAGGLE_DIR)
    if (directory / "train.csv").exists():
        return load_kaggle_digits(directory)
    try:
        import keras

        return keras.datasets.mnist.load_data()
    except Exception as exc:  # download failure: no network, proxy, ...
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        raise _unavailable(
            "MNIST",
            "keras.datasets.mnist 需要联网下载，但下载失败"
            f"（{reason}）。请联网后重试，或从 Kaggle 的 Digit Recognizer 比赛下载 train.csv / test.csv 放到 "
            f"{directory}（或设置环境变量 {KAGGLE_ENV}）。",
            f"keras.datasets.mnist needs the internet and the download failed ({reason}). "
            f"Connect and retry, or put Kaggle's Digit Recognizer train.csv / test.csv in {directory} "
            f"(or set {KAGGLE_ENV}).",
        ) from None


def _keras_cache_dir(subdir: str) -> Path:
    """The folder where ``keras.utils.get_file`` looks for ``subdir`` (same rule as Keras)."""
    try:  # importing Keras creates its home folder when it can
        from keras.src.backend.config import keras_home

        base = Path(keras_home()).expanduser()
    except ImportError:  # pragma: no cover - private location moved
        base = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    if not os.access(base, os.W_OK):
        base = Path("/tmp") / ".keras"
    return base / "datasets" / subdir


def _stage_debian_fashion(source: Path = DEBIAN_FASHION_DIR) -> bool:
    """Link Debian's Fashion-MNIST files into Keras' cache so that no download happens."""
    if not all((source / name).exists() for name in FASHION_FILES):
        return False
    cache = _keras_cache_dir("fashion-mnist")
    cache.mkdir(parents=True, exist_ok=True)
    for name in FASHION_FILES:
        target = cache / name
        if not target.exists():
            try:
                target.symlink_to(source / name)
            except OSError:
                shutil.copyfile(source / name, target)
    return True


def load_fashion_full(debian_dir: str | os.PathLike = DEBIAN_FASHION_DIR):
    """The full Fashion-MNIST (60,000 / 10,000) through ``keras.datasets.fashion_mnist``.

    When Debian's ``dataset-fashion-mnist`` package is installed its files are placed in
    Keras' cache first, so nothing is downloaded. Returns uint8 arrays
    ``(x_train, y_train), (x_test, y_test)``.
    """
    staged = _stage_debian_fashion(Path(debian_dir))
    try:
        import keras

        return keras.datasets.fashion_mnist.load_data()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        hint_zh = "" if staged else "Debian/Ubuntu 上可执行 `sudo apt-get install dataset-fashion-mnist`，"
        hint_en = "" if staged else "On Debian/Ubuntu run `sudo apt-get install dataset-fashion-mnist`, "
        raise _unavailable(
            "Fashion-MNIST",
            f"本地没有数据文件且下载失败（{reason}）。{hint_zh}或联网后重试。",
            f"no local files and the download failed ({reason}). {hint_en}or connect and retry.",
        ) from None
