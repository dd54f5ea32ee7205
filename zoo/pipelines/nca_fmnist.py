"""nca-fmnist: a Neural Cellular Automaton repairs masked Fashion-MNIST, then a small CNN classifies."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .. import corruptions, images
from ..data import FASHION_MNIST_CLASSES
from ..models.nca import NCA
from ..models.small_cnn import SmallCNN
from ..registry import register_model
from .base import Pipeline, RestorationResult, check_mask

MAX_STEPS = 200


class NCAWithClassifier(nn.Module):
    """The two shipped networks in one state dict: `nca.*` and `classifier.*`."""

    def __init__(self, channels: int = 16, hidden: int = 64, fire_rate: float = 0.5, width: int = 32) -> None:
        super().__init__()
        self.nca = NCA(channels, hidden, fire_rate)
        self.classifier = SmallCNN(10, width)

    def forward(self, damaged: torch.Tensor, known: torch.Tensor, steps: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
        """damaged, known: (B, 1, 28, 28) -> (repaired image (B, 1, 28, 28), class logits (B, 10))."""
        repaired = self.nca(damaged, known, steps=steps)
        return repaired, self.classifier(repaired.clamp(0, 1))


def nca_with_classifier(**kwargs) -> NCAWithClassifier:
    return NCAWithClassifier(**kwargs)


class NCAPipeline(Pipeline):
    task = "inpainting+classification"
    image_size = 28
    class_names = FASHION_MNIST_CLASSES
    default_steps = 20

    def prepare(self, image: Any) -> np.ndarray:
        """Any accepted input -> 28x28 grey, light garment on dark (see `zoo.images.to_small_grey`)."""
        return images.to_small_grey(image, self.image_size)

    def corrupt(self, image: Any, mask_ratio: float = 0.4, seed: int | None = None):
        """Drop each pixel with probability `mask_ratio` (set to 0); mask True = missing."""
        return corruptions.random_pixel_mask(self.prepare(image), mask_ratio, seed)

    @torch.inference_mode()
    def classify(self, image: Any) -> np.ndarray:
        """Class probabilities (10,) of an image as it is, without repair."""
        logits = self.model.classifier(self._to_tensor(self.prepare(image)))
        return torch.softmax(logits, dim=1)[0].cpu().numpy()

    @torch.inference_mode()
    def __call__(self, image: Any, mask: Any = None, steps: int | None = None) -> RestorationResult:
        # 1. convert input and mask; 2. run the automaton, keeping every step's image;
        # 3. classify the repaired image.
        steps = self.default_steps if steps is None else int(steps)
        if not 0 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be between 0 and {MAX_STEPS}, got {steps}")
        x = self.prepare(image)
        m = check_mask(mask, x.shape)
        damaged = self._to_tensor(np.where(m, 0.0, x))  # (1, 1, 28, 28)
        known = self._to_tensor((~m).astype(np.float32))
        out, frames = self.model.nca(damaged, known, steps=steps, return_frames=True)
        probs = torch.softmax(self.model.classifier(out.clamp(0, 1)), dim=1)[0].cpu().numpy()
        return RestorationResult(
            image=self._to_numpy(out), label=int(probs.argmax()), probs=probs.astype(np.float32),
            frames=[self._to_numpy(f) for f in frames], class_names=self.class_names,
        )


register_model(
    "nca-fmnist",
    task="inpainting+classification",
    summary="Neural Cellular Automaton repairs 40%-masked Fashion-MNIST, then a small CNN classifies it",
    builder=nca_with_classifier,
    model_kwargs=dict(channels=16, hidden=64, fire_rate=0.5, width=48),
    pipeline_cls=NCAPipeline,
    tags=("fashion-mnist", "neural-cellular-automata", "inpainting", "classification"),
)
