"""Evaluation protocols, one per registry name (see `base`). Importing this package registers them all."""

import importlib
import pkgutil

from .base import Protocol, get_protocol, list_protocols, register_protocol, unregister_protocol

HELPERS = ("base", "common", "exemplar")  # modules that register nothing


def discover() -> None:
    """Import every protocol module of this package (registration is their import side effect)."""
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in HELPERS:
            importlib.import_module(f"{__name__}.{mod.name}")


discover()

__all__ = [
    "Protocol",
    "discover",
    "get_protocol",
    "list_protocols",
    "register_protocol",
    "unregister_protocol",
]
