"""Run a fully convolutional image function tile by tile, so memory stays bounded on big images.

Each tile is computed with `margin` extra pixels on every side and only its core is kept,
so a tile's border never sees the cut (the networks here see ~40 px around a pixel).
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def tiled(
    fn: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    tile: int = 256,
    margin: int = 32,
    *extra: np.ndarray,
) -> np.ndarray:
    """fn(image_tile, *extra_tiles) -> output tile of the same height and width; stitched back.

    image: (H, W, ...) array; `extra` arrays share its height and width (e.g. a mask).
    Images no larger than tile + 2 * margin on both sides are one call.
    """
    h, w = image.shape[:2]
    if h <= tile + 2 * margin and w <= tile + 2 * margin:
        return fn(image, *extra)
    out = None
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            y0, x0 = max(0, y - margin), max(0, x - margin)
            y1, x1 = min(h, y + tile + margin), min(w, x + tile + margin)
            res = fn(image[y0:y1, x0:x1], *(e[y0:y1, x0:x1] for e in extra))
            if out is None:
                out = np.empty((h, w) + res.shape[2:], dtype=res.dtype)
            out[y : min(h, y + tile), x : min(w, x + tile)] = res[
                y - y0 : y - y0 + min(tile, h - y), x - x0 : x - x0 + min(tile, w - x)
            ]
    return out
