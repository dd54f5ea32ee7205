"""A model zoo of small image-restoration models.

import zoo
zoo.list_models()                  # every registered name
p = zoo.load("mnist-denoise")     # weights verified by sha256, eval mode, CPU
noisy, _ = p.corrupt(img, sigma=0.5, seed=0)
out = p(noisy)                     # out.image: float32 in [0,1]
"""

from __future__ import annotations

from . import pipelines  # noqa: F401  (registers the entries)
from .cards import load_card
from .hub import WeightsError, WeightsIntegrityError, WeightsNotFoundError, hub_resolve_and_build
from .pipelines.base import Pipeline, RestorationResult, check_dtype, resolve_device
from .registry import get_entry, is_model, list_models

__version__ = "0.1.0"


def load(name: str, *, device: str = "cpu", dtype: str = "float32", revision: str | None = None) -> Pipeline:
    """Resolve, verify and load a zoo model; returns its task pipeline in eval mode.

    device: 'cpu', 'cuda', 'cuda:N', or 'auto' (CUDA when available, else the CPU).
    dtype: the precision to run in; every model supports float32 (`Pipeline.supported_dtypes`),
    others are refused with a message naming the supported ones.
    revision: overrides the registry's pinned Hub revision (files are still checked
    against the registry's sha256, so it must point at the same files).
    """
    entry = get_entry(name)
    check_dtype(name, dtype, entry.pipeline_cls.supported_dtypes)
    resolve_device(device)  # a bad device is an error before any file is read
    model, config, source = hub_resolve_and_build(entry, revision=revision)
    return entry.pipeline_cls(entry, model, config=config, device=device, source=source)


def card(name: str):
    """The parsed model card (`huggingface_hub.ModelCard`) of a registered model."""
    return load_card(get_entry(name).card_path)


__all__ = [
    "Pipeline",
    "RestorationResult",
    "WeightsError",
    "WeightsIntegrityError",
    "WeightsNotFoundError",
    "card",
    "get_entry",
    "is_model",
    "list_models",
    "load",
]
