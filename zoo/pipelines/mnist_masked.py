"""mnist-masked: a mask-aware U-Net fills stripes, squares or scattered holes in 28x28 digits."""

from __future__ import annotations

from typing import Any

import numpy as np
from .. import corruptions, images
from ..models.unet import unet
from ..registry import register_model
from ..export import ExportSpec
from .export_graphs import MaskedFill, grey_inputs
from .base import Pipeline, RestorationResult

DAMAGE_KINDS = ("vertical", "horizontal", "patch", "random")


def mnist_damage(img: np.ndarray, kind: str, size: float, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """kind: vertical/horizontal stripe (size = width), square patch (size = side), random pixels (size =
    ratio)."""
    if kind in ("vertical", "horizontal"):
        return corruptions.stripe(img, int(size), kind, seed)
    if kind == "patch":
        return corruptions.square_patch(img, int(size), seed)
    if kind == "random":
        return corruptions.random_pixel_mask(img, float(size), seed)
    raise ValueError(f"damage kind must be one of {DAMAGE_KINDS}, got {kind!r}")


class MaskedPipeline(Pipeline):
    task = "inpainting"
    needs_mask = True
    image_size = 28

    def prepare(self, image: Any) -> np.ndarray:
        """Any accepted input -> 28x28 grey, light-on-dark (see `zoo.images.to_small_grey`)."""
        return images.to_small_grey(image, self.image_size)

    def corrupt(self, image: Any, kind: str = "vertical", size: float = 7, seed: int | None = None):
        return mnist_damage(self.prepare(image), kind, size, seed)

    def export_spec(self):
        """ONNX graph: (image, mask) (N, 1, 28, 28) each, mask 1 = missing -> restored (N, 1, 28, 28)."""
        axes = {k: {0: "batch"} for k in ("image", "mask", "restored")}
        return ExportSpec(
            MaskedFill(self.model),
            {"image": (1, 1, 28, 28), "mask": (1, 1, 28, 28)},
            ("restored",),
            grey_inputs,
            axes,
        )

    def _forward(self, x: np.ndarray, masks: np.ndarray | None, **kwargs) -> list[RestorationResult]:
        # x, masks: (N, 28, 28). 1. holes are zero, as in training; 2. the U-Net sees (damaged, mask);
        # 3. the known pixels are pasted back.
        x = np.where(masks, 0.0, x).astype(np.float32)
        pred = self._run(np.stack([x, masks.astype(np.float32)], axis=1))[:, 0]  # (N, 28, 28)
        return [RestorationResult(image=img) for img in np.where(masks, pred, x).astype(np.float32)]


register_model(
    "mnist-masked",
    task="inpainting",
    summary="Mask-aware U-Net that restores MNIST digits with stripes or square patches removed",
    builder=unet,
    # context: a 256-unit global-context block at the 7x7 bottleneck (a wide hole needs the digit's far side)
    model_kwargs=dict(in_channels=2, out_channels=1, base_channels=32, depth=2, context=256),
    pipeline_cls=MaskedPipeline,
    tags=("mnist", "inpainting", "unet"),
)
