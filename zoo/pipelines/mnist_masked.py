"""mnist-masked: a mask-aware U-Net fills stripes, squares or scattered holes in 28x28 digits."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np

from .. import corruptions, data, images
from ..exemplars import ExemplarBank
from ..models.unet import unet
from ..registry import register_model
from ..export import ExportSpec
from .export_graphs import MaskedFill, grey_inputs
from .base import GREY_28_DATA_CONFIG, HALF_PRECISIONS, Pipeline, RestorationResult

DAMAGE_KINDS = ("vertical", "horizontal", "patch", "random")
# The exemplar blend's defaults, chosen on validation digits and written into mnist_masked_blend.json by
# `python -m training.tune_exemplar_blend --write`: neighbours averaged, and the U-Net's share of a hole by
# the hole's share of the image (bands: fraction of the 784 pixels missing <= bound).
BLEND_FILE = Path(__file__).with_name("mnist_masked_blend.json")
_BLEND = json.loads(BLEND_FILE.read_text())
EXEMPLAR_K = int(_BLEND["k"])
EXEMPLAR_BANDS = tuple(float(b) for b in _BLEND["bands"])
EXEMPLAR_WEIGHTS = tuple(float(w) for w in _BLEND["weights"])


def hole_band(masks: np.ndarray) -> np.ndarray:
    """(N, 28, 28) masks -> (N,) each image's EXEMPLAR_BANDS index (its hole's share <= that bound)."""
    return np.searchsorted(EXEMPLAR_BANDS, masks.reshape(len(masks), -1).mean(1), side="left")


def band_weights(masks: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """(N, 28, 28) masks -> (N, 1, 1) the U-Net's weight for each image's hole, by its band (one weight:
    every hole)."""
    band = np.minimum(hole_band(masks), len(weights) - 1)
    return np.asarray(weights, dtype=np.float32)[band][:, None, None]


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
    supported_dtypes = HALF_PRECISIONS  # within DTYPE_TOLERANCE of float32 (tests/test_open_zoo.py)
    task = "inpainting"
    needs_mask = True
    image_size = 28
    exemplars: ExemplarBank | None = None  # set by `with_exemplars`
    exemplar_k = EXEMPLAR_K
    exemplar_weights = EXEMPLAR_WEIGHTS

    def with_exemplars(
        self, digits: np.ndarray | None = None, k: int = EXEMPLAR_K, weight: float | None = None
    ) -> "MaskedPipeline":
        """A copy of this pipeline that blends each hole with exemplar inpainting (this one is unchanged).

        hole = w * U-Net + (1 - w) * mean of the k training digits nearest on the visible pixels.
        w: `weight` for every hole, or by default EXEMPLAR_WEIGHTS by the hole's size (tuned on
        validation digits). digits: (N, 28, 28) floats in [0, 1]; default the full MNIST's 60,000
        training digits (`zoo data fetch mnist` first). The bank stays in memory (188 MB
        for 60,000) and is searched on every call.
        """
        if weight is not None and not 0.0 <= weight <= 1.0:
            raise ValueError(f"weight is the U-Net's share of each hole, between 0 and 1; got {weight}")
        if digits is None:
            digits, _ = data.load_mnist("train", source="full")
        bank = ExemplarBank(digits)
        bank.check_k(k)  # here, not at the first call
        blended = copy.copy(self)
        blended.exemplars, blended.exemplar_k = bank, int(k)
        blended.exemplar_weights = EXEMPLAR_WEIGHTS if weight is None else (float(weight),)
        return blended

    def prepare(self, image: Any) -> np.ndarray:
        """Any accepted input -> 28x28 grey, light-on-dark (see `zoo.images.to_small_grey`)."""
        return images.to_small_grey(image, self.image_size)

    def corrupt(self, image: Any, kind: str = "vertical", size: float = 7, seed: int | None = None):
        return mnist_damage(self.prepare(image), kind, size, seed)

    def export_spec(self):
        """ONNX graph: (image, mask) (N, 1, 28, 28) each, mask 1 = missing -> restored (N, 1, 28, 28)."""
        if self.exemplars is not None:
            raise ValueError(
                "the exemplar blend searches the training digits in Python and has no ONNX graph; "
                "export the pipeline that `zoo.load` returns, before `with_exemplars()`"
            )
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
        # 3. with exemplars, each hole is blended with the exemplar fill; 4. known pixels are pasted back.
        x = np.where(masks, 0.0, x).astype(np.float32)
        pred = self._run(np.stack([x, masks.astype(np.float32)], axis=1))[:, 0]  # (N, 28, 28)
        if self.exemplars is not None:
            fill = self.exemplars.fill(x, masks, self.exemplar_k)  # (N, 28, 28)
            w = band_weights(masks, self.exemplar_weights)  # (N, 1, 1)
            pred = w * pred + (1.0 - w) * fill
        return [RestorationResult(image=img) for img in np.where(masks, pred, x).astype(np.float32)]


register_model(
    "mnist-masked",
    task="inpainting",
    summary="Mask-aware U-Net that restores MNIST digits with stripes or square patches removed",
    builder=unet,
    # context: a 256-unit global-context block at the 7x7 bottleneck (a wide hole needs the digit's far side)
    model_kwargs=dict(in_channels=2, out_channels=1, base_channels=32, depth=2, context=256),
    pipeline_cls=MaskedPipeline,
    data_config=GREY_28_DATA_CONFIG,
    license="mit",
    tags=("mnist", "inpainting", "unet"),
)
