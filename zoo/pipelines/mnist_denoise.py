"""mnist-denoise: a U-Net removes clipped Gaussian noise from 28x28 digits."""

from __future__ import annotations

from typing import Any

import numpy as np
from .. import corruptions, images
from ..models.unet import unet
from ..registry import register_model
from ..export import ExportSpec
from .export_graphs import Clamped, grey_inputs
from .base import GREY_28_DATA_CONFIG, HALF_PRECISIONS, Pipeline, RestorationResult


class DenoisePipeline(Pipeline):
    supported_dtypes = HALF_PRECISIONS  # within DTYPE_TOLERANCE of float32 (tests/test_open_zoo.py)
    task = "denoising"
    image_size = 28

    def prepare(self, image: Any) -> np.ndarray:
        """Any accepted input -> 28x28 grey, light-on-dark (see `zoo.images.to_small_grey`)."""
        return images.to_small_grey(image, self.image_size)

    def corrupt(self, image: Any, sigma: float = 0.5, seed: int | None = None) -> tuple[np.ndarray, None]:
        """noisy = clip(x + sigma * N(0,1), 0, 1); no mask."""
        return corruptions.gaussian_noise(self.prepare(image), sigma, seed)

    def export_spec(self):
        """ONNX graph: noisy image (N, 1, 28, 28) -> denoised (N, 1, 28, 28); the size is fixed at 28x28."""
        return ExportSpec(
            Clamped(self.model),
            {"image": (1, 1, 28, 28)},
            ("denoised",),
            grey_inputs,
            {"image": {0: "batch"}, "denoised": {0: "batch"}},
        )

    def _forward(self, x: np.ndarray, masks: np.ndarray | None, **kwargs) -> list[RestorationResult]:
        # x: (N, 28, 28) noisy digits -> the U-Net -> (N, 28, 28) in [0,1]; noise has no mask.
        return [RestorationResult(image=img) for img in self._run(x[:, None])[:, 0]]


register_model(
    "mnist-denoise",
    task="denoising",
    summary="U-Net that removes Gaussian noise (sigma 0.5) from 28x28 MNIST digits",
    builder=unet,
    model_kwargs=dict(in_channels=1, out_channels=1, base_channels=32, depth=2),
    pipeline_cls=DenoisePipeline,
    data_config=GREY_28_DATA_CONFIG,
    license="mit",
    tags=("mnist", "denoising", "unet"),
)
