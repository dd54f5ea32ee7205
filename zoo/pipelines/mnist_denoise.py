"""mnist-denoise: a U-Net removes clipped Gaussian noise from 28x28 digits."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import corruptions, images
from ..models.unet import unet
from ..registry import register_model
from .base import Pipeline, RestorationResult


class DenoisePipeline(Pipeline):
    task = "denoising"
    image_size = 28

    def prepare(self, image: Any) -> np.ndarray:
        """Any accepted input -> 28x28 grey, light-on-dark (see `zoo.images.to_small_grey`)."""
        return images.to_small_grey(image, self.image_size)

    def corrupt(self, image: Any, sigma: float = 0.5, seed: int | None = None) -> tuple[np.ndarray, None]:
        """noisy = clip(x + sigma * N(0,1), 0, 1); no mask."""
        return corruptions.gaussian_noise(self.prepare(image), sigma, seed)

    @torch.inference_mode()
    def __call__(self, image: Any, mask: Any = None) -> RestorationResult:
        # 1. convert the input; 2. run the U-Net; 3. back to a numpy image.
        x = self._to_tensor(self.prepare(image))  # (1, 1, 28, 28)
        return RestorationResult(image=self._to_numpy(self.model(x)))


register_model(
    "mnist-denoise",
    task="denoising",
    summary="U-Net that removes Gaussian noise (sigma 0.5) from 28x28 MNIST digits",
    builder=unet,
    model_kwargs=dict(in_channels=1, out_channels=1, base_channels=32, depth=2),
    pipeline_cls=DenoisePipeline,
    tags=("mnist", "denoising", "unet"),
)
