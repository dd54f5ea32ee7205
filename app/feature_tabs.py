"""Tabs for the feature-recon entries: upload/examples, and a live webcam.

Both tabs let the user pick the depth (stride 4 / 8 / 16 = feature-recon-s4 /
feature-recon / feature-recon-s16). Uploads larger than 512 px on the long side are
shrunk to 512 first (the models take up to 4.2 Mpx, tiled; 512 keeps the tab fast).
Webcam frames are cut to their central square and resized to 224x224, the size the
speed was measured at.
"""

from __future__ import annotations

import functools
import time
from collections import deque

import gradio as gr
import numpy as np
import torch

import zoo
from zoo import baselines, data, images
from zoo.cards import card_metrics
from zoo.plots import feature_pca_rgb

from .components import UploadImage, bounded_camera
from .common import friendly, heldout_photos, metrics_table, pipeline
from .live_precision import live_pipeline
from .tabs import register_tab

DEPTHS = [
    ("stride 4 (24 x 56 x 56 at 224 px)", "feature-recon-s4"),
    ("stride 8 (40 x 28 x 28), the default", "feature-recon"),
    ("stride 16 (112 x 14 x 14)", "feature-recon-s16"),
]
UPLOAD_MAX_SIDE = 512
WEBCAM_SIZE = 224
FPS_WINDOW = 10  # frames averaged in the live FPS readout
# Ask the browser for a small capture: the model sees 224x224 anyway, and Gradio's default (ideal
# 1920x1440) makes every frame a large JPEG to encode in the browser, send and decode on the server.
CAMERA_CONSTRAINTS = {"video": {"width": {"ideal": 320}, "height": {"ideal": 240}}}


def _check_depth(name: str) -> str:
    if name not in {value for _, value in DEPTHS}:
        raise ValueError(f"unknown depth {name!r}; choose one of {[value for _, value in DEPTHS]}")
    return name


@functools.lru_cache(maxsize=1)
def _samples() -> dict[str, np.ndarray]:
    """The held-out photos (never seen in training), shrunk to 448 px on the long side.

    Decoding them takes ~1 s of CPU: the hub's warm-up calls `preload()` so the first visitor
    (or a burst of callers) does not pay it while a webcam stream runs."""
    return {name: images.fit_within(img, 448) for name, img in sorted(heldout_photos().items())}


def preload() -> None:
    """Decode the example photos and choose the webcam's precision for its default model now (called by
    the hub's background warm-up), so that neither delays a visitor."""
    _samples()
    live_pipeline("feature-recon", WEBCAM_SIZE)


# ------------------------------------------------------------------ functions (also the API)
@friendly
def run_feature_recon(upload=None, sample_name=None, depth="feature-recon"):
    """Encode a photo with a frozen ImageNet encoder and rebuild it from the features alone with a feature-recon decoder.

    Args:
        upload: your photo (a URL, or a data:image/png;base64 URL); leave empty to use an example.
        sample_name: the name of a held-out example photo, used when upload is empty (default: the first).
        depth: which decoder: feature-recon (stride 8), feature-recon-s4 or feature-recon-s16.
    Returns:
        the photo
        its features' first 3 principal components as a colour picture
        the reconstruction from the features
        bicubic from a thumbnail holding the same number of values (the classical comparison)
        a Markdown table of PSNR and SSIM
        the photo and reconstruction pair for a before and after slider
    """
    p = pipeline(_check_depth(depth))
    if upload is None and sample_name is None:
        sample_name = next(iter(_samples()))
    if upload is None:
        if sample_name not in _samples():
            raise ValueError(f"unknown example {sample_name!r}; choose one of {sorted(_samples())}")
        clean = _samples()[sample_name]
    else:
        clean = images.fit_within(images.to_rgb(upload), UPLOAD_MAX_SIDE)
    out = p(clean)
    kw = p.entry.model_kwargs
    reference = baselines.bicubic_same_values(clean, kw["in_channels"], kw["stride"])
    feats = (
        images.resize(feature_pca_rgb(out.features), *clean.shape[:2]) if out.features.shape[1] > 1 else None
    )
    c, fh, fw = out.features.shape
    table = metrics_table(
        clean,
        {f"{depth} ({c}x{fh}x{fw} features)": out.image, "bicubic from the same number of values": reference},
    )
    note = "**Input:** your upload." if upload is not None else f"**Input:** example {sample_name}."
    return clean, feats, out.image, reference, note + "\n\n" + table, (clean, out.image)


FPS_METRIC = "frames per second (224x224, CPU)"  # the name the feature-recon protocol writes into the card
FALLBACK_EVERY = 0.1
# A camera delivers 30 frames a second: a frame taken sooner repeats the last picture. Gradio's webcam
# draws the video into a canvas at every tick, even while it waits for the last answer, so ticks faster
# than the camera only take CPU from the model on a small machine. Measured in Chromium (fake camera,
# 2 cores, 15-20 s each): ~19 FPS received with a tick every 16 ms, 20-21 FPS every 33 ms, 10 every 100 ms.
CAMERA_FPS = 30


@functools.lru_cache(maxsize=None)
def model_fps(name: str = "feature-recon") -> float | None:
    """The model's own frames per second from its card (encoder+decoder, 224x224, CPU), or None.
    Read once per model: the webcam's readout quotes it on every frame, and parsing the card's YAML
    took ~8% of the hub's CPU while streaming (py-spy)."""
    try:
        return card_metrics(zoo.card(name)).get(FPS_METRIC)
    except Exception:  # no card: the caller falls back
        return None


def _stream_every() -> float:
    """Seconds between webcam frames: the camera's frame time, or the default model's measured frame time
    (its card) plus 20% where the model is slower than the camera."""
    fps = model_fps()
    return round(max(1 / CAMERA_FPS, 1.2 / fps), 3) if fps else FALLBACK_EVERY


def webcam_square(frame) -> np.ndarray:
    """A camera frame -> its central square at WEBCAM_SIZE x WEBCAM_SIZE (`zoo.images.center_square`)."""
    return images.center_square(frame, WEBCAM_SIZE)


@friendly(urgent=True)
def webcam_frame(frame, depth, times):
    """One webcam frame -> (224x224 reconstruction, the equal-budget bicubic view, readout, frame times)."""
    if frame is None:
        return None, None, "waiting for the camera…", times
    t0 = time.perf_counter()
    square = webcam_square(frame)  # (224, 224, 3): the frame's central square
    p = live_pipeline(_check_depth(depth), WEBCAM_SIZE)  # bfloat16 where this CPU runs it faster
    recon = p(square).image
    now = time.perf_counter()
    kw = p.entry.model_kwargs
    bicubic = baselines.bicubic_same_values(
        square, kw["in_channels"], kw["stride"]
    )  # ~2 ms, not in the latency
    times = deque(times or [], maxlen=FPS_WINDOW)
    times.append(now)
    fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
    own = model_fps(_check_depth(depth))
    ms = 1000 * (now - t0)
    readout = (
        f"**{fps:.1f} FPS** received · model latency **{ms:.0f} ms** ({1000 / max(ms, 1e-3):.0f} FPS alone "
        f"on this server's {torch.get_num_threads()} torch thread(s), "
        f"{str(p.dtype).removeprefix('torch.')}) · {depth}"
        + (f" · the model's own speed: {own:.1f} FPS (its card, 224x224 on 2 CPU cores)" if own else "")
    )
    # Gradio's webcam (WebcamOptions(mirror=True), a selfie view) sends the frame mirrored, as its preview
    # shows it: the outputs are shown as computed, so all three panes move the same way
    # (tests/test_browser.py compares the preview with the outputs).
    return _u8(recon), _u8(bicubic), readout, list(times)


def _u8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


# ------------------------------------------------------------------ layout
@register_tab("feature-recon*", order=60)
def build_feature_tab() -> None:
    with gr.Tab("Feature reconstruction", id="feature-recon"):
        gr.Markdown(
            "A frozen ImageNet EfficientNet-Lite0 turns the photo into a feature map; a small decoder "
            "turns it back. Deeper features keep less of the picture. Next to it: bicubic upsampling of "
            "the photo shrunk to the same number of values."
        )
        with gr.Row():
            with gr.Column():
                sample = gr.Dropdown(
                    list(data.HELDOUT_PHOTOS), value=data.HELDOUT_PHOTOS[0], label="example (held-out photo)"
                )
                upload = UploadImage(
                    label=f"or upload a photo (shrunk to {UPLOAD_MAX_SIDE} px on the long side)",
                    max_side=UPLOAD_MAX_SIDE,
                    height=240,
                )
                depth = gr.Radio(DEPTHS, value="feature-recon", label="feature depth")
                run_button = gr.Button("Reconstruct", variant="primary")
            with gr.Column():
                # JPEG, not Gradio's default WebP: 1 ms instead of 26 ms to encode a 448 px photo
                # (both lossy at their default quality), four photos per call.
                photo = functools.partial(
                    gr.Image, type="numpy", interactive=False, height=260, format="jpeg"
                )
                with gr.Row():
                    original = photo(label="original")
                    feats = photo(label="features (first 3 principal components)")
                with gr.Row():
                    recon = photo(label="reconstruction from the features")
                    reference = photo(label="bicubic, same number of values")
                compare = gr.ImageSlider(
                    label="before / after: original | reconstruction",
                    type="numpy",
                    format="jpeg",
                    interactive=False,
                )
                table = gr.Markdown()
        inputs, outputs = [upload, sample, depth], [original, feats, recon, reference, table, compare]
        # Progress and errors on the text pane only: a bad upload leaves the pictures already shown.
        run_button.click(run_feature_recon, inputs, outputs, api_name="feature-recon", show_progress_on=table)
        for control in (sample, depth):
            control.change(
                run_feature_recon,
                inputs,
                outputs,
                api_visibility="private",
                show_progress="hidden",
                show_progress_on=table,
            )


@register_tab(order=70)
def build_webcam_tab() -> None:
    every = _stream_every()
    with gr.Tab("Webcam", id="webcam"):
        gr.Markdown(
            f"Live reconstruction of your camera through the frozen encoder. The centre square of each "
            f"frame is encoded at {WEBCAM_SIZE}x{WEBCAM_SIZE}; a frame is sent every {every:.3f} s "
            f"(the camera's {CAMERA_FPS} FPS, or the model's measured time from its card plus 20% where "
            f"that is longer), and a new frame is only taken when "
            f"the last one has come back, so the received rate is set by the whole round trip: the "
            f"model's latency plus the browser's capture, the upload and Gradio's processing. The model "
            f"runs in bfloat16 where this server's CPU does that measurably faster than float32 (the "
            f"readout says which; the picture moves by ~0.02 dB PSNR)."
        )
        depth = gr.Radio(DEPTHS, value="feature-recon", label="feature depth")
        with gr.Row():
            camera = bounded_camera(
                label="camera",
                sources=["webcam"],
                streaming=True,
                webcam_options=gr.WebcamOptions(mirror=True, constraints=CAMERA_CONSTRAINTS),
            )
            # JPEG: several times faster to encode than Gradio's default WebP, for every frame.
            live = gr.Image(label="live reconstruction", type="numpy", interactive=False, format="jpeg")
            bicubic = gr.Image(
                label="bicubic from the same number of values", type="numpy", interactive=False, format="jpeg"
            )
        readout = gr.Markdown("press Record to start")
        with gr.Row():
            snap = gr.Button("Snapshot", size="sm")
            snapshot = gr.Image(
                label="snapshot (reconstruction)", type="numpy", interactive=False, format="png", height=160
            )
        snap.click(lambda img: img, live, snapshot, api_visibility="private", queue=False)
        times = gr.State([])
        # Stale frames are dropped at the source: Gradio's webcam takes a new frame only when the last
        # one has been answered, so nothing queues up behind a slow frame. (trigger_mode="always_last"
        # is not usable here: with gradio 6.31 it ends the stream after the first frame.)
        # concurrency_id gives the stream its own worker pool, apart from the other tabs'.
        # Not part of the HTTP API: a stream cannot be called as one request (use /feature-recon).
        camera.stream(
            webcam_frame,
            [camera, depth, times],
            [live, bicubic, readout, times],
            api_name="webcam",
            stream_every=every,
            time_limit=90,
            concurrency_limit=4,
            concurrency_id="webcam",
            show_progress="hidden",
            api_visibility="private",
        )
