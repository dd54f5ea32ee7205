"""Helpers every protocol shares: seeds, timing, metric means, markdown tables."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

BASE_SEED = 1000  # damage for test image i is drawn from default_rng(BASE_SEED + i)
CHECK_N = 64  # images in a card's zoo_check subset (recomputed by the tests)


def seed_for(i: int) -> int:
    return BASE_SEED + int(i)


def damage_each(damage: Callable, images, *args, first: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """Every image damaged the protocol's way: image i by `damage(img, *args, seed_for(first + i))`.

    `damage` is one of zoo.corruptions' (damaged, mask) functions. Returns (damaged (N, ...),
    masks (N, H, W) bool), or masks None where the damage is noise.
    """
    pairs = [damage(img, *args, seed_for(first + i)) for i, img in enumerate(images)]
    masks = [m for _, m in pairs]
    return np.stack([d for d, _ in pairs]), None if masks[0] is None else np.stack(masks)


def mean_metric(metric, references, estimates, *extra) -> float:
    """Mean of `metric(reference, estimate, *extra_i)` over image pairs (e.g. zoo.metrics.psnr)."""
    return float(np.mean([metric(*args) for args in zip(references, estimates, *extra)]))


def timed(fn: Callable, *args, **kwargs):
    """(fn(*args, **kwargs), seconds)."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def images_of(results) -> np.ndarray:
    """The `.image` of each result, stacked: (N, H, W[, 3])."""
    return np.stack([r.image for r in results])


def markdown_table(headers: list[str], rows: list[list]) -> str:
    def fmt(v):
        if isinstance(v, float):  # 4 significant digits below 1: small MSEs keep their precision
            return f"{v:#.4g}" if abs(v) < 1 else f"{v:.2f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def round_check(values: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 5) for k, v in values.items()}


def headline_row(
    name: str,
    metric: str,
    model: float,
    baseline_name: str,
    baseline: float,
    source,
    model_ms: float,
    baseline_ms: float,
    n: int,
    note: str | None = None,
) -> dict:
    """One row of the README benchmark (training.benchmark renders it; `note`, if any, under the table)."""
    return {
        "note": note,
        "task": name,
        "metric": metric,
        "model": model,
        "baseline_name": baseline_name,
        "baseline": baseline,
        "source": source,
        "model_ms": model_ms,
        "baseline_ms": baseline_ms,
        "n": n,
    }
