"""Helpers every tab uses: cached pipelines, friendly errors, sample images, metric text."""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

import gradio as gr
import numpy as np

import zoo
from zoo import corruptions, images, metrics

from . import gradio_cache
from .components import install_slider_messages, user_error
from .compute_lanes import LANES

gradio_cache.install()  # identical outputs served at once must not truncate each other's files
install_slider_messages()

ERRORS = (ValueError, zoo.WeightsError, FileNotFoundError)


_PHOTOS_LOCK = threading.Lock()


def heldout_photos() -> dict[str, np.ndarray]:
    """The held-out bundled photos, decoded once per process (read-only arrays) and shared by every
    tab: decoding them costs ~1 s of CPU, and the hub's warm-up and a first visitor may ask at once
    (the lock makes the second wait for the first instead of decoding them again)."""
    with _PHOTOS_LOCK:
        return _decoded_heldout_photos()


@functools.lru_cache(maxsize=1)
def _decoded_heldout_photos() -> dict[str, np.ndarray]:
    from zoo import data

    photos = data.photo_split("test")
    for img in photos.values():
        img.setflags(write=False)  # shared: a tab that changed one in place would change it for all
    return photos


_LOAD_LOCKS: dict[str, threading.Lock] = {}
# Set when the hub has given its first answer (or failed to): the background warm-up waits for it
# before loading the models the first screen does not use, so that it does not compete with the
# first visitor for the 2 cores and the GIL (measured: 2-3 s first answer after start-up without
# the warm-up, 5-8 s with it, on a busy machine).
FIRST_ANSWER = threading.Event()


def pipeline(name: str) -> zoo.Pipeline:
    """Load each model once per process (weights verified on first use). The warm-up and a visitor
    asking for the same model at once: the second waits for the first instead of loading it again."""
    with _LOAD_LOCKS.setdefault(name, threading.Lock()):
        return _loaded(name)


@functools.lru_cache(maxsize=None)
def _loaded(name: str) -> zoo.Pipeline:
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
        finally:
            FIRST_ANSWER.set()

    return wrapper


@functools.lru_cache(maxsize=None)
def mnist_test_digits(digits: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    from zoo.data import load_mnist

    x, y = load_mnist("test")
    if digits:
        keep = np.isin(y, digits)
        x, y = x[keep], y[keep]
    return x, y


def num(value: Any, name: str, whole: bool = False) -> float:
    """A control's value (what a visitor or an API client sent) as a number, or a ValueError naming the
    control: None, "abc", NaN... are said plainly, not an 'Unexpected TypeError'."""
    return corruptions.number(value, name, whole=whole)


def seed_of(value: Any) -> int:
    """A seed control's value: a whole number in 0..2**63-1 (1e308, 2**64 and None are refused)."""
    return corruptions.number(value, "seed", whole=True, low=0, high=corruptions.MAX_SEED)


MIN_UPLOAD_SIDE = 8  # a 1x1 or 3x5 upload holds no picture worth restoring or scoring


def pick_input(upload: Any, sample: np.ndarray) -> Any:
    """An uploaded image wins; otherwise the chosen sample. A tiny upload is refused."""
    if upload is None:
        return sample
    size = images.peek_size(upload)  # a path's header, or a decoded upload's shape
    if size is not None and min(size) < MIN_UPLOAD_SIDE:  # (not an image: the zoo's own message follows)
        h, w = size
        raise ValueError(
            f"the upload is {w}x{h} px; upload an image at least {MIN_UPLOAD_SIDE}x{MIN_UPLOAD_SIDE} px"
        )
    return upload


def input_line(upload: Any, sample_label: str) -> str:
    """Which input this result used, said in the page (an upload wins over the sample controls)."""
    if upload is None:
        return f"**Input:** {sample_label}."
    frames = getattr(upload, "frames", 1)  # a zoo.decode.Decoded upload knows how many frames it held
    animation = f" It is an animation of {frames} frames: its first frame is used." if frames > 1 else ""
    return "**Input:** your upload (clear it to use the sample controls again)." + animation


def digit_warning(x: np.ndarray, ink_max: float = 0.6, border_max: float = 0.25) -> str:
    """A note when a prepared 28x28 image looks unlike the light-on-dark centred shapes the digit and
    garment models learned from: a photo, a page of text, an inverted drawing. The defaults flag none
    of the 10,000 MNIST test digits; garments (nca-fmnist) use ink_max=0.8, border_max=0.35, which flag
    5 of the 10,000 Fashion-MNIST test images."""
    ink = float((x > 0.5).mean())  # MNIST digits: ~10-25% of the pixels
    border = float(
        np.concatenate([x[:2].ravel(), x[-2:].ravel(), x[:, :2].ravel(), x[:, -2:].ravel()]).mean()
    )
    notes = []
    if border > border_max:
        notes.append(f"its border is bright (mean {border:.2f}; training images have dark borders)")
    if ink > ink_max:
        notes.append(f"{ink:.0%} of it is bright (training images: mostly dark background)")
    if not notes:
        return ""
    return (
        "\n\n⚠️ **This input is far from the training images**: "
        + "; ".join(notes)
        + ". Expect a poor result."
    )


def fmt_psnr(value: float) -> str:
    return "∞ (identical)" if value >= metrics.PSNR_CAP_DB else f"{value:.2f}"


def metric_line(name: str, clean: np.ndarray, restored: np.ndarray) -> str:
    return (
        f"| {name} | {metrics.mse(clean, restored):.4f} | {fmt_psnr(metrics.psnr(clean, restored))} | "
        f"{metrics.ssim(clean, restored):.4f} |"
    )


def metrics_table(clean: np.ndarray, rows: dict[str, np.ndarray]) -> str:
    head = "| method | MSE | PSNR (dB) | SSIM |\n|---|---|---|---|"
    return "\n".join([head] + [metric_line(k, clean, v) for k, v in rows.items()])


def before_after(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pair a gr.ImageSlider shows, both enlarged alike."""
    return big(before), big(after)


HOLE_TINT = np.array([0.85, 0.2, 0.45], np.float32)  # missing pixels shown in magenta, not black


def show_holes(damaged: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The damaged image for display with its holes tinted (a stripe over the black background of a
    digit is otherwise invisible): grey (H, W) or colour (H, W, 3) -> (H, W, 3). The models still see
    the zero-filled image; only the picture changes."""
    if mask is None:
        return damaged
    rgb = np.repeat(damaged[..., None], 3, -1) if damaged.ndim == 2 else damaged.copy()
    rgb[np.asarray(mask, bool)] = HOLE_TINT
    return rgb


def big(img: np.ndarray, min_side: int = 280) -> np.ndarray:
    """Nearest-neighbour enlargement so 28x28 / 32x32 pixels stay visible."""
    return images.enlarge(img, min_side)


def _layer_alpha(layer) -> np.ndarray:
    """Where one editor layer is painted: (H, W) float in [0, 1]. An 8-bit layer decoded by the hub
    (RGBA, the editor's format) is read from its alpha plane alone, without a float copy of all four
    channels (268 MB for a 4096x4096 layer); anything else through zoo.images."""
    pixels = getattr(layer, "pixels", None)
    if pixels is not None and pixels.dtype == np.uint8:
        plane = pixels if pixels.ndim == 2 else pixels[..., 3] if pixels.shape[-1] == 4 else pixels.max(-1)
        return plane.astype(np.float32) / 255.0
    arr = images.to_array(layer)
    return arr[..., 3] if arr.ndim == 3 and arr.shape[-1] == 4 else (arr if arr.ndim == 2 else arr.max(-1))


def _painted_alpha(editor_value) -> np.ndarray | None:
    """Where a gr.ImageEditor value is painted, any layer: (H, W) float in [0, 1], or None without layers."""
    painted = None
    for layer in (editor_value or {}).get("layers") or []:
        alpha = _layer_alpha(layer)
        painted = alpha if painted is None else np.maximum(painted, alpha)
    return painted


def painted(editor_value) -> bool:
    """Whether a gr.ImageEditor value holds any stroke yet."""
    alpha = _painted_alpha(editor_value)
    return alpha is not None and bool((alpha > 0).any())


def editor_mask(editor_value, shape: tuple[int, int]) -> np.ndarray:
    """A gr.ImageEditor value -> (H, W) bool mask of where the user painted (any layer), resized to
    `shape`."""
    alpha = _painted_alpha(editor_value)
    if alpha is None or not (alpha > 0).any():
        raise ValueError("nothing is painted: draw the damage on the image in the editor first")
    mask = images.resize(alpha.astype(np.float32), *shape) > 0.25
    if not mask.any():
        raise ValueError("the painted strokes are too thin to cover a pixel at this image size; paint wider")
    return mask
