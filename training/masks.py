"""Random training masks, vectorised: (B, H, W) bool, True = missing.

The mix covers the damage the MNIST tasks evaluate on (stripes, squares,
scattered pixels) plus free-form strokes, so one model serves them all.
"""

from __future__ import annotations

import numpy as np


def stripe_masks(
    rng: np.random.Generator, n: int, size: int, max_width: int, min_width: int = 1
) -> np.ndarray:
    masks = np.zeros((n, size, size), dtype=bool)
    widths = rng.integers(min_width, max_width + 1, size=n)
    vertical = rng.random(n) < 0.5
    for i in range(n):
        s = rng.integers(0, size - widths[i] + 1)
        if vertical[i]:
            masks[i, :, s : s + widths[i]] = True
        else:
            masks[i, s : s + widths[i], :] = True
    return masks


def square_masks(rng: np.random.Generator, n: int, size: int, min_side: int, max_side: int) -> np.ndarray:
    masks = np.zeros((n, size, size), dtype=bool)
    sides = rng.integers(min_side, max_side + 1, size=n)
    for i in range(n):
        y, x = rng.integers(0, size - sides[i] + 1, size=2)
        masks[i, y : y + sides[i], x : x + sides[i]] = True
    return masks


def pixel_masks(rng: np.random.Generator, n: int, size: int, lo: float, hi: float) -> np.ndarray:
    ratios = rng.uniform(lo, hi, size=(n, 1, 1))
    return rng.random((n, size, size)) < ratios


def stroke_masks(rng: np.random.Generator, n: int, size: int, max_strokes: int = 4) -> np.ndarray:
    """Free-form brush strokes: random walks of discs, like a user's scribble."""
    masks = np.zeros((n, size, size), dtype=bool)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        for _ in range(rng.integers(1, max_strokes + 1)):
            y, x = rng.uniform(0, size, size=2)
            radius = rng.uniform(0.8, max(1.0, size / 16))
            angle = rng.uniform(0, 2 * np.pi)
            for _ in range(rng.integers(4, 12)):
                angle += rng.normal(0, 0.6)
                y = np.clip(y + np.sin(angle) * radius * 1.5, 0, size - 1)
                x = np.clip(x + np.cos(angle) * radius * 1.5, 0, size - 1)
                masks[i] |= (yy - y) ** 2 + (xx - x) ** 2 <= radius**2
    return masks
