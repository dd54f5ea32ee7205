"""cifar10-blocks: a small U-Net learns a correction on top of the classical fill of blanked blocks.

The network's input is [biharmonic fill (3), damaged RGB (3), mask (1)] and its output is
the fill plus a learned residual (`zoo.models.unet`: the first input channels plus a
zero-initialised head), so an untrained network *is* the biharmonic fill and training
can only start from the classical method. The result is pasted into the holes only.
Any size from 8x8 up to MAX_SIDE a side; images over TILE px run tile by tile.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import baselines, corruptions, images
from ..models.unet import unet
from ..registry import register_model
from ..tiling import tiled
from ..export import ExportSpec
from .export_graphs import FillCorrection, rgb_inputs
from .base import HALF_PRECISIONS, Pipeline, RestorationResult

MAX_SIDE = 1024
MIN_SIDE = 8
TILE = 256


def network_input(damaged: np.ndarray, mask: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """(H, W, 3) damaged, (H, W) mask, (H, W, 3) fill -> (7, H, W) float32, the fill first."""
    return (
        np.concatenate([fill, damaged * ~mask[..., None], mask[..., None]], axis=-1)
        .transpose(2, 0, 1)
        .astype(np.float32)
    )


class BlockInpaintPipeline(Pipeline):
    supported_dtypes = HALF_PRECISIONS  # within DTYPE_TOLERANCE of float32 (tests/test_open_zoo.py)
    task = "inpainting"
    needs_mask = True

    def prepare(self, image: Any) -> np.ndarray:
        """Any accepted input -> HxWx3 float32 RGB (grey repeated, alpha over white); size checked."""
        h, w = images.peek_size(image) or (MIN_SIDE, MIN_SIDE)  # refuse from the header, before decoding
        if max(h, w) <= MAX_SIDE:
            rgb = images.to_rgb(image)
            h, w = rgb.shape[:2]
        if max(h, w) > MAX_SIDE or min(h, w) < MIN_SIDE:
            raise ValueError(
                f"image is {w}x{h}; {self.name} takes {MIN_SIDE} to {MAX_SIDE} px a side (the limit of its "
                f"input size). "
                f"Shrink it first, e.g. PIL's img.thumbnail(({MAX_SIDE}, {MAX_SIDE}))."
            )
        return rgb

    def corrupt(self, image: Any, n_blocks: int = 50, block_size: int = 2, seed: int | None = None):
        """`n_blocks` blank squares of `block_size` px at uniform random positions; mask True = missing."""
        return corruptions.random_blocks(self.prepare(image), n_blocks, block_size, seed)

    def _restore(self, damaged: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One image (or tile): (H, W, 3) damaged, (H, W) mask -> (H, W, 3) with the holes filled."""
        return self._restore_chunk(damaged[None], mask[None])[0]

    def _restore_chunk(self, damaged: np.ndarray, masks: np.ndarray) -> np.ndarray:
        # (N, H, W, 3), (N, H, W): 1. classical fill per image; 2. the U-Net corrects all at once;
        # 3. the result is pasted into the holes only.
        inp = np.stack(
            [network_input(d, m, baselines.inpaint_biharmonic_(d, m)) for d, m in zip(damaged, masks)]
        )
        pred = self._run(inp).transpose(0, 2, 3, 1)  # (N, H, W, 3)
        return np.where(masks[..., None], pred, damaged).astype(np.float32)

    def export_spec(self):
        """ONNX graph: (image (N, 3, H, W), mask (N, 1, H, W), fill (N, 3, H, W)) -> restored (N, 3, H, W).

        H and W: multiples of 4 (the U-Net's two poolings; the traced graph has no padding).
        `fill` is the classical biharmonic fill of the damaged image, computed outside the graph
        (e.g. `zoo.baselines.inpaint_biharmonic_`, or skimage's `inpaint_biharmonic` per channel).
        """

        def inputs_for(image, mask):
            damaged = np.where(mask[..., None], 0.0, image).astype(np.float32)
            feeds = rgb_inputs(damaged, mask)
            feeds["fill"] = rgb_inputs(baselines.inpaint_biharmonic_(damaged, mask))["image"]
            return feeds

        axes = {k: {0: "batch", 2: "height", 3: "width"} for k in ("image", "mask", "fill", "restored")}
        shapes = {"image": (1, 3, 32, 32), "mask": (1, 1, 32, 32), "fill": (1, 3, 32, 32)}
        note = "H and W multiples of 4; 'fill' = the biharmonic fill of the damaged image (outside the graph)"
        return ExportSpec(FillCorrection(self.model), shapes, ("restored",), inputs_for, axes, (48, 64), note)

    def _forward(self, x: np.ndarray, masks: np.ndarray | None, **kwargs) -> list[RestorationResult]:
        x = np.where(masks[..., None], 0.0, x).astype(np.float32)  # (N, H, W, 3), holes zero
        if max(x.shape[1:3]) <= TILE:
            return [RestorationResult(image=img) for img in self._restore_chunk(x, masks)]
        return [RestorationResult(image=tiled(self._restore, img, TILE, 32, m)) for img, m in zip(x, masks)]


register_model(
    "cifar10-blocks",
    task="inpainting",
    summary="U-Net that corrects the biharmonic fill of blanked 2x2 / 4x4 blocks in small colour photos",
    builder=unet,
    model_kwargs=dict(in_channels=7, out_channels=3, base_channels=40, depth=2),
    pipeline_cls=BlockInpaintPipeline,
    data_config=dict(
        channels=3,
        input_size=None,  # any size in the range below; over 256 px tile by tile
        min_side=MIN_SIDE,
        max_side=MAX_SIDE,
        value_range=[0, 1],
        normalisation=None,
        mask="(H, W) bool, True = missing",
    ),
    license="mit",  # trained on permissively licensed photos only; CC-BY credits in the card
    tags=("photos", "inpainting", "unet", "cifar10"),
)
