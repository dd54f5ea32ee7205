"""References for the mnist-masked evaluation: exemplar inpainting (`zoo.exemplars`) and its oracle.

`oracle_exemplar_mse` is the cheating reference that picks the best training digit on the
*hidden* pixels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..exemplars import exemplar_fill, sq_dist

__all__ = ["exemplar_fill", "oracle_exemplar_mse"]


@torch.inference_mode()
def oracle_exemplar_mse(
    clean: np.ndarray, masks: np.ndarray, train: np.ndarray, shift: int = 2
) -> np.ndarray:
    """Per-image whole-image MSE of the best single training digit for each hole, chosen knowing the answer.

    clean, masks: (N, 28, 28); train: (M, 28, 28). Every training digit, shifted by up to `shift`
    pixels, is a candidate fill; the one closest to the clean image on the hidden pixels wins.
    It is a reference, not a method: it sees the hidden pixels.
    """
    x = torch.from_numpy(clean.reshape(len(clean), -1)).float()
    m = torch.from_numpy(masks.reshape(len(masks), -1)).float()
    best = torch.full((len(x),), float("inf"))
    padded = F.pad(torch.from_numpy(train).float()[:, None], (shift,) * 4)  # (M, 1, 28 + 2s, 28 + 2s)
    h, w = train.shape[-2:]
    for dy in range(2 * shift + 1):
        for dx in range(2 * shift + 1):
            cands = padded[..., dy : dy + h, dx : dx + w].reshape(len(train), -1)  # (M, 784)
            for c in cands.split(10_000):
                best = torch.minimum(best, sq_dist(x, m, c).min(1).values)
    return (best.clamp_min(0) / x.shape[1]).numpy()
