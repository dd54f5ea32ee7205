"""Building blocks shared by the zoo's networks."""

from __future__ import annotations

import torch
from torch import nn


class ResBlock(nn.Module):
    """(B, width, h, w) -> the same: x + conv3x3(relu(conv3x3(x)))."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)

    def zero_init_last(self) -> None:
        """Zero the last conv (timm's name): the block computes the identity, so a block added to a
        trained network (`--init-new`) starts out changing nothing."""
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)
