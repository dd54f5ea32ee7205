"""Pictures people would rather look at than read (matplotlib, headless Agg backend)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def embedding_figure(z: np.ndarray, labels: np.ndarray, path: str | Path | None = None,
                     point: tuple[float, float] | None = None) -> np.ndarray:
    """Scatter of 2-D codes coloured by class; optional highlighted point. Returns an RGB uint8 array."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=80)
    for cls, colour in zip(sorted(set(labels.tolist())), ("tab:blue", "tab:orange", "tab:green", "tab:red")):
        sel = labels == cls
        ax.scatter(z[sel, 0], z[sel, 1], s=8, alpha=0.7, c=colour, label=f"digit {cls}")
    if point is not None:
        ax.scatter([point[0]], [point[1]], s=160, marker="X", c="black", label="decoded point")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.legend(loc="best")
    ax.set_title("2-D codes of test digits")
    fig.tight_layout()
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    if path is not None:
        fig.savefig(path)
    plt.close(fig)
    return rgb


def feature_pca_rgb(features: np.ndarray) -> np.ndarray:
    """A (C, h, w) feature map as an (h, w, 3) picture in [0,1]: its first three principal components as RGB.

    Each component is stretched between its 1st and 99th percentile, so a few
    extreme cells do not wash the picture out.
    """
    c, h, w = features.shape
    flat = features.reshape(c, h * w).T.astype(np.float64)  # (h*w, C): one row per cell
    flat -= flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    comps = flat @ vt[:3].T  # (h*w, <=3)
    if comps.shape[1] < 3:
        comps = np.pad(comps, ((0, 0), (0, 3 - comps.shape[1])))
    lo, hi = np.percentile(comps, 1, axis=0), np.percentile(comps, 99, axis=0)
    rgb = np.clip((comps - lo) / np.maximum(hi - lo, 1e-8), 0, 1)
    return rgb.reshape(h, w, 3).astype(np.float32)
