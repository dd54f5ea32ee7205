"""The "Block inpainting" tab: random blocks or painted damage, model vs Telea vs biharmonic."""
from __future__ import annotations

import functools

import gradio as gr
import numpy as np

from zoo import baselines, metrics

from .common import big, editor_mask, friendly, pick_input, pipeline


@functools.lru_cache(maxsize=1)
def _held_out_crops() -> np.ndarray:
    """64 held-out 32x32 photo crops (never trained on), the tab's examples."""
    from zoo import data

    return data.random_crops(data.photo_split("test"), 64, 32, seed=7, scales=(0.25, 0.125, 0.0625), augment=False)


def _sample(index: float) -> np.ndarray:
    crops = _held_out_crops()
    i = int(index)
    if not 0 <= i < len(crops):
        raise ValueError(f"example index must be between 0 and {len(crops) - 1}, got {i}")
    return crops[i]


def _scores(clean, out, mask) -> str:
    return f"{metrics.ssim(clean, out):.4f} | {metrics.psnr(clean, out):.2f} | {metrics.hole_psnr(clean, out, mask):.2f}"


@friendly
def run_blocks(upload, sample_index, source, n_blocks, block_size, seed, painting=None):
    p = pipeline("cifar10-blocks")
    clean = p.prepare(pick_input(upload, _sample(sample_index)))
    if source == "painted":
        mask = editor_mask(painting, clean.shape[:2])
        damaged = np.where(mask[..., None], 0.0, clean).astype(np.float32)
    else:
        damaged, mask = p.corrupt(clean, n_blocks=int(n_blocks), block_size=int(block_size), seed=int(seed))
    if not mask.any():
        raise ValueError("the damage covers no pixel: add blocks or paint something")
    restored = p(damaged, mask=mask).image
    telea = baselines.inpaint_telea(damaged, mask)
    biharmonic = baselines.inpaint_biharmonic_(damaged, mask)
    table = ("| method | SSIM | PSNR (dB) | hole PSNR (dB) |\n|---|---|---|---|\n"
             f"| cifar10-blocks | {_scores(clean, restored, mask)} |\n"
             f"| OpenCV Telea | {_scores(clean, telea, mask)} |\n"
             f"| biharmonic | {_scores(clean, biharmonic, mask)} |")
    side = 256 if max(clean.shape[:2]) < 256 else max(clean.shape[:2])
    return big(damaged, side), big(restored, side), big(telea, side), big(biharmonic, side), table


def build_cifar_tab() -> None:
    with gr.Tab("Block inpainting", id="cifar10-blocks"):
        gr.Markdown("Blank out random blocks (or paint a scratch) and compare the learned inpainter with "
                    "OpenCV Telea and scikit-image biharmonic inpainting. Examples are held-out 32x32 photo "
                    "crops; uploads up to 1024 px work too.")
        with gr.Row():
            with gr.Column():
                sample = gr.Slider(0, 63, value=0, step=1, label="held-out example #")
                upload = gr.Image(label="or upload a photo (up to 1024 px)", type="numpy", image_mode=None,
                                  sources=["upload", "clipboard"], height=200)
                source = gr.Radio(["random blocks", "painted"], value="random blocks", label="damage")
                n_blocks = gr.Slider(0, 200, value=50, step=1, label="number of blocks")
                block_size = gr.Slider(1, 8, value=2, step=1, label="block size (px)")
                seed = gr.Number(0, precision=0, label="seed")
                painting = gr.ImageEditor(label="paint the damage (used when damage = painted)", type="numpy",
                                          image_mode="RGBA", height=280)
                run_button = gr.Button("Inpaint", variant="primary")
            with gr.Column():
                with gr.Row():
                    damaged_output = gr.Image(label="damaged", type="numpy", format="png", interactive=False)
                    image_output = gr.Image(label="cifar10-blocks", type="numpy", format="png", interactive=False)
                with gr.Row():
                    telea_output = gr.Image(label="OpenCV Telea", type="numpy", format="png", interactive=False)
                    baseline_output = gr.Image(label="biharmonic", type="numpy", format="png", interactive=False)
                metrics_output = gr.Markdown()
        inputs = [upload, sample, source, n_blocks, block_size, seed, painting]
        outputs = [damaged_output, image_output, telea_output, baseline_output, metrics_output]
        run_button.click(run_blocks, inputs, outputs, api_name="cifar10-blocks")
        for control in (sample, n_blocks, block_size, seed):
            control.change(run_blocks, inputs, outputs, api_visibility="private", show_progress="hidden")
        sample.change(lambda i: big(_sample(i), 256), sample, painting, api_visibility="private")
