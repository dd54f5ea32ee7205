"""mnist-ae2d: a 2-D-bottleneck autoencoder of MNIST 5s and 7s, with a drawable latent plane."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import images
from ..models.mlp_autoencoder import mlp_autoencoder
from ..registry import register_model
from ..export import ExportSpec
from .export_graphs import Clamped, grey_inputs
from .base import GREY_28_DATA_CONFIG, HALF_PRECISIONS, Pipeline, RestorationResult


class AE2DPipeline(Pipeline):
    supported_dtypes = HALF_PRECISIONS  # within DTYPE_TOLERANCE of float32 (tests/test_open_zoo.py)
    task = "autoencoding"
    image_size = 28

    def prepare(self, image: Any) -> np.ndarray:
        return images.to_small_grey(image, self.image_size)

    def corrupt(self, image: Any, seed: int | None = None) -> tuple[np.ndarray, None]:
        """The autoencoder's only damage is its own two-number bottleneck: the input comes back as is."""
        return self.prepare(image), None

    @torch.inference_mode()
    def encode(self, image: Any) -> np.ndarray:
        """One image -> its 2 latent coordinates, shape (2,)."""
        return self.model.encode(self._to_tensor(self.prepare(image)))[0].cpu().numpy()

    @torch.inference_mode()
    def encode_batch(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 in [0,1] -> (N, 2)."""
        t = torch.from_numpy(np.asarray(batch, dtype=np.float32))[:, None].to(self.device)
        return self.model.encode(t).cpu().numpy()

    @torch.inference_mode()
    def decode(self, z: Any) -> np.ndarray:
        """2 latent coordinates -> a 28x28 image in [0,1]."""
        z = np.asarray(z, dtype=np.float32).reshape(-1)
        if z.shape != (2,) or not np.all(np.isfinite(z)):
            raise ValueError(f"expected 2 finite latent coordinates, got {z.tolist()}")
        return self._to_numpy(self.model.decode(torch.from_numpy(z)[None].to(self.device)))

    def export_spec(self):
        """ONNX graph: image (N, 1, 28, 28) -> reconstruction through the 2-number code (N, 1, 28, 28)."""
        return ExportSpec(
            Clamped(self.model),
            {"image": (1, 1, 28, 28)},
            ("reconstruction",),
            grey_inputs,
            {"image": {0: "batch"}, "reconstruction": {0: "batch"}},
        )

    def _forward(self, x: np.ndarray, masks: np.ndarray | None, **kwargs) -> list[RestorationResult]:
        # x: (N, 28, 28) -> through the two-number bottleneck -> (N, 28, 28)
        return [RestorationResult(image=img) for img in self._run(x[:, None])[:, 0]]


register_model(
    "mnist-ae2d",
    task="autoencoding",
    summary="784-512-128-2 autoencoder of MNIST 5s and 7s: every digit is a point in a drawable plane",
    builder=mlp_autoencoder,
    model_kwargs=dict(image_size=28, hidden=[512, 128], latent_dim=2),
    pipeline_cls=AE2DPipeline,
    data_config=GREY_28_DATA_CONFIG,
    license="mit",
    tags=("mnist", "autoencoder", "embedding"),
)
