from __future__ import annotations

import numpy as np
import pytest

from zoo import metrics


def test_psnr_and_mse_hand_checked():
    a = np.zeros((4, 4), np.float32)
    b = np.full((4, 4), 0.1, np.float32)
    assert metrics.mse(a, b) == pytest.approx(0.01)
    assert metrics.psnr(a, b) == pytest.approx(20.0, abs=1e-4)  # 10 log10(1 / 0.01)
    assert metrics.psnr(a, a) == metrics.PSNR_CAP_DB


def test_ssim_identity_and_colour():
    rng = np.random.default_rng(0)
    img = rng.random((32, 32, 3))
    assert metrics.ssim(img, img) == pytest.approx(1.0)
    assert metrics.ssim(img, 1 - img) < 0.5


def test_hole_metrics_only_see_the_holes():
    a = np.zeros((4, 4), np.float32)
    b = a.copy()
    b[0, 0] = 0.5
    b[3, 3] = 1.0  # outside the mask: must not count
    mask = np.zeros((4, 4), bool)
    mask[0, :2] = True
    assert metrics.hole_mse(a, b, mask) == pytest.approx(0.125)  # (0.25 + 0) / 2
    assert metrics.hole_psnr(a, b, mask) == pytest.approx(10 * np.log10(8))
    with pytest.raises(ValueError):
        metrics.hole_mse(a, b, np.zeros((4, 4), bool))


def test_accuracy_and_shape_errors():
    assert metrics.accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    with pytest.raises(ValueError):
        metrics.accuracy([1, 2], [1])
    with pytest.raises(ValueError):
        metrics.psnr(np.zeros((2, 2)), np.zeros((3, 3)))
