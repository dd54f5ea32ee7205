"""Turning whatever a user hands us into a float32 [0,1] image, or a clear ValueError.

Accepted everywhere: PIL images, numpy arrays and file paths (str or Path).

Rules (documented in the README; nothing is silently guessed):
* numpy shapes: HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA). A channel-first array
  (1/3/4 x H x W) is refused with the transpose to apply.
* numpy dtypes: bool (True = 1); uint8 (/255); uint16 (/65535); float16/32/64
  must be finite and within [0,1]; other integer types are accepted only when
  every value lies in 0..255 (read as 8-bit).
* PIL modes: 1/L/I;16/I/F become grey, LA/RGBA/PA and palettes with transparency
  become RGBA, everything else (RGB, P, CMYK, YCbCr, HSV, LAB) becomes RGB.
* Size: at most MAX_PIXELS pixels, at least 1x1. Files are decoded by `zoo.decode`, the one bounded
  decoder (memory, time and format limits that hold whatever the file claims).
* Grey from colour: ITU-R 601 luma (PIL's "L": 0.299 R + 0.587 G + 0.114 B).
* Alpha: composited onto a background the task names (black for the digit and
  garment tasks, whose datasets have black backgrounds; white for photos).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from .decode import FORMATS, MAX_PIXELS, Decoded, decode

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's bomb check (PIL images users open) at the project's bound
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_GREY_MODES = {"1", "L", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


def _check_size(h: int, w: int, what: str) -> None:
    if h <= 0 or w <= 0:
        raise ValueError(f"{what} is empty ({h}x{w}); expected an image of at least 1x1 pixels")
    if h * w > MAX_PIXELS:
        raise ValueError(
            f"{what} is {w}x{h} = {h * w:,} pixels, more than the limit of {MAX_PIXELS:,} "
            f"(e.g. 4096x4096); downscale it first"
        )


def _scaled(img: Image.Image, peak: float) -> np.ndarray:
    """PIL pixels as float32 / peak, divided in place: one float32 copy of the image, not two."""
    out = np.array(img, dtype=np.float32)
    out /= peak
    return out


def _from_pil(img: Image.Image) -> np.ndarray:
    _check_size(img.height, img.width, f"PIL image (mode {img.mode})")
    img = ImageOps.exif_transpose(img)  # phone photos: honour the orientation tag
    mode = img.mode
    if mode in _GREY_MODES:
        if mode == "1":
            return np.asarray(img, dtype=np.float32)
        if mode == "L":
            return _scaled(img, 255.0)
        if mode.startswith("I;16"):
            return _scaled(img, 65535.0)
        return _from_numpy(np.asarray(img), f"PIL image (mode {mode})")  # "I", "F": the numpy rules
    if mode in ("LA", "RGBA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in img.info):
        return _scaled(img.convert("RGBA"), 255.0)
    return _scaled(img.convert("RGB"), 255.0)


def _check_shape(arr: np.ndarray) -> None:
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"got a channel-first array of shape {arr.shape}; expected HxWxC. " f"Use arr.transpose(1, 2, 0)."
        )
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (1, 3, 4)):
        raise ValueError(f"got an array of shape {arr.shape}; expected HxW, HxWx1, HxWx3 or HxWx4")
    _check_size(arr.shape[0], arr.shape[1], f"array of shape {arr.shape}")


def _from_numpy(arr: np.ndarray, what: str | None = None) -> np.ndarray:
    """`what`: how to name the input in messages (default: the array's dtype and shape)."""
    if arr.dtype.byteorder not in ("=", "|"):  # big-endian '>u2' is still uint16: read it as such
        arr = arr.astype(arr.dtype.newbyteorder("="))
    _check_shape(arr)
    kind = arr.dtype.kind
    if kind == "b":
        out = arr.astype(np.float32)
    elif arr.dtype == np.uint8:  # in place: one float32 copy, not two (memory at the 4096x4096 limit)
        out = arr.astype(np.float32)
        out /= 255.0
    elif arr.dtype == np.uint16:
        out = arr.astype(np.float32)
        out /= 65535.0
    elif kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"got {what or f'an {arr.dtype} array'} with values in [{lo}, {hi}]; integer images must "
                f"be 8- or 16-bit unsigned, or hold values in 0..255"
            )
        out = arr.astype(np.float32) / 255.0
    elif kind == "f":
        lo, hi = float(arr.min()), float(
            arr.max()
        )  # NaN and infinity show in these: no (H, W, C) bool temporary
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(
                f"got {what or f'a {arr.dtype} array'} containing NaN or infinity; expected finite "
                f"values in [0, 1]"
            )
        if lo < -1e-6 or hi > 1.0 + 1e-6:
            raise ValueError(
                f"got {what or f'a {arr.dtype} array'} with values in [{lo:.4g}, {hi:.4g}]; float images "
                f"must lie in [0, 1] (divide 0-255 data by 255)"
            )
        out = np.clip(arr, 0.0, 1.0).astype(
            np.float32, copy=False
        )  # always a new array: callers may write to it
    else:
        raise ValueError(
            f"got an array of dtype {arr.dtype}; expected bool, uint8, uint16, integers or floats"
        )
    if out.ndim == 3 and out.shape[-1] == 1:
        out = out[..., 0]
    return np.ascontiguousarray(out)


def from_decoded(decoded: Decoded) -> np.ndarray:
    """A `zoo.decode.Decoded` -> float32 in [0,1], by the array rules, its messages naming the file."""
    return _from_numpy(decoded.pixels, decoded.what)


def peek_size(image: Any) -> tuple[int, int] | None:
    """(height, width) of an accepted input without decoding it (a file's header, a PIL image's or an
    array's shape), or None when it cannot be told cheaply (to_array then gives the clear error)."""
    if isinstance(image, np.ndarray):
        return tuple(image.shape[:2]) if image.ndim in (2, 3) else None
    if isinstance(image, Image.Image):
        return image.height, image.width
    if isinstance(image, Decoded):
        return tuple(image.pixels.shape[:2])
    if isinstance(image, (str, Path)):
        try:  # not WebP: Pillow's WebP opener allocates an animation's whole canvas before any check
            with Image.open(image, formats=tuple(f for f in FORMATS if f != "WEBP")) as img:
                return img.height, img.width
        except Exception:  # not a file, not an image: to_array says which
            return None
    return None


def to_array(image: Any) -> np.ndarray:
    """Any accepted input -> float32 in [0,1]: HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA)."""
    if isinstance(image, (str, Path)):
        return from_decoded(decode(image))
    if isinstance(image, Decoded):  # a file decoded earlier by zoo.decode (the hub does it off its lanes)
        return from_decoded(image)
    if isinstance(image, Image.Image):
        return _from_pil(image)
    if isinstance(image, np.ndarray):
        return _from_numpy(image)
    raise ValueError(
        f"got {type(image).__name__}; expected a PIL image, a numpy array (HxW or HxWxC) or an image file "
        "path"
    )


def composite(arr: np.ndarray, background: float) -> np.ndarray:
    """RGBA -> RGB by alpha-compositing onto a flat grey level in [0,1]; other inputs unchanged."""
    if arr.ndim == 3 and arr.shape[-1] == 4:
        alpha = arr[..., 3:4]
        return arr[..., :3] * alpha + background * (1.0 - alpha)
    return arr


def _grey_of(arr: np.ndarray, background: float) -> np.ndarray:
    """A converted array (to_array's, which it may overwrite) -> HxW float32 grey: alpha over
    `background`, then 601 luma; no (H, W, 3) temporary beyond the input."""
    arr = composite(arr, background)
    if arr.ndim == 3:
        arr = arr @ _LUMA
    return np.clip(arr, 0.0, 1.0, out=arr).astype(np.float32, copy=False)


CHUNK_ROWS = 256  # grey conversion of large colour inputs, a band of rows at a time


def _raw(image: Any) -> tuple[np.ndarray, str | None] | None:
    """The pixels of a file, a decoded file or an array before any float conversion, and how messages
    name them; None for a PIL image (converted whole by to_array)."""
    if isinstance(image, (str, Path)):
        image = decode(image)
    if isinstance(image, Decoded):
        return image.pixels, image.what
    if isinstance(image, np.ndarray):
        return image, None
    return None


def _grey_of_raw(arr: np.ndarray, what: str | None, background: float) -> np.ndarray:
    """to_array then _grey_of, a band of rows at a time for a large colour input, so that the
    (H, W, C) float32 copy (200 MB at the 4096x4096 limit) never exists: the same values."""
    if arr.ndim != 3 or arr.shape[-1] == 1 or arr.shape[0] <= CHUNK_ROWS:
        return _grey_of(_from_numpy(arr, what), background)
    _check_shape(arr)
    out = np.empty(arr.shape[:2], np.float32)
    for top in range(0, arr.shape[0], CHUNK_ROWS):
        out[top : top + CHUNK_ROWS] = _grey_of(_from_numpy(arr[top : top + CHUNK_ROWS], what), background)
    return out


def to_grey(image: Any, background: float = 0.0) -> np.ndarray:
    """Any accepted input -> HxW float32 grey (alpha over `background`, then 601 luma)."""
    raw = _raw(image)
    return _grey_of(to_array(image), background) if raw is None else _grey_of_raw(*raw, background)


def to_rgb(image: Any, background: float = 1.0) -> np.ndarray:
    """Any accepted input -> HxWx3 float32 RGB (grey repeated; alpha over `background`)."""
    arr = composite(to_array(image), background)  # to_array's result is always a new array
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    return np.clip(arr, 0.0, 1.0, out=arr).astype(np.float32, copy=False)


def resize(arr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-style downscale / bicubic upscale through Pillow, per channel, staying in [0,1]."""
    if arr.shape[:2] == (height, width):
        return arr.astype(np.float32)
    chans = [arr] if arr.ndim == 2 else [arr[..., c] for c in range(arr.shape[-1])]
    shrinking = height * width < arr.shape[0] * arr.shape[1]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BICUBIC
    out = [
        np.asarray(
            Image.fromarray(c.astype(np.float32, copy=False), mode="F").resize((width, height), method)
        )
        for c in chans
    ]
    res = out[0] if arr.ndim == 2 else np.stack(out, axis=-1)
    return np.clip(res, 0.0, 1.0).astype(np.float32)


def alpha_carries_shape(arr: np.ndarray) -> bool:
    """True for an RGBA image whose alpha draws something: partly transparent, partly opaque."""
    if arr.ndim != 3 or arr.shape[-1] != 4:
        return False
    return _alpha_draws(arr[..., 3])


def _alpha_draws(alpha: np.ndarray) -> bool:
    return bool(alpha.min() < 0.1 and alpha.max() > 0.5)


def to_small_grey(image: Any, size: int = 28, invert_light_background: bool = True) -> np.ndarray:
    """The digit/garment rule: any input -> size x size grey, dark background.

    1. a drawing on a transparent background (alpha partly 0, partly opaque): the alpha
       channel is the ink, whatever the stroke's colour (what drawing apps export);
       otherwise grey (alpha composited onto black, 601 luma), and if the border is mostly
       light (median of the outer ring > 0.5), inverted, so a dark drawing on white paper
       looks like the datasets' light-on-dark;
    2. the long side resized to `size` (box filter when shrinking), keeping the aspect ratio;
    3. padded to size x size with the background level.
    Resizing before padding bounds the work by the output, whatever the input's aspect ratio.
    An input that is already size x size and dark-backed passes through unchanged.
    """
    raw = _raw(image)
    if raw is None:
        raw = (to_array(image), None)  # a PIL image: float32 already, read by the same rules below
    arr, what = raw
    alpha = _from_numpy(arr[..., 3], what) if arr.ndim == 3 and arr.shape[-1] == 4 else None
    if alpha is not None and _alpha_draws(alpha):
        grey = np.clip(alpha, 0.0, 1.0).astype(np.float32)
    else:
        grey = _grey_of_raw(arr, what, background=0.0)
        border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
        if invert_light_background and np.median(border) > 0.5:
            grey = 1.0 - grey
    del arr, alpha  # no (H, W, C) float32 copy was made: at the 4096x4096 limit it would be 200 MB
    h, w = grey.shape
    fill = float(np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])))
    scale = size / max(h, w)
    nh, nw = max(1, min(size, round(h * scale))), max(1, min(size, round(w * scale)))
    small = resize(grey, nh, nw)
    if (nh, nw) == (size, size):
        return small
    square = np.full((size, size), fill, dtype=np.float32)
    top, left = (size - nh) // 2, (size - nw) // 2
    square[top : top + nh, left : left + nw] = small
    return square


def fit_within(arr: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink (box filter) so the long side is at most `max_side`, keeping the aspect ratio; never
    enlarges."""
    h, w = arr.shape[:2]
    if max(h, w) <= max_side:
        return arr
    s = max_side / max(h, w)
    return resize(arr, max(1, round(h * s)), max(1, round(w * s)))


def to_pil_rgb(arr: np.ndarray) -> Image.Image:
    """HxWx3 float in [0,1] -> an 8-bit RGB PIL image (rounded)."""
    return Image.fromarray((np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8))


def short_side_resized(pil: Image.Image, side: int, min_side: int = 1) -> np.ndarray:
    """The image resized (Lanczos, antialiased) so its short side is `side` px, each side at least
    `min_side`: HxWx3 uint8. How CIFAR-like 32x32 crops are made from photos (training and evaluation)."""
    s = side / min(pil.size)
    size = (max(min_side, round(pil.width * s)), max(min_side, round(pil.height * s)))
    return np.asarray(pil.resize(size, Image.Resampling.LANCZOS))


def enlarge(arr: np.ndarray, min_side: int = 280) -> np.ndarray:
    """Nearest-neighbour upscale (integer factor) so tiny images are visible in the UI; uint8 out."""
    arr = np.clip(np.asarray(arr, dtype=np.float32), 0.0, 1.0)
    factor = max(1, int(np.ceil(min_side / max(1, min(arr.shape[:2])))))
    big = np.repeat(np.repeat(arr, factor, axis=0), factor, axis=1)
    return (big * 255.0 + 0.5).astype(np.uint8)


def center_square(frame: Any, size: int = 224) -> np.ndarray:
    """A camera frame (or any accepted image) -> its central square at size x size, float32 RGB in [0,1].

    Frames from a browser are HxWx3 uint8: they are cropped first and resized once in uint8
    (measured 1.3 ms instead of 6.5 ms for a 640x480 frame through the general path). Any other
    accepted image (grey, RGBA, float) takes the general path (the same picture, up to a sub-pixel shift).
    """
    if (
        isinstance(frame, np.ndarray)
        and frame.dtype == np.uint8
        and frame.ndim == 3
        and frame.shape[2] == 3
        and min(frame.shape[:2]) > 0
    ):
        h, w = frame.shape[:2]
        _check_size(h, w, "camera frame")
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = Image.fromarray(np.ascontiguousarray(frame[top : top + side, left : left + side]))
        method = Image.Resampling.BOX if side > size else Image.Resampling.BICUBIC
        return np.asarray(square.resize((size, size), method), dtype=np.float32) / 255.0
    from .data import center_crop

    return center_crop(to_rgb(frame), size)
