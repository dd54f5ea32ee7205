"""The hub's tab registry: each tab module registers its builder with the zoo names it serves.

    @register_tab("feature-recon*", order=50)      # one tab may serve several names
    def build_feature_tab() -> None: ...

`build_all()` imports every module of the `app` package (so a new tab is a new file) and
builds the registered tabs in `order`. `tab_for(name)` says which tab serves a registry
name; the completeness test asks it for every `zoo.list_models()` name.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

_HELPERS = {"common", "compute_lanes", "gradio_cache", "tabs"}


@dataclass(frozen=True)
class TabSpec:
    builder: Callable[[], None]
    patterns: tuple[str, ...]  # registry names (fnmatch patterns) the tab serves; () for non-model tabs
    order: int


_tabs: dict[str, TabSpec] = {}


def register_tab(*patterns: str, order: int = 100) -> Callable:
    def decorate(builder: Callable[[], None]) -> Callable[[], None]:
        _tabs[f"{builder.__module__}.{builder.__name__}"] = TabSpec(builder, tuple(patterns), order)
        return builder

    return decorate


def unregister_tab(builder: Callable) -> None:
    _tabs.pop(f"{builder.__module__}.{builder.__name__}", None)


def discover() -> None:
    """Import every tab module of the `app` package (registration is their import side effect)."""
    import app

    for mod in pkgutil.iter_modules(app.__path__):
        if mod.name not in _HELPERS:
            importlib.import_module(f"app.{mod.name}")


def registered() -> list[TabSpec]:
    discover()
    return sorted(_tabs.values(), key=lambda t: (t.order, t.builder.__name__))


def in_tab_order(names: list[str]) -> list[str]:
    """`names` in the order their tabs appear (names no tab serves last): the first screen's first."""
    specs = registered()
    return sorted(names, key=lambda n: next((i for i, t in enumerate(specs) if _serves(t, n)), len(specs)))


def _serves(tab: TabSpec, name: str) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in tab.patterns)


def tab_for(name: str) -> TabSpec | None:
    """The tab that serves registry name `name`, or None."""
    return next((t for t in registered() if _serves(t, name)), None)


def build_all() -> None:
    """Build every registered tab, in order, inside the caller's `gr.Tabs()`."""
    for spec in registered():
        spec.builder()
