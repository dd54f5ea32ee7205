"""Differentiable image losses for training (evaluation uses skimage.metrics)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _gaussian_window(size: int = 7, sigma: float = 1.5, channels: int = 3, device=None) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 7) -> torch.Tensor:
    """Mean SSIM of (B, C, H, W) images in [0,1] with a Gaussian window (data range 1)."""
    c = x.shape[1]
    w = _gaussian_window(window, 1.5, c, x.device)
    pad = window // 2
    mu_x = F.conv2d(F.pad(x, [pad] * 4, mode="reflect"), w, groups=c)
    mu_y = F.conv2d(F.pad(y, [pad] * 4, mode="reflect"), w, groups=c)
    sxx = F.conv2d(F.pad(x * x, [pad] * 4, mode="reflect"), w, groups=c) - mu_x**2
    syy = F.conv2d(F.pad(y * y, [pad] * 4, mode="reflect"), w, groups=c) - mu_y**2
    sxy = F.conv2d(F.pad(x * y, [pad] * 4, mode="reflect"), w, groups=c) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return s.mean()


def l1_ssim(x: torch.Tensor, y: torch.Tensor, alpha: float = 0.2) -> torch.Tensor:
    """(1 - alpha) * L1 + alpha * (1 - SSIM): sharp edges without losing local structure."""
    return (1 - alpha) * F.l1_loss(x, y) + alpha * (1 - ssim(x, y))


def mse_ssim(x: torch.Tensor, y: torch.Tensor, alpha: float = 0.01) -> torch.Tensor:
    """MSE + alpha * (1 - SSIM): the PSNR's own loss, with a little structure. At the decoders' errors
    (MSE ~0.001-0.004, 1 - SSIM ~0.1-0.25) alpha 0.01 makes the two terms of one size."""
    return F.mse_loss(x, y) + alpha * (1 - ssim(x, y))


def mean_psnr(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> float:
    """Mean per-image PSNR (data range 1) of `pred` clamped to [0, 1], as the protocols average it;
    with `weight` (broadcast to the images, e.g. the holes (B, 1, H, W)) over the weighted pixels only.
    The trainers' validation figures."""
    err = (pred.clamp(0, 1) - target) ** 2  # (B, C, H, W)
    if weight is None:
        mse = err.mean(dim=(1, 2, 3))
    else:
        w = weight.float().expand_as(err)
        mse = (err * w).sum(dim=(1, 2, 3)) / w.sum(dim=(1, 2, 3)).clamp_min(1)
    return float((-10 * torch.log10(mse.clamp_min(1e-10))).mean())
