"""Reproduce a model card's table: the model's protocol (`zoo.protocols`) on the fetched data.

    zoo evaluate mnist-denoise              # the card's table, printed
    zoo evaluate mnist-masked --limit 32    # a quick look on the first 32 test images

The protocols read the test split, once, for the figures in the cards (`training.evaluate` writes
them in a checkout; it adds baselines only a trainer can build when their committed weights are
missing).
"""

from __future__ import annotations

from typing import Any

from . import protocols
from .registry import CARDS_DIR


def run(name: str, limit: int | None = None, data_path: str | None = None, **extras: Any):
    """The protocol's EvalReport; a full run (no limit) also draws its pictures into the cards folder."""
    protocol = protocols.get_protocol(name)
    return protocol.evaluate(
        limit=limit, data_path=data_path, card_dir=None if limit else CARDS_DIR, **extras
    )
