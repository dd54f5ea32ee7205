"""The precision the webcam runs its model in: bfloat16 where this CPU runs a frame measurably faster in
it (`zoo.precision.fastest`, measured once per model on the machine that serves). The upload tabs stay
in float32: their figures are the card's.
"""

from __future__ import annotations

import functools
import threading

import zoo
from zoo import precision

from .common import pipeline

_LOCKS: dict[str, threading.Lock] = {}


def live_pipeline(name: str, size: int = 224) -> zoo.Pipeline:
    """The pipeline the webcam runs for model `name` (frames of `size` x `size`): the hub's float32 one,
    or a bfloat16 copy where that is faster here (measured on the first call, about half a second)."""
    with _LOCKS.setdefault(name, threading.Lock()):
        return _chosen(name, size)


@functools.lru_cache(maxsize=None)
def _chosen(name: str, size: int) -> zoo.Pipeline:
    return precision.fastest(pipeline(name), size)
