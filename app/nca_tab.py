"""The "NCA · Fashion-MNIST" tab: damage a garment, watch the cells fill it in, classify."""

from __future__ import annotations

import functools
import tempfile
import uuid
from pathlib import Path

import gradio as gr
import numpy as np

from zoo import baselines, metrics

from .components import UploadImage
from .common import big, digit_warning, fmt_psnr, friendly, input_line, num, pick_input, pipeline, seed_of
from .tabs import register_tab


@functools.lru_cache(maxsize=1)
def _test_images() -> tuple[np.ndarray, np.ndarray]:
    from zoo.data import load_fashion_mnist

    x, y = load_fashion_mnist("test")
    return x[:1000], y[:1000]


def _sample(index: float) -> np.ndarray:
    x, _ = _test_images()
    i = num(index, "image index", whole=True)
    if not 0 <= i < len(x):
        raise ValueError(f"example index must be between 0 and {len(x) - 1}, got {i}")
    return x[i]


_GIF_DIR = Path(tempfile.mkdtemp(prefix="zoo-nca-gifs-"))
_GIFS_KEPT = 16  # Gradio copies each output into its own cache; older GIFs of ours are deleted


def _animation(frames: list[np.ndarray]) -> str:
    """The repair as a looping GIF (each step enlarged), written to this process's GIF folder;
    only the newest _GIFS_KEPT files stay, so the folder does not grow with every call."""
    from PIL import Image

    pictures = [Image.fromarray(big(f, 196)) for f in frames]
    path = str(_GIF_DIR / f"{uuid.uuid4().hex}.gif")
    for old in sorted(_GIF_DIR.glob("*.gif"), key=lambda f: f.stat().st_mtime)[:-_GIFS_KEPT]:
        old.unlink(missing_ok=True)
    pictures[0].save(
        path, save_all=True, append_images=pictures[1:] + [pictures[-1]] * 5, duration=120, loop=0
    )
    return path


@friendly
def run_nca(upload=None, sample_index=0, mask_ratio=0.4, steps=20, seed=0, progress=gr.Progress()):
    """Drop pixels from a garment (a Fashion-MNIST test image, or your image), repair it with a neural cellular automaton and classify it.

    Args:
        upload: your image (a URL, or a data:image/png;base64 URL); leave empty to use a test image.
        sample_index: which test image (0-based), used when upload is empty.
        mask_ratio: the share of pixels dropped, 0 to 0.95.
        steps: automaton steps, 0 to 60.
        seed: whole number that fixes which pixels drop.
    Returns:
        the original (enlarged)
        the damaged image (enlarged)
        the repair as an animated GIF (one frame per step)
        the automaton's repair (enlarged)
        biharmonic inpainting (the classical method) (enlarged)
        the class probabilities of the repair
        a Markdown table of accuracy and PSNR
    """
    p = pipeline("nca-fmnist")
    progress(0.1, desc="damaging")
    clean = p.prepare(pick_input(upload, _sample(sample_index)))
    ratio, seed, steps = (
        num(mask_ratio, "mask ratio"),
        seed_of(seed),
        num(steps, "steps", whole=True),
    )
    damaged, mask = p.corrupt(clean, mask_ratio=ratio, seed=seed)
    progress(0.3, desc=f"running {steps} NCA steps")
    out = p(damaged, mask=mask, steps=steps)
    progress(0.8, desc="biharmonic baseline")
    biharmonic = baselines.inpaint_biharmonic_(damaged, mask)
    probs = {name: float(v) for name, v in zip(p.class_names, out.probs)}
    table = (
        "| method | PSNR (dB) | class |\n|---|---|---|\n"
        f"| NCA ({steps} steps) | {fmt_psnr(metrics.psnr(clean, out.image))} | {out.label_name} |\n"
        f"| biharmonic | {fmt_psnr(metrics.psnr(clean, biharmonic))} | "
        f"{p.class_names[int(np.argmax(p.classify(biharmonic)))]} |\n"
        f"| damaged | {fmt_psnr(metrics.psnr(clean, damaged))} | "
        f"{p.class_names[int(np.argmax(p.classify(damaged)))]} |"
    )
    note = input_line(upload, f"test image #{int(sample_index)}") + digit_warning(clean, 0.8, 0.35)
    return (
        big(clean),
        big(damaged),
        _animation(out.frames),
        big(out.image),
        big(biharmonic),
        probs,
        note + "\n\n" + table,
    )


def show_original(upload, sample_index):
    """The image Repair will use, shown before it is pressed."""
    try:
        return big(pipeline("nca-fmnist").prepare(pick_input(upload, _sample(sample_index))))
    except ValueError:
        return gr.skip()  # Repair reports a bad upload in words


@register_tab("nca-fmnist", order=10)
def build_nca_tab() -> None:
    with gr.Tab("NCA · Fashion-MNIST", id="nca-fmnist"):
        gr.Markdown(
            "Drop pixels from a Fashion-MNIST image and watch a Neural Cellular Automaton fill them in, "
            "cell by cell; a small ResNet then classifies the repair."
        )
        with gr.Row():
            with gr.Column():
                sample = gr.Slider(0, 999, value=0, step=1, label="test image #")
                upload = UploadImage(label="or upload an image (converted to 28x28 grey)", height=200)
                mask_ratio = gr.Slider(0.0, 0.95, value=0.4, step=0.05, label="mask ratio")
                steps = gr.Slider(0, 60, value=20, step=1, label="NCA steps")
                seed = gr.Number(0, precision=0, label="seed")
                run_button = gr.Button("Repair", variant="primary")
            with gr.Column():
                with gr.Row():
                    original_output = gr.Image(
                        label="original",
                        type="numpy",
                        format="png",
                        interactive=False,
                        height=200,
                        value=big(_sample(0)),
                    )
                    damaged_output = gr.Image(
                        label="damaged", type="numpy", format="png", interactive=False, height=200
                    )
                    animation_output = gr.Image(
                        label="the cells filling in", type="filepath", interactive=False, height=200
                    )
                with gr.Row():
                    image_output = gr.Image(
                        label="NCA repair", type="numpy", format="png", interactive=False, height=200
                    )
                    baseline_output = gr.Image(
                        label="biharmonic",
                        type="numpy",
                        format="png",
                        interactive=False,
                        height=200,
                    )
                label_output = gr.Label(num_top_classes=3, label="class probabilities")
                metrics_output = gr.Markdown()
        inputs = [upload, sample, mask_ratio, steps, seed]
        outputs = [
            original_output,
            damaged_output,
            animation_output,
            image_output,
            baseline_output,
            label_output,
            metrics_output,
        ]
        # Progress and errors on the text pane only: a bad upload leaves the pictures already shown.
        run_button.click(run_nca, inputs, outputs, api_name="nca-fmnist", show_progress_on=metrics_output)
        for source in (sample, upload):
            source.change(show_original, [upload, sample], original_output, api_visibility="private")
