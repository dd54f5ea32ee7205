"""A small U-Net (Ronneberger et al., 2015) for restoring small images.

Used by `mnist-denoise` (1 channel in, the noisy digit) and `mnist-masked`
(2 channels in: the damaged digit and the mask). Any input size works: the
input is reflect-padded to a multiple of 2**depth and cropped back.

`context=N` adds a global-context block at the bottleneck: the whole feature map,
pooled to a fixed grid, goes through an N-unit MLP and comes back as a correction
everywhere. A 3x3 stack sees ~20 px around each pixel; a stripe 21 px wide in a
28 px digit needs the far side of the digit too.

`refine=N` adds N residual blocks at full resolution after the last decoder level (more depth
where the pixels are, for denoising). Both options add keys only when used, so weights of the
plain net still load, and `--init-new context` / `--init-new refine` grows a trained one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ResBlock


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


class GlobalContext(nn.Module):
    """(B, C, h, w) -> the same plus a correction computed from the whole map.

    1x1 conv to `reduce` channels, adaptive average pool to `grid` x `grid`, an MLP over all
    grid cells at once (the only place where distant pixels meet), back to (h, w) and C
    channels. The last conv starts at zero, so adding the block leaves a trained net unchanged.
    """

    def __init__(self, channels: int, hidden: int, grid: int = 7, reduce: int = 16) -> None:
        super().__init__()
        self.grid, self.reduce = grid, reduce
        self.squeeze = nn.Conv2d(channels, reduce, 1)
        self.mlp = nn.Sequential(
            nn.Linear(reduce * grid * grid, hidden), nn.GELU(), nn.Linear(hidden, reduce * grid * grid)
        )
        self.expand = nn.Conv2d(reduce, channels, 1)
        nn.init.zeros_(self.expand.weight)
        nn.init.zeros_(self.expand.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        g = F.adaptive_avg_pool2d(self.squeeze(x), self.grid)  # (B, reduce, grid, grid)
        g = self.mlp(g.flatten(1)).view(-1, self.reduce, self.grid, self.grid)
        if (h, w) != (self.grid, self.grid):  # 28x28 digits: the bottleneck is the grid itself
            g = F.interpolate(g, size=(h, w), mode="bilinear", align_corners=False)
        return x + self.expand(F.gelu(g))


class UNet(nn.Module):
    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        base_channels: int = 32,
        depth: int = 2,
        context: int = 0,
        refine: int = 0,
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
        # 28 px input, depth 2: a 7x7 bottleneck, pooled to the same grid
        self.context = GlobalContext(chans[-1], context, grid=28 // 2**depth) if context else None
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth))
        )
        self.dec = nn.ModuleList(ConvBlock(2 * chans[i], chans[i]) for i in reversed(range(depth)))
        # (B, chans[0], H, W) -> the same, N residual blocks deep
        self.refine = nn.Sequential(*[ResBlock(chans[0]) for _ in range(refine)]) if refine else None
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
        x = self.bottleneck(x)  # (B, chans[-1], H/2**depth, W/2**depth)
        if self.context is not None:
            x = self.context(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        if self.refine is not None:
            x = self.refine(x)
        return base + self.head(x)[..., :h, :w]


def unet(**kwargs) -> UNet:
    return UNet(**kwargs)
