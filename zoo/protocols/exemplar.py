"""Exemplar inpainting of digits: fill each hole from the training digits that match the visible pixels.

A classical method a user could pick for 28x28 digits: the k nearest training digits on the
*visible* pixels (squared error), and the mean of their pixels in the holes (a posterior mean
under a uniform prior over the k neighbours). `oracle_exemplar_mse` is the cheating
reference that picks the best digit on the *hidden* pixels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _sq_dist(x: torch.Tensor, weights: torch.Tensor, cands: torch.Tensor) -> torch.Tensor:
    """sum_j w_ij (x_ij - c_kj)^2 for every image i and candidate k: (N, K). x, weights: (N, D); cands: (K,
    D)."""
    xw = x * weights
    return (xw * x).sum(1, keepdim=True) - 2 * xw @ cands.T + weights @ (cands**2).T


@torch.inference_mode()
def exemplar_fill(
    damaged: np.ndarray, masks: np.ndarray, train: np.ndarray, k: int = 10, chunk: int = 20_000
) -> np.ndarray:
    """(N, 28, 28) damaged + masks, (M, 28, 28) training digits -> (N, 28, 28) with holes filled."""
    n = len(damaged)
    x = torch.from_numpy(damaged.reshape(n, -1)).float()
    visible = torch.from_numpy((~masks).reshape(n, -1)).float()
    cands = torch.from_numpy(train.reshape(len(train), -1)).float()
    best_d = torch.full((n, k), float("inf"))
    best_i = torch.zeros((n, k), dtype=torch.long)
    for start in range(0, len(cands), chunk):  # bounded memory with the 60,000 real training digits
        d = _sq_dist(x, visible, cands[start : start + chunk])
        dd, ii = torch.cat([best_d, d], 1), torch.cat(
            [best_i, torch.arange(start, start + d.shape[1]).expand(n, -1)], 1
        )
        best_d, pos = dd.topk(k, dim=1, largest=False)
        best_i = ii.gather(1, pos)
    fill = cands[best_i].mean(1)  # (N, D)
    out = torch.where(visible > 0, x, fill)
    return out.reshape(damaged.shape).numpy().astype(np.float32)


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
                best = torch.minimum(best, _sq_dist(x, m, c).min(1).values)
    return (best.clamp_min(0) / x.shape[1]).numpy()
