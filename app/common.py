"""Helpers every tab uses: cached pipelines, friendly errors, sample images, metric text."""

from __future__ import annotations

import functools
from typing import Any, Callable

import gradio as gr
import numpy as np

import zoo
from zoo import images, metrics

from . import gradio_cache
from .components import user_error
from .compute_lanes import LANES

gradio_cache.install()  # identical outputs served at once must not truncate each other's files

ERRORS = (ValueError, zoo.WeightsError, FileNotFoundError)


@functools.lru_cache(maxsize=None)
def pipeline(name: str) -> zoo.Pipeline:
    """Load each model once per process (weights verified on first use)."""
    return zoo.load(name)


def friendly(fn: Callable | None = None, *, urgent: bool = False) -> Callable:
    """Decorate a tab's handler: the zoo's clear errors become gr.Error messages (never a traceback
    in the UI), and the work runs on one of the hub's compute lanes (app.compute_lanes): task
    calls one at a time on a lower-priority background thread, `urgent=True` for live frames,
    which run at normal priority so a busy hub does not stall the stream."""
    if fn is None:
        return functools.partial(friendly, urgent=urgent)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return LANES.run(fn, *args, urgent=urgent, **kwargs)
        except gr.Error:
            raise
        except ERRORS as exc:  # the user's mistake, said plainly: no traceback in the log
            raise user_error(str(exc)) from None
        except Exception as exc:  # unexpected: say so plainly, the server log keeps the details
            raise gr.Error(f"Unexpected {type(exc).__name__}: {exc}") from exc

    return wrapper


@functools.lru_cache(maxsize=None)
def mnist_test_digits(digits: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    from zoo.data import load_mnist

    x, y = load_mnist("test")
    if digits:
        keep = np.isin(y, digits)
        x, y = x[keep], y[keep]
    return x, y


def pick_input(upload: Any, sample: np.ndarray) -> Any:
    """An uploaded image wins; otherwise the chosen sample."""
    return sample if upload is None else upload


def metric_line(name: str, clean: np.ndarray, restored: np.ndarray) -> str:
    return (
        f"| {name} | {metrics.mse(clean, restored):.4f} | {metrics.psnr(clean, restored):.2f} | "
        f"{metrics.ssim(clean, restored):.4f} |"
    )


def metrics_table(clean: np.ndarray, rows: dict[str, np.ndarray]) -> str:
    head = "| method | MSE | PSNR (dB) | SSIM |\n|---|---|---|---|"
    return "\n".join([head] + [metric_line(k, clean, v) for k, v in rows.items()])


def big(img: np.ndarray, min_side: int = 280) -> np.ndarray:
    """Nearest-neighbour enlargement so 28x28 / 32x32 pixels stay visible."""
    return images.enlarge(img, min_side)


def editor_mask(editor_value, shape: tuple[int, int]) -> np.ndarray:
    """A gr.ImageEditor value -> (H, W) bool mask of where the user painted (any layer), resized to `shape`."""
    painted = None
    for layer in (editor_value or {}).get("layers") or []:
        arr = images.to_array(layer)
        alpha = (
            arr[..., 3] if arr.ndim == 3 and arr.shape[-1] == 4 else (arr if arr.ndim == 2 else arr.max(-1))
        )
        painted = alpha if painted is None else np.maximum(painted, alpha)
    if painted is None or not (painted > 0).any():
        raise ValueError("nothing is painted: draw the damage on the image in the editor first")
    mask = images.resize(painted.astype(np.float32), *shape) > 0.25
    if not mask.any():
        raise ValueError("the painted strokes are too thin to cover a pixel at this image size; paint wider")
    return mask
