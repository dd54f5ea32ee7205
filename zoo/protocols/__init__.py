"""Evaluation protocols, one per registry name (see `base`). Importing this package registers them all."""

import importlib
import pkgutil

from .base import Protocol, get_protocol, list_protocols, register_protocol, unregister_protocol

for _mod in pkgutil.iter_modules(__path__):  # every module here but the helpers registers its protocols
    if _mod.name not in ("base", "common", "exemplar"):
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["Protocol", "get_protocol", "list_protocols", "register_protocol", "unregister_protocol"]
