"""Seeded damage: every task's corruption, reproducible from `numpy.random.default_rng(seed)`.

Each function takes an image in [0,1] (HxW grey or HxWxC colour, float32) and a
seed and returns ``(damaged, mask)``: ``mask`` is a boolean HxW array, True
where a pixel is missing; missing pixels are set to 0 in ``damaged`` (every
channel). Noise is not a mask, so `gaussian_noise` returns ``mask=None``.
Evaluation uses ``seed = base_seed + image_index`` so every run and every
implementation sees the same damage.
"""

from __future__ import annotations

import numpy as np

MAX_SEED = 2**63 - 1


def rng_for(seed) -> np.random.Generator:
    """`default_rng(seed)` for a seed that is None or a whole number in 0..2**63-1; else a ValueError."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(number(seed, "seed", whole=True, low=0, high=MAX_SEED))


def _finite(value) -> bool:
    """Python ints of any size are finite (np.isfinite cannot take those beyond 64 bits)."""
    return isinstance(value, (int, np.integer)) or bool(np.isfinite(value))


def number(value, name: str, whole: bool = False, low=None, high=None) -> float:
    """A parameter as a finite number (an int when `whole`) within [low, high] when given; strings,
    bools, None and NaN are refused with a message naming the parameter."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    shown = (
        repr(value) if len(repr(value)) <= 24 else f"{repr(value)[:12]}... ({len(repr(value))} characters)"
    )
    if not ok or not _finite(value) or (whole and value != int(value)):
        kind = "a whole number" if whole else "a finite number"
        raise ValueError(f"{name} must be {kind}, got {shown} ({type(value).__name__})")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must lie in {low}..{high}, got {shown}")
    return int(value) if whole else float(value)


def _check_image(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim not in (2, 3) or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"expected an HxW or HxWxC image, got an array of shape {img.shape}")
    return img.astype(np.float32, copy=False)


def apply_mask(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Zero the masked pixels (all channels). mask: (H, W) bool, True = missing."""
    img = _check_image(img)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != img.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match image size {img.shape[:2]}")
    out = img.copy()
    out[mask] = 0.0
    return out


def random_pixel_mask(
    img: np.ndarray, ratio: float, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Drop each pixel independently with probability `ratio` (nca-fmnist's damage)."""
    img = _check_image(img)
    ratio = number(ratio, "mask ratio")
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"mask ratio must be in [0, 1], got {ratio}")
    rng = rng_for(seed)
    mask = rng.random(img.shape[:2]) < ratio
    return apply_mask(img, mask), mask


def random_blocks(
    img: np.ndarray, n_blocks: int, size: int = 2, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`n_blocks` SxS blocks at uniform random top-left positions (cifar10-blocks' damage).

    Blocks may overlap, as in the source system; each lies wholly inside the image.
    """
    img = _check_image(img)
    h, w = img.shape[:2]
    n_blocks, size = number(n_blocks, "number of blocks", whole=True), number(size, "block size", whole=True)
    if n_blocks < 0:
        raise ValueError(f"number of blocks must be >= 0, got {n_blocks}")
    if not 1 <= size <= min(h, w):
        raise ValueError(f"block size must be between 1 and {min(h, w)} for a {h}x{w} image, got {size}")
    rng = rng_for(seed)
    ys = rng.integers(0, h - size + 1, size=n_blocks)
    xs = rng.integers(0, w - size + 1, size=n_blocks)
    mask = np.zeros((h, w), dtype=bool)
    for y, x in zip(ys, xs):
        mask[y : y + size, x : x + size] = True
    return apply_mask(img, mask), mask


def stripe(
    img: np.ndarray, width: int, orientation: str = "vertical", seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One vertical or horizontal stripe of `width` pixels at a random position (mnist-masked)."""
    img = _check_image(img)
    h, w = img.shape[:2]
    if orientation not in ("vertical", "horizontal"):
        raise ValueError(f"orientation must be 'vertical' or 'horizontal', got {orientation!r}")
    extent = w if orientation == "vertical" else h
    width = number(width, "stripe width", whole=True)
    if not 1 <= width <= extent:
        raise ValueError(f"stripe width must be between 1 and {extent} for a {h}x{w} image, got {width}")
    rng = rng_for(seed)
    start = int(rng.integers(0, extent - width + 1))
    mask = np.zeros((h, w), dtype=bool)
    if orientation == "vertical":
        mask[:, start : start + width] = True
    else:
        mask[start : start + width, :] = True
    return apply_mask(img, mask), mask


def square_patch(img: np.ndarray, side: int, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One `side` x `side` square at a random position (mnist-masked)."""
    img = _check_image(img)
    h, w = img.shape[:2]
    side = number(side, "square side", whole=True)
    if not 1 <= side <= min(h, w):
        raise ValueError(f"patch side must be between 1 and {min(h, w)} for a {h}x{w} image, got {side}")
    rng = rng_for(seed)
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    mask = np.zeros((h, w), dtype=bool)
    mask[y : y + side, x : x + side] = True
    return apply_mask(img, mask), mask


def gaussian_noise(img: np.ndarray, sigma: float, seed: int | None = None) -> tuple[np.ndarray, None]:
    """noisy = clip(x + sigma * N(0, 1), 0, 1) (mnist-denoise's damage); no mask."""
    img = _check_image(img)
    sigma = number(sigma, "noise sigma")
    if sigma < 0:
        raise ValueError(f"noise sigma must be a finite number >= 0, got {sigma}")
    rng = rng_for(seed)
    noisy = img + float(sigma) * rng.standard_normal(img.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32), None
