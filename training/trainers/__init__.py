"""Trainers, found by name: every module here declares `DEFAULTS` {registry name or pattern: TrainConfig}.

A module also defines `add_args(parser)` and `train(name, cfg, args)`; optionally
`evaluation_extras(name, data_path)` for baselines its model's protocol needs trained.
Adding a model's trainer is adding a module: `python -m training.train NAME` finds it.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from types import ModuleType


def trainer_modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]


def find_trainer(name: str) -> tuple[ModuleType, str] | None:
    """(module, the DEFAULTS key that matched) for a registry name, or None."""
    for module in trainer_modules():
        for key in getattr(module, "DEFAULTS", {}):
            if key == name or fnmatch.fnmatch(name, key):
                return module, key
    return None
