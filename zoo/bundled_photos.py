"""The photos bundled with installed packages: scikit-image's, scikit-learn's two sample photos,
matplotlib's ``grace_hopper.jpg`` and Debian's ``mate-backgrounds`` nature photos, and crops of them.

Whole photos are split into train / held-out by name (HELDOUT_PHOTOS), so no crop of a test
photo is ever trained on. Re-exported by `zoo.data`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from .data import IMAGE_SUFFIXES, MATE_NATURE_DIR, DatasetNotFoundError
from .splits import check_readable


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
# The bundled photos whose licence asks for credit (scikit-learn's datasets/images/README.txt). The others
# are public domain or CC0 (scikit-image's, matplotlib's grace_hopper.jpg) or GPL (mate-backgrounds, not
# among the permissively licensed sources).
BUNDLED_CREDITS = {
    "sklearn:china": (
        "CC-BY-2.0",
        "danielbuechele / https://www.flickr.com/photos/danielbuechele/6061409035",
    ),
    "sklearn:flower": ("CC-BY-2.0", "vultilion / https://www.flickr.com/photos/vultilion/6056698931"),
}
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
    """Natural photos of one split ('train' or 'test'; a user folder also 'validation'); a test split
    is refused under `zoo.splits.test_split_locked`.

    A user folder is split by content like the photo corpus (`zoo.photo_corpus.split_by_content`):
    byte-identical files count once; a tenth (at least one, from 2 photos) is test, a tenth (at least
    one, from 3 photos) validation. A split the folder is too small to have is an error."""
    if folder is not None:
        import hashlib

        from .photo_corpus import split_by_content, unique_by_content

        if split not in ("train", "validation", "test"):
            raise ValueError(f"split must be 'train', 'validation' or 'test', got {split!r}")
        check_readable(split, f"the photo folder {folder}")
        files = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in list_image_folder(folder)}
        splits = split_by_content(unique_by_content(files))
        chosen = [p for p, s in splits.items() if s == split]
        if not chosen:
            raise DatasetNotFoundError(
                f"{folder} holds {len(splits)} distinct photo(s): too few for a {split!r} split (test needs "
                f"2 photos, validation 3); add photos, or train on the folder without holding any out"
            )
        return {p: _load_rgb_file(Path(p)) for p in sorted(chosen)}
    if split not in ("train", "test"):
        raise ValueError(
            f"the bundled photos have 'train' and 'test' splits only, got {split!r}; the fetched photo "
            "corpus (`zoo.photo_corpus.load_photos`) has a validation split"
        )
    check_readable(split, "the bundled photos")
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
