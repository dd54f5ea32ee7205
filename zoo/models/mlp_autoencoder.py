"""A fully connected autoencoder with a 2-number bottleneck (784 -> ... -> 2 -> ... -> 784).

`mnist-ae2d` replaces the source project's 784-2-784 autoencoder: the code is
still two numbers, so every digit is a point in a plane that can be drawn and
decoded anywhere; hidden layers on each side make the map non-linear.
"""

from __future__ import annotations

import torch
from torch import nn


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


class MLPAutoencoder(nn.Module):
    def __init__(
        self, image_size: int = 28, hidden: tuple[int, ...] = (256, 64), latent_dim: int = 2
    ) -> None:
        super().__init__()
        self.image_size = image_size
        n = image_size * image_size
        self.encoder = _mlp([n, *hidden, latent_dim])
        self.decoder = _mlp([latent_dim, *reversed(hidden), n])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 1, S, S) -> z: (B, latent_dim)."""
        return self.encoder(x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, latent_dim) -> (B, 1, S, S) in [0,1]."""
        s = self.image_size
        return torch.sigmoid(self.decoder(z)).view(-1, 1, s, s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def mlp_autoencoder(**kwargs) -> MLPAutoencoder:
    if "hidden" in kwargs:
        kwargs["hidden"] = tuple(kwargs["hidden"])
    return MLPAutoencoder(**kwargs)
