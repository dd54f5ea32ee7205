"""mnist-masked: a mask-aware U-Net fills stripes, squares or scattered holes in 28x28 digits."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import corruptions, images
from ..models.unet import unet
from ..registry import register_model
from .base import Pipeline, RestorationResult, check_mask

DAMAGE_KINDS = ("vertical", "horizontal", "patch", "random")


def mnist_damage(img: np.ndarray, kind: str, size: float, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """kind: vertical/horizontal stripe (size = width), square patch (size = side), random pixels (size = ratio)."""
    if kind in ("vertical", "horizontal"):
        return corruptions.stripe(img, int(size), kind, seed)
    if kind == "patch":
        return corruptions.square_patch(img, int(size), seed)
    if kind == "random":
        return corruptions.random_pixel_mask(img, float(size), seed)
    raise ValueError(f"damage kind must be one of {DAMAGE_KINDS}, got {kind!r}")


class MaskedPipeline(Pipeline):
    task = "inpainting"
    image_size = 28

    def prepare(self, image: Any) -> np.ndarray:
        """Any accepted input -> 28x28 grey, light-on-dark (see `zoo.images.to_small_grey`)."""
        return images.to_small_grey(image, self.image_size)

    def corrupt(self, image: Any, kind: str = "vertical", size: float = 7, seed: int | None = None):
        return mnist_damage(self.prepare(image), kind, size, seed)

    @torch.inference_mode()
    def __call__(self, image: Any, mask: Any = None) -> RestorationResult:
        # 1. convert input and mask; 2. the U-Net sees (damaged, mask); 3. paste known pixels back.
        x = self.prepare(image)
        m = check_mask(mask, x.shape)
        x = np.where(m, 0.0, x).astype(np.float32)  # holes are zero, as in training
        inp = torch.cat([self._to_tensor(x), self._to_tensor(m.astype(np.float32))], dim=1)  # (1, 2, 28, 28)
        pred = self._to_numpy(self.model(inp))
        return RestorationResult(image=np.where(m, pred, x).astype(np.float32))


register_model(
    "mnist-masked",
    task="inpainting",
    summary="Mask-aware U-Net that restores MNIST digits with stripes or square patches removed",
    builder=unet,
    model_kwargs=dict(in_channels=2, out_channels=1, base_channels=32, depth=2),
    pipeline_cls=MaskedPipeline,
    tags=("mnist", "inpainting", "unet"),
)
