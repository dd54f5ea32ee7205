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
