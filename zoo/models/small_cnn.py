"""A small CNN classifier for 28x28 grey images (4 conv layers; 0.47M parameters at width 32, 0.75M at 48)."""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int = 10, width: int = 32, dropout: float = 0.3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(1, width),
            _block(width, width),
            nn.MaxPool2d(2),  # 14x14
            _block(width, 2 * width),
            _block(2 * width, 2 * width),
            nn.MaxPool2d(2),  # 7x7
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(2 * width * 49, 128),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 1, 28, 28) in [0,1] -> logits (B, num_classes)."""
        return self.head(self.features(x))
