"""A small decoder that turns frozen encoder features back into an RGB image.

(B, C, H/s, W/s) features -> residual blocks at the feature resolution (where the
information is) -> log2(s) pixel-shuffle upsamplings, halving the width each time, the first
`up_blocks` of them followed by a residual block (detail at 2x and 4x the feature resolution)
-> (B, 3, H, W). Plain 3x3 convolutions and ReLU only: they are what the CPU runs
fastest, which the webcam tab needs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import ResBlock


class Upsample(nn.Module):
    """(B, c_in, h, w) -> (B, c_out, 2h, 2w): a 3x3 conv to 4*c_out channels, then pixel shuffle."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, 4 * c_out, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shuffle(self.conv(x)))


class FeatureDecoder(nn.Module):
    """Features at output stride `stride` -> RGB image, unclamped (the pipeline clamps for display)."""

    def __init__(
        self,
        in_channels: int = 40,
        stride: int = 8,
        width: int = 64,
        blocks: int = 3,
        min_width: int = 16,
        up_blocks: int = 0,
    ) -> None:
        super().__init__()
        if stride < 2 or stride & (stride - 1):
            raise ValueError(f"stride must be a power of two >= 2, got {stride}")
        self.stride = stride
        # Per-channel statistics of the encoder's features (set by the trainer from training crops,
        # shipped with the weights): the raw features reach |x| ~ 40, too wide for a plain conv stack.
        self.register_buffer("feature_mean", torch.zeros(1, in_channels, 1, 1))
        self.register_buffer("feature_std", torch.ones(1, in_channels, 1, 1))
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[ResBlock(width) for _ in range(blocks)])
        n_up = int(math.log2(stride))
        if not 0 <= up_blocks <= n_up:
            raise ValueError(f"up_blocks must be 0..{n_up} at stride {stride}, got {up_blocks}")
        ups, refine, c = [], [], width
        for i in range(n_up):
            ups.append(Upsample(c, max(min_width, c // 2)))
            c = max(min_width, c // 2)
            refine.append(ResBlock(c) if i < up_blocks else nn.Identity())
        self.up = nn.Sequential(*ups)
        # Apart from `up` so that the keys of decoders without them stay those of the shipped files.
        self.refine = nn.ModuleList(refine)
        self.head = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = (feats - self.feature_mean) / self.feature_std
        x = self.blocks(self.stem(x))
        for up, refine in zip(self.up, self.refine):
            x = refine(up(x))
        return self.head(x) + 0.5  # centred on mid-grey


def feature_decoder(**kwargs) -> FeatureDecoder:
    return FeatureDecoder(**kwargs)
