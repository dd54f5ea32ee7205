"""The tensor graphs the pipelines export to ONNX (`Pipeline.export_spec`, `zoo.export`).

Each wraps a pipeline's network with the task's tensor steps so the exported file
gives what `p(image, mask=...)` gives for an already prepared image. Inputs are
float32 NCHW in [0, 1]; masks are float32 with 1 = missing.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Clamped(nn.Module):
    """image (N, C, H, W) -> network(image) clamped to [0, 1]: denoising, autoencoding."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image).clamp(0, 1)


class MaskedFill(nn.Module):
    """(image (N, 1, H, W), mask (N, 1, H, W)) -> holes zeroed, [image, mask] into the network,
    known pixels pasted back: mnist-masked."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        damaged = image * (1 - mask)
        pred = self.net(torch.cat([damaged, mask], dim=1)).clamp(0, 1)
        return mask * pred + (1 - mask) * damaged


class FillCorrection(nn.Module):
    """(image (N, 3, H, W), mask (N, 1, H, W), fill (N, 3, H, W)) -> the corrected fill in the holes,
    the image elsewhere: cifar10-blocks (the classical fill is computed outside the graph)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, mask: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
        damaged = image * (1 - mask)
        pred = self.net(torch.cat([fill, damaged, mask], dim=1)).clamp(0, 1)
        return mask * pred + (1 - mask) * damaged


class FeatureRoundTrip(nn.Module):
    """image (N, 3, H, W) in [0, 1], H and W multiples of the stride -> decoder(encoder(image)):
    feature-recon. The ImageNet normalisation is inside."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, mean, std) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        feats = self.encoder((image - self.mean) / self.std)[0]
        return self.decoder(feats).clamp(0, 1)


class RepairThenClassify(nn.Module):
    """(image (N, 1, 28, 28), mask (N, 1, 28, 28)) -> (repaired image, class probabilities (N, 10)):
    nca-fmnist, the automaton unrolled for a fixed number of steps."""

    def __init__(self, model: nn.Module, steps: int) -> None:
        super().__init__()
        self.model, self.steps = model, steps

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        known = 1 - mask
        repaired = self.model.nca(image * known, known, steps=self.steps).clamp(0, 1)
        return repaired, torch.softmax(self.model.classify(repaired), dim=1)


def grey_inputs(image, mask=None) -> dict:
    """(28, 28) prepared image [and (28, 28) bool mask] -> {"image": (1, 1, 28, 28)[, "mask": same]}."""
    feeds = {"image": np.ascontiguousarray(image, dtype=np.float32)[None, None]}
    if mask is not None:
        feeds["mask"] = np.asarray(mask, dtype=np.float32)[None, None]
    return feeds


def rgb_inputs(image, mask=None) -> dict:
    """(H, W, 3) prepared image [and (H, W) bool mask] -> {"image": (1, 3, H, W)[, "mask": (1, 1, H, W)]}."""
    feeds = {"image": np.ascontiguousarray(np.asarray(image, dtype=np.float32).transpose(2, 0, 1))[None]}
    if mask is not None:
        feeds["mask"] = np.asarray(mask, dtype=np.float32)[None, None]
    return feeds
