"""A small ResNet for 28x28 grey images: a 3x3 stem and three stages of basic residual blocks
(28x28, 14x14, 7x7), global average pooling, one linear layer. Widths (32, 64, 128) with two
blocks per stage: 0.70M parameters, about 2x the compute of SmallCNN(48) per image."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv_bn(cin, cout, stride)
        self.conv2 = _conv_bn(cout, cout)
        # Zero-initialised last BN scale: each block starts as the identity (trains faster, Goyal et al.).
        nn.init.zeros_(self.conv2[1].weight)
        self.shortcut = (
            nn.Identity()
            if cin == cout and stride == 1
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(F.relu(self.conv1(x))) + self.shortcut(x))


class SmallResNet(nn.Module):
    def __init__(
        self, num_classes: int = 10, widths: tuple[int, ...] = (32, 64, 128), blocks: int = 2
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(1, widths[0]), nn.ReLU()]
        cin = widths[0]
        for stage, width in enumerate(widths):
            for b in range(blocks):
                layers.append(BasicBlock(cin, width, 2 if stage > 0 and b == 0 else 1))
                cin = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 1, 28, 28) in [0,1] -> logits (B, num_classes)."""
        return self.head(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))
