"""A model zoo of small image-restoration models.

import zoo
zoo.list_models()                  # every registered name
p = zoo.load("mnist-denoise")     # weights verified by sha256, eval mode, CPU
noisy, _ = p.corrupt(img, sigma=0.5, seed=0)
out = p(noisy)                     # out.image: float32 in [0,1]

`import zoo` is light (no torch): the names below are imported on first use, so the command line
answers `zoo --help` and `zoo list` without loading torch.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any


def _version() -> str:
    """The installed distribution's version; in a source checkout, pyproject.toml's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("restoration-zoo")
    except PackageNotFoundError:
        import re
        from pathlib import Path

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        found = (
            re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(), re.M)
            if pyproject.is_file()
            else None
        )
        return found.group(1) if found else "0+unknown"


__version__ = _version()

# name -> (module, attribute): what `zoo.<name>` resolves to on first use
_LAZY = {
    "Pipeline": ("zoo.pipelines.base", "Pipeline"),
    "RestorationResult": ("zoo.pipelines.base", "RestorationResult"),
    "WeightsError": ("zoo.hub", "WeightsError"),
    "WeightsIntegrityError": ("zoo.hub", "WeightsIntegrityError"),
    "WeightsNotFoundError": ("zoo.hub", "WeightsNotFoundError"),
    "ModelEntry": ("zoo.registry", "ModelEntry"),
    "get_entry": ("zoo.registry", "get_entry"),
    "is_model": ("zoo.registry", "is_model"),
    "list_models": ("zoo.registry", "list_models"),
    "register_model": ("zoo.registry", "register_model"),
    "load_card": ("zoo.cards", "load_card"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
    else:
        try:  # a submodule: zoo.data, zoo.images, zoo.metrics, ...
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'zoo' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


def load(
    name: str | os.PathLike, *, device: str = "cpu", dtype: Any = "float32", revision: str | None = None
):
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
    from .hub import hub_resolve_and_build
    from .pipelines.base import check_dtype, resolve_device
    from .registry import get_entry, is_model

    if not isinstance(name, (str, os.PathLike)):
        raise ValueError(f"zoo.load takes a name, a folder or an hf-hub: id; got {type(name).__name__}")
    spec = os.fspath(name)
    if not is_model(spec):
        from .pretrained import load_any

        return load_any(spec, revision=revision, device=device, dtype=dtype)
    entry = get_entry(spec)
    label = check_dtype(spec, dtype, entry.pipeline_cls.supported_dtypes)
    resolve_device(device)  # a bad device is an error before any file is read
    model, config, source = hub_resolve_and_build(entry, revision=revision)
    p = entry.pipeline_cls(entry, model, config=config, device=device, source=source)
    return p.to(dtype=label) if label != "float32" else p


def card(name: str):
    """The parsed model card (`huggingface_hub.ModelCard`) of a registered model."""
    from . import cards, registry

    return cards.load_card(registry.get_entry(name).card_path)


if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from .cards import load_card
    from .hub import WeightsError, WeightsIntegrityError, WeightsNotFoundError
    from .pipelines.base import Pipeline, RestorationResult
    from .registry import ModelEntry, get_entry, is_model, list_models, register_model

__all__ = [
    "ModelEntry",
    "Pipeline",
    "RestorationResult",
    "WeightsError",
    "WeightsIntegrityError",
    "WeightsNotFoundError",
    "__version__",
    "card",
    "get_entry",
    "is_model",
    "list_models",
    "load",
    "register_model",
]
