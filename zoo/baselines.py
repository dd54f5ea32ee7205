"""Classical methods a user would otherwise pick, side by side with every model.

Inpainting: OpenCV Telea and Navier-Stokes, scikit-image biharmonic.
Denoising:  scikit-image non-local means and total-variation (Chambolle).
Feature reconstruction: bicubic upsampling from as many numbers as the feature map holds.
All take and return float32 images in [0,1] (HxW or HxWx3); masks are (H, W) bool, True = missing.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle, inpaint_biharmonic


def _as_uint8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 1) * 255.0 + 0.5).astype(np.uint8)


def inpaint_opencv(img: np.ndarray, mask: np.ndarray, method: str = "telea", radius: int = 3) -> np.ndarray:
    """OpenCV's fast marching (Telea) or Navier-Stokes inpainting; works in 8 bits."""
    flags = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
    if method not in flags:
        raise ValueError(f"method must be 'telea' or 'ns', got {method!r}")
    src = _as_uint8(img)
    out = cv2.inpaint(src, mask.astype(np.uint8), radius, flags[method]).astype(np.float32) / 255.0
    if out.ndim == 3 and out.shape[-1] == 1:
        out = out[..., 0]
    return np.where(mask[..., None] if img.ndim == 3 else mask, out, img).astype(np.float32)


def inpaint_telea(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return inpaint_opencv(img, mask, "telea")


def inpaint_ns(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return inpaint_opencv(img, mask, "ns")


def inpaint_biharmonic_(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """scikit-image biharmonic inpainting; known pixels are kept exactly."""
    if not mask.any():
        return img.astype(np.float32)
    if mask.all():
        return np.zeros_like(img, dtype=np.float32)  # nothing to interpolate from
    channel_axis = -1 if img.ndim == 3 else None
    out = inpaint_biharmonic(img.astype(np.float64), mask, channel_axis=channel_axis)
    return np.clip(out, 0, 1).astype(np.float32)


def denoise_tv(img: np.ndarray, weight: float = 0.1) -> np.ndarray:
    channel_axis = -1 if img.ndim == 3 else None
    return np.clip(denoise_tv_chambolle(img, weight=weight, channel_axis=channel_axis), 0, 1).astype(
        np.float32
    )


def denoise_nlm(img: np.ndarray, h: float = 0.3, sigma: float = 0.0) -> np.ndarray:
    """Non-local means with filtering strength `h` (in image units); fast mode, 5x5 patches."""
    channel_axis = -1 if img.ndim == 3 else None
    out = denoise_nl_means(
        img, h=h, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True, channel_axis=channel_axis
    )
    return np.clip(out, 0, 1).astype(np.float32)


INPAINTERS = {"telea": inpaint_telea, "navier-stokes": inpaint_ns, "biharmonic": inpaint_biharmonic_}


def same_values_scale(channels: int, stride: int) -> float:
    """Linear scale at which an RGB image holds as many numbers as a (channels, H/stride, W/stride) feature
    map."""
    return math.sqrt(channels / 3) / stride


def bicubic_same_values(img: np.ndarray, channels: int, stride: int) -> np.ndarray:
    """The feature-recon reference: the image box-shrunk to as many numbers as the feature map, bicubic back
    up."""
    from .images import resize

    h, w = img.shape[:2]
    s = same_values_scale(channels, stride)
    return resize(resize(img, max(1, round(h * s)), max(1, round(w * s))), h, w)
