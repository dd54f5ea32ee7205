"""Which precision runs a pipeline fastest on this machine: bfloat16 where the CPU has it natively.

CPUs with native bfloat16 (AVX512-BF16, AMX) run the feature-recon convolutions in about 60% of the
float32 time (on the reference 2-core machine, one thread, a 224x224 frame: 13 vs 20 ms end to end),
and the picture barely moves: 24.42 vs 24.44 dB PSNR on the 11 validation photos' 224 px centre squares,
48 dB between the two reconstructions (`tests/test_open_zoo.py` bounds the difference for every
input). Elsewhere bfloat16 is emulated and slower, so the choice is measured on the machine that runs
the model, not read from a list of CPU flags. Used by the hub's webcam (`app/live_precision.py`) and
the benchmark.
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .pipelines.base import Pipeline

CANDIDATE = "bfloat16"
# bfloat16 is chosen only when it saves at least this share of the float32 frame time: a near tie
# keeps float32 (exact, and what the card measured).
MIN_SAVING = 0.15
WARM_CALLS, TIMED_ROUNDS = 3, 7


def choose(seconds: dict[str, float]) -> str:
    """The precision to run in, from the median seconds a frame took in each: the candidate only when
    it saves at least MIN_SAVING of float32's time."""
    fast = seconds.get(CANDIDATE)
    if fast is not None and fast <= (1 - MIN_SAVING) * seconds["float32"]:
        return CANDIDATE
    return "float32"


def frame_seconds(pipelines: dict[str, Pipeline], frame: np.ndarray) -> dict[str, float]:
    """Median seconds one `frame` takes in each pipeline, timed in alternation (round by round), so that
    other work on the machine slows every candidate alike."""
    for p in pipelines.values():
        for _ in range(WARM_CALLS):  # the first calls build oneDNN's kernels for the shape
            p(frame)
    samples: dict[str, list[float]] = {k: [] for k in pipelines}
    for _ in range(TIMED_ROUNDS):
        for key, p in pipelines.items():
            t0 = time.perf_counter()
            p(frame)
            samples[key].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in samples.items()}


def fastest(base: Pipeline, size: int = 224) -> Pipeline:
    """`base` (a float32 pipeline of a registry model), or a bfloat16 copy of it where that runs a
    `size` x `size` frame measurably faster here (measured now: about half a second)."""
    from . import load

    if CANDIDATE not in base.supported_dtypes or base.device.type != "cpu":
        return base
    candidates = {"float32": base, CANDIDATE: load(base.name, dtype=CANDIDATE)}
    frame = np.random.default_rng(0).random((size, size, 3), dtype=np.float32)
    return candidates[choose(frame_seconds(candidates, frame))]
