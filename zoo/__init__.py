"""A model zoo of small image-restoration models.

import zoo
zoo.list_models()                  # every registered name
p = zoo.load("mnist-denoise")     # weights verified by sha256, eval mode, CPU
noisy, _ = p.corrupt(img, sigma=0.5, seed=0)
out = p(noisy)                     # out.image: float32 in [0,1]
"""

from __future__ import annotations

import os

from . import pipelines  # noqa: F401  (registers the entries)
from .cards import load_card
from .hub import WeightsError, WeightsIntegrityError, WeightsNotFoundError, hub_resolve_and_build
from .pipelines.base import Pipeline, RestorationResult, check_dtype, resolve_device
from .registry import get_entry, is_model, list_models

__version__ = "0.1.0"


def load(name: str, *, device: str = "cpu", dtype: str = "float32", revision: str | None = None) -> Pipeline:
    """Load a model; returns its task pipeline in eval mode.

    name: a registry name (`zoo.list_models()`: weights verified against the registry's sha256),
    a local folder (model.safetensors + config.json [+ README.md], as `Pipeline.save_pretrained`
    writes it; e.g. a fine-tuned copy of a registered model), or `hf-hub:ORG/NAME[@REVISION]` (files
    checked against the hashes the Hub reports, at one commit). The architecture and task of a folder
    or Hub repo come from its config.json; `p.weights_source` says where the weights came from.
    device: 'cpu', 'cuda', 'cuda:N', or 'auto' (CUDA when available, else the CPU).
    dtype: the precision to run in (`Pipeline.supported_dtypes`: float32 everywhere, float16 and
    bfloat16 where a test shows the outputs stay close to float32's); others are refused with a
    message naming the supported ones.
    revision: for a registry name, overrides its pinned Hub revision (files still checked against the
    registry's sha256); for `hf-hub:`, the branch, tag or commit.
    """
    if not isinstance(name, (str, os.PathLike)):
        raise ValueError(f"zoo.load takes a name, a folder or an hf-hub: id; got {type(name).__name__}")
    spec = os.fspath(name)
    if not is_model(spec):
        from .pretrained import load_any

        return load_any(spec, revision=revision, device=device, dtype=dtype)
    entry = get_entry(spec)
    check_dtype(spec, dtype, entry.pipeline_cls.supported_dtypes)
    resolve_device(device)  # a bad device is an error before any file is read
    model, config, source = hub_resolve_and_build(entry, revision=revision)
    p = entry.pipeline_cls(entry, model, config=config, device=device, source=source)
    return p.to(dtype=dtype) if str(dtype).removeprefix("torch.") != "float32" else p


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
