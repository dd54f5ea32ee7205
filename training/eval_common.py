"""Helpers shared by the evaluation scripts: seeds, batched inference, markdown tables."""
from __future__ import annotations

import numpy as np
import torch

BASE_SEED = 1000  # damage for test image i is drawn from default_rng(BASE_SEED + i)
CHECK_N = 64  # images in a card's zoo_check subset (recomputed by the tests)


def seed_for(i: int) -> int:
    return BASE_SEED + int(i)


@torch.inference_mode()
def run_batched(model: torch.nn.Module, inputs: np.ndarray, batch: int = 256) -> np.ndarray:
    """(N, C, H, W) float32 -> model outputs (N, C', H, W) clamped to [0,1], as numpy, in batches."""
    outs = []
    for i in range(0, len(inputs), batch):
        out = model(torch.from_numpy(np.ascontiguousarray(inputs[i : i + batch])))
        outs.append(out.float().clamp(0, 1).numpy())  # pipelines clamp the same way
    return np.concatenate(outs)


def mean_metric(metric, references, estimates, *extra) -> float:
    """Mean of `metric(reference, estimate, *extra_i)` over image pairs (e.g. zoo.metrics.psnr)."""
    return float(np.mean([metric(*args) for args in zip(references, estimates, *extra)]))


def markdown_table(headers: list[str], rows: list[list]) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4f}" if abs(v) < 1 else f"{v:.2f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def round_check(values: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 5) for k, v in values.items()}
