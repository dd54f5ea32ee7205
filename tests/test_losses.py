"""training.trainers.losses: each loss is zero for a perfect estimate and grows with the error."""

import pytest
import torch

from training.trainers.losses import l1_ssim, mse_ssim, ssim


def test_losses_vanish_at_the_target_and_rank_errors():
    g = torch.Generator().manual_seed(0)
    y = torch.rand(2, 3, 32, 32, generator=g)
    small = (y + 0.05 * torch.randn(y.shape, generator=g)).clamp(0, 1)
    large = (y + 0.3 * torch.randn(y.shape, generator=g)).clamp(0, 1)
    assert ssim(y, y).item() == pytest.approx(1.0, abs=1e-6)
    for loss in (l1_ssim, mse_ssim):
        assert abs(loss(y, y).item()) < 1e-6
        assert 0 < loss(small, y) < loss(large, y)
    mse = torch.nn.functional.mse_loss(large, y)
    assert mse_ssim(large, y, alpha=0.0) == mse  # alpha weighs the SSIM term alone
    assert (mse_ssim(large, y, alpha=0.5) - mse).item() == pytest.approx(0.5 * (1 - ssim(large, y)).item())


def test_mean_psnr_is_per_image_and_weighting_scores_only_the_weighted_pixels():
    from training.trainers.losses import mean_psnr

    target = torch.zeros(2, 3, 4, 4)
    pred = target.clone()
    pred[0] += 0.1  # MSE 0.01: 20 dB
    pred[1, :, :2] += 0.01  # MSE 0.00005 over the image: 43.01 dB
    assert abs(mean_psnr(pred, target) - (20 + 43.0103) / 2) < 1e-3
    holes = torch.zeros(2, 1, 4, 4)
    holes[:, :, :2] = 1  # only the top half counts: image 1's error is 0.0001 there, 40 dB
    assert abs(mean_psnr(pred, target, weight=holes) - (20 + 40) / 2) < 1e-3
    assert mean_psnr(pred.clamp(0, 1) + 5, target) == mean_psnr(torch.ones_like(pred), target)  # clamped
