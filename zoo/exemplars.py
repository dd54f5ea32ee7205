"""Exemplar inpainting of digits: fill each hole from the training digits that match the visible pixels.

A classical method a user could pick for 28x28 digits: the k nearest training digits on the
*visible* pixels (squared error), and the mean of their pixels in the holes (a posterior mean
under a uniform prior over the k neighbours). The mnist-masked evaluation reports it as a
baseline, and `MaskedPipeline.with_exemplars` blends it with the U-Net's fill.
"""

from __future__ import annotations

import numpy as np
import torch


def sq_dist(x: torch.Tensor, weights: torch.Tensor, cands: torch.Tensor, cands_sq=None) -> torch.Tensor:
    """sum_j w_ij (x_ij - c_kj)^2 for every image i and candidate k: (N, K). x, weights: (N, D); cands: (K,
    D); cands_sq: cands**2 when the caller keeps it (a bank searched many times)."""
    xw = x * weights
    sq = cands**2 if cands_sq is None else cands_sq
    return (xw * x).sum(1, keepdim=True) - 2 * xw @ cands.T + weights @ sq.T


class ExemplarBank:
    """Training digits (M, 28, 28) in [0, 1], searched on the visible pixels of damaged digits."""

    def __init__(self, digits: np.ndarray, chunk: int = 20_000):
        digits = np.asarray(digits)
        if digits.ndim != 3 or digits.shape[1:] != (28, 28) or len(digits) == 0:
            raise ValueError(f"exemplar digits must be an (N, 28, 28) array, N >= 1; got {digits.shape}")
        if not np.issubdtype(digits.dtype, np.floating) or digits.min() < 0 or digits.max() > 1:
            raise ValueError("exemplar digits must be floats in [0, 1] (as `zoo.data.load_mnist` gives)")
        # (M, 784), a copy: later changes to the caller's array do not reach the bank
        self.cands = torch.from_numpy(digits.reshape(len(digits), -1).astype(np.float32))
        self.cands_sq = self.cands**2  # kept: each search needs it, and it is as big as the bank
        self.chunk = chunk

    def __len__(self) -> int:
        return len(self.cands)

    def check_k(self, k: int) -> None:
        if not 1 <= k <= len(self):
            raise ValueError(f"k must be between 1 and the {len(self):,} exemplar digits, got {k}")

    @torch.inference_mode()
    def nearest(self, damaged: np.ndarray, masks: np.ndarray, k: int = 10) -> torch.Tensor:
        """(N, 28, 28) damaged + masks (True = missing) -> (N, k) indices into the bank, nearest first
        (squared error on the visible pixels)."""
        self.check_k(k)
        n = len(damaged)
        x = torch.from_numpy(np.asarray(damaged, dtype=np.float32).reshape(n, -1))
        visible = torch.from_numpy((~np.asarray(masks, dtype=bool)).reshape(n, -1)).float()
        best_d = torch.full((n, k), float("inf"))
        best_i = torch.zeros((n, k), dtype=torch.long)
        for start in range(0, len(self), self.chunk):  # bounded memory with the 60,000 real training digits
            end = start + self.chunk
            d = sq_dist(x, visible, self.cands[start:end], self.cands_sq[start:end])
            dd = torch.cat([best_d, d], 1)
            ii = torch.cat([best_i, torch.arange(start, start + d.shape[1]).expand(n, -1)], 1)
            best_d, pos = dd.topk(k, dim=1, largest=False)  # sorted: nearest first
            best_i = ii.gather(1, pos)
        # nothing visible: every digit is equally near and topk's order among ties is arbitrary, so such
        # rows take the first k digits, the same on every machine
        best_i[visible.sum(1) == 0] = torch.arange(k)
        return best_i

    def fill(self, damaged: np.ndarray, masks: np.ndarray, k: int = 10, nearest=None) -> np.ndarray:
        """(N, 28, 28) damaged + masks -> (N, 28, 28) with each hole filled by the mean of the k digits
        nearest on the visible pixels; visible pixels are kept. nearest: `self.nearest(...)` of k or
        more neighbours when the caller already has it (several k from one search)."""
        idx = (self.nearest(damaged, masks, k) if nearest is None else nearest)[:, :k]
        fill = self.cands[idx].mean(1).numpy().reshape(np.shape(damaged))  # (N, 28, 28)
        return np.where(masks, fill, damaged).astype(np.float32)


def exemplar_fill(
    damaged: np.ndarray, masks: np.ndarray, train: np.ndarray, k: int = 10, chunk: int = 20_000
) -> np.ndarray:
    """(N, 28, 28) damaged + masks, (M, 28, 28) training digits -> (N, 28, 28) with holes filled."""
    return ExemplarBank(train, chunk).fill(damaged, masks, k)
