"""One evaluation protocol per registry name: the single place a task's measurement is defined.

A `Protocol` holds what every outer layer needs (the evaluation script, the README
benchmark, the load test, the card test), so none of them keeps its own list of names
or its own copy of a task's damage:

* `evaluate(limit=None, data_path=None, **extras)`: the full protocol on the held-out
  split, returning a `zoo.cards.EvalReport` (table, metrics, zoo_check);
* `check()`: the zoo_check metrics on a small subset that every machine has (CI too);
* `headline(n)`: the README benchmark's row on the first n test images;
* `api_call`: an example call of the hub (endpoint, positional arguments) that serves
  this name (the load test fires it);
* `source`: the source system's published figures (the only copy; the cards quote them).

Every number goes through the public calls `Pipeline.__call__` / `Pipeline.batch`.
Protocols import only `zoo` (never `training` or `app`). Extra baselines that have to be
trained (nca-fmnist's masked-input CNN) are handed in by the caller as `extras`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Callable

from ..cards import EvalReport


@dataclass(frozen=True)
class Protocol:
    name: str
    evaluate: Callable[..., EvalReport]
    check: Callable[[], dict[str, Any]]
    headline: Callable[[int], dict[str, Any]]
    api_call: tuple[str, tuple] | None = None  # (endpoint, positional arguments) of an example hub call
    source: dict[str, Any] = field(default_factory=dict)


_protocols: dict[str, Protocol] = {}


def register_protocol(protocol: Protocol) -> Protocol:
    _protocols[protocol.name] = protocol
    return protocol


def unregister_protocol(name: str) -> None:
    _protocols.pop(name, None)


def get_protocol(name: str) -> Protocol:
    if name not in _protocols:
        known = ", ".join(sorted(_protocols)) or "(none)"
        raise ValueError(f"no evaluation protocol for {name!r}; protocols exist for: {known}")
    return _protocols[name]


def list_protocols(pattern: str = "*") -> list[str]:
    return sorted(n for n in _protocols if fnmatch.fnmatch(n, pattern))
