"""What every task pipeline shares: the result object and the loaded-model wrapper.

A pipeline owns one verified, eval-mode torch module and the task's rules:
how an input becomes the model's image (`prepare`), the task's own damage
(`corrupt`), and `__call__`, which runs under `torch.inference_mode()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..registry import ModelEntry


@dataclass
class RestorationResult:
    """The public result. Field names are API: keep them stable.

    image:  restored image, float32 in [0,1], HxW (grey) or HxWx3 (colour)
    label:  predicted class index, where the task classifies
    probs:  class probabilities (sums to 1), where the task classifies
    frames: intermediate images (each like `image`), where the model is iterative
    features: the encoder's feature map (C, h, w), where the task reconstructs from features
    """

    image: np.ndarray
    label: int | None = None
    probs: np.ndarray | None = None
    frames: list[np.ndarray] | None = None
    class_names: tuple[str, ...] | None = None
    features: np.ndarray | None = None

    @property
    def label_name(self) -> str | None:
        if self.label is None or self.class_names is None:
            return None
        return self.class_names[self.label]


def check_mask(mask: Any, shape: tuple[int, int]) -> np.ndarray:
    """A user mask -> (H, W) bool, True = missing; ValueError when it cannot be one."""
    if mask is None:
        raise ValueError("this task needs a mask (True = missing pixel); get one from pipeline.corrupt(...)")
    arr = np.asarray(mask)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.shape != tuple(shape):
        raise ValueError(f"mask has shape {arr.shape}; expected {tuple(shape)} to match the image")
    if arr.dtype != bool:
        if not np.all(np.isfinite(arr.astype(np.float64))):
            raise ValueError("mask contains NaN or infinity; expected booleans (True = missing)")
        arr = arr.astype(np.float64) > 0.5
    return arr


def resolve_device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available here; use device='cpu'")
    return dev


class Pipeline:
    """Base class: holds the entry, the module, its config and where the weights came from."""

    task: str = ""

    def __init__(self, entry: ModelEntry, model: torch.nn.Module, config: dict | None = None,
                 device: str | torch.device = "cpu", source: str = "") -> None:
        self.entry = entry
        self.name = entry.name
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.config = dict(config or {})
        self.weights_source = source
        self._card = None

    @property
    def card(self):
        """The parsed model card (`huggingface_hub.ModelCard`), read on first use."""
        if self._card is None:
            from ..cards import load_card

            self._card = load_card(self.entry.card_path)
        return self._card

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, device={self.device}, weights={self.weights_source!r})"

    def _to_tensor(self, arr: np.ndarray) -> torch.Tensor:
        """(H, W) -> (1, 1, H, W); (H, W, 3) -> (1, 3, H, W), on the pipeline's device."""
        t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
        t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
        return t.to(self.device)

    @staticmethod
    def _to_numpy(t: torch.Tensor) -> np.ndarray:
        """(1, 1, H, W) -> (H, W); (1, 3, H, W) -> (H, W, 3), float32 clipped to [0,1]."""
        arr = t.detach().float().clamp(0, 1).cpu().numpy()[0]
        return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
