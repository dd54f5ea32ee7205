"""cifar10-blocks: a mask-aware U-Net fills missing blocks (or any painted damage) in colour images.

Fully convolutional, so it runs on any size from 8x8 up to MAX_SIDE on the long
side (a user's photo with a drawn scratch), in one pass; larger images are
refused with the size to downscale to.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import corruptions, images
from ..models.unet import unet
from ..registry import register_model
from .base import Pipeline, RestorationResult, check_mask

MAX_SIDE = 1024
MIN_SIDE = 8


class BlockInpaintPipeline(Pipeline):
    task = "inpainting"

    def prepare(self, image: Any) -> np.ndarray:
        """Any accepted input -> HxWx3 RGB in [0,1] (grey repeated, alpha composited onto white)."""
        rgb = images.to_rgb(image, background=1.0)
        h, w = rgb.shape[:2]
        if max(h, w) > MAX_SIDE:
            raise ValueError(f"image is {w}x{h}; cifar10-blocks takes at most {MAX_SIDE} px on the long side: "
                             f"downscale it first (e.g. PIL's Image.thumbnail(({MAX_SIDE}, {MAX_SIDE})))")
        if min(h, w) < MIN_SIDE:
            raise ValueError(f"image is {w}x{h}; cifar10-blocks needs at least {MIN_SIDE} px on each side")
        return rgb

    def corrupt(self, image: Any, n_blocks: int = 50, block_size: int = 2, seed: int | None = None):
        """`n_blocks` random `block_size` x `block_size` blocks set to 0; mask True = missing."""
        return corruptions.random_blocks(self.prepare(image), n_blocks, block_size, seed)

    @torch.inference_mode()
    def __call__(self, image: Any, mask: Any = None) -> RestorationResult:
        # 1. convert input and mask; 2. the U-Net sees (damaged RGB, mask); 3. paste known pixels back.
        x = self.prepare(image)
        m = check_mask(mask, x.shape[:2])
        damaged = np.where(m[..., None], 0.0, x).astype(np.float32)
        inp = torch.cat([self._to_tensor(damaged), self._to_tensor(m.astype(np.float32))], dim=1)  # (1, 4, H, W)
        pred = self._to_numpy(self.model(inp))
        return RestorationResult(image=np.where(m[..., None], pred, damaged).astype(np.float32))


register_model(
    "cifar10-blocks",
    task="inpainting",
    summary="Mask-aware U-Net that fills missing blocks and scratches in colour images (32x32 up to 1024 px)",
    builder=unet,
    model_kwargs=dict(in_channels=4, out_channels=3, base_channels=32, depth=2),
    pipeline_cls=BlockInpaintPipeline,
    tags=("cifar10", "inpainting", "unet"),
)
