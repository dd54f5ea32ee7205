"""Image metrics on [0,1] images, through scikit-image (data_range=1).

Colour images are HxWx3 and use ``channel_axis=-1``; grey images are HxW.
Hole metrics score only the missing pixels (mask True), where a restorer's
work actually shows.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

# PSNR of identical images is infinite; reports cap it so averages stay finite.
PSNR_CAP_DB = 100.0


def _pair(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape:
        raise ValueError(f"images differ in shape: {reference.shape} vs {estimate.shape}")
    return reference, estimate


def mse(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(mean_squared_error(*_pair(reference, estimate)))


def psnr(reference: np.ndarray, estimate: np.ndarray) -> float:
    reference, estimate = _pair(reference, estimate)
    if np.array_equal(reference, estimate):
        return PSNR_CAP_DB
    return float(min(peak_signal_noise_ratio(reference, estimate, data_range=1.0), PSNR_CAP_DB))


def ssim(reference: np.ndarray, estimate: np.ndarray) -> float:
    reference, estimate = _pair(reference, estimate)
    channel_axis = -1 if reference.ndim == 3 else None
    return float(structural_similarity(reference, estimate, data_range=1.0, channel_axis=channel_axis))


def hole_mse(reference: np.ndarray, estimate: np.ndarray, mask: np.ndarray) -> float:
    """MSE over the missing pixels only (all channels). mask: (H, W) bool, True = missing."""
    reference, estimate = _pair(reference, estimate)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != reference.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match image size {reference.shape[:2]}")
    if not mask.any():
        raise ValueError("the mask has no missing pixels, so a hole metric is undefined")
    return float(np.mean((reference[mask] - estimate[mask]) ** 2))


def hole_psnr(reference: np.ndarray, estimate: np.ndarray, mask: np.ndarray) -> float:
    err = hole_mse(reference, estimate, mask)
    return PSNR_CAP_DB if err == 0 else float(min(10.0 * np.log10(1.0 / err), PSNR_CAP_DB))


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or labels.size == 0:
        raise ValueError(
            f"need two non-empty label arrays of one shape, got {labels.shape} and {predictions.shape}"
        )
    return float(np.mean(labels == predictions))
