"""Task pipelines. Importing this package registers every zoo entry: each module here (but the helpers)
calls `register_model`, as protocols, trainers and tabs are found, so a new model is new files only."""

import importlib
import pkgutil

from .base import Pipeline, RestorationResult

HELPERS = ("base", "export_graphs")  # modules that register nothing


def discover() -> None:
    """Import every pipeline module of this package (registration is their import side effect)."""
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in HELPERS:
            importlib.import_module(f"{__name__}.{mod.name}")


discover()

__all__ = ["Pipeline", "RestorationResult", "discover"]
