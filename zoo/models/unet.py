"""A small U-Net (Ronneberger et al., 2015) for restoring small images.

Used by `mnist-denoise` (1 channel in, the noisy digit) and `mnist-masked`
(2 channels in: the damaged digit and the mask). Any input size works: the
input is reflect-padded to a multiple of 2**depth and cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _norm(ch: int) -> nn.GroupNorm:
    """GroupNorm, not BatchNorm: a single image at inference behaves as in training."""
    return nn.GroupNorm(min(8, ch), ch)


class ConvBlock(nn.Sequential):
    """Two 3x3 conv -> GroupNorm -> GELU layers."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 3, padding=1),
            _norm(out_ch),
            nn.GELU(),
            nn.Conv2d(out_ch, out_ch, 3, padding=1),
            _norm(out_ch),
            nn.GELU(),
        )


class UNet(nn.Module):
    def __init__(
        self, in_channels: int = 1, out_channels: int = 1, base_channels: int = 32, depth: int = 2
    ) -> None:
        super().__init__()
        self.depth = depth
        chans = [base_channels * 2**i for i in range(depth + 1)]  # e.g. 32, 64, 128
        self.down = nn.ModuleList()
        prev = in_channels
        for c in chans[:-1]:
            self.down.append(ConvBlock(prev, c))
            prev = c
        self.bottleneck = ConvBlock(chans[-2], chans[-1])
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth))
        )
        self.dec = nn.ModuleList(ConvBlock(2 * chans[i], chans[i]) for i in reversed(range(depth)))
        self.head = nn.Conv2d(chans[0], out_channels, 1)
        nn.init.zeros_(self.head.weight)  # start as the identity on the first channels
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in_channels, H, W) in [0,1] -> (B, out_channels, H, W), roughly [0,1].

        Residual: the output is the first `out_channels` input channels plus a learned
        correction (DnCNN-style, much easier to learn than the image itself). It is not
        clamped here, so the loss keeps its gradient; pipelines clamp to [0,1] for display.
        """
        base = x[:, : self.head.out_channels]
        h, w = x.shape[-2:]
        m = 2**self.depth
        pad_h, pad_w = (-h) % m, (-w) % m
        if pad_h or pad_w:
            x = F.pad(
                x, (0, pad_w, 0, pad_h), mode="reflect" if min(h, w) > max(pad_h, pad_w) else "replicate"
            )
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        return base + self.head(x)[..., :h, :w]


def unet(**kwargs) -> UNet:
    return UNet(**kwargs)
