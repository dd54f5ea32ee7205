"""The "Block inpainting" tab (cifar10-blocks): blank random blocks, or paint the damage, and compare.

Inputs: a held-out 32x32 crop, a held-out photo shrunk to 64 px, or an upload (shrunk to
UPLOAD_MAX_SIDE on the long side; the model takes up to 1024 px, this keeps the tab quick).
Damage: `count` random blocks of `size` px (seeded), or strokes painted in the editor.
Outputs (small images enlarged with nearest-neighbour): the damaged image, the model, OpenCV
Telea and scikit-image biharmonic, each with its metrics, and a before/after slider.
"""

from __future__ import annotations

import functools

import gradio as gr
import numpy as np

from zoo import baselines, images, metrics

from .components import BoundedEditor, UploadImage
from .common import big, editor_mask, fmt_psnr, friendly, heldout_photos, num, pick_input, pipeline, seed_of
from .tabs import register_tab

UPLOAD_MAX_SIDE = 256
N_CROPS = 8


@functools.lru_cache(maxsize=1)
def examples() -> dict[str, np.ndarray]:
    """Held-out 32x32 crops and held-out photos at 64 px (never trained on)."""
    from zoo.protocols.cifar10_blocks import crops_of

    photos = heldout_photos()
    out = {f"held-out crop #{i}": c for i, c in enumerate(crops_of(photos)[:N_CROPS])}
    for name, img in sorted(photos.items()):
        out[f"{name} at 64 px"] = images.fit_within(img, 64)
    return out


def example_names() -> list[str]:
    """The examples' names without decoding a photo (the tab is built at hub start; `examples()` is
    decoded by the hub's background warm-up or on first use)."""
    from zoo import data

    return [f"held-out crop #{i}" for i in range(N_CROPS)] + [
        f"{n} at 64 px" for n in sorted(data.HELDOUT_PHOTOS)
    ]


def _editor_image(name: str, upload=None):
    """What the paint editor shows: the image the damage will be applied to (the upload when there is
    one, shrunk as the run shrinks it; else the chosen example)."""
    if upload is not None:
        try:
            return big(images.fit_within(images.to_rgb(pick_input(upload, None)), UPLOAD_MAX_SIDE), 256)
        except ValueError:
            return gr.skip()  # the Inpaint button reports a bad upload in words
    return big(examples()[name], 256) if name in examples() else None


def _row(name: str, clean: np.ndarray, out: np.ndarray, mask: np.ndarray) -> str:
    return (
        f"| {name} | {fmt_psnr(metrics.psnr(clean, out))} | {fmt_psnr(metrics.hole_psnr(clean, out, mask))} "
        f"| {metrics.ssim(clean, out):.4f} |"
    )


def block_side(size) -> int:
    """The block-size control's value ("2" or "4", as the page and the API send it; 2 or 4 from Python)."""
    if str(size).strip() not in ("2", "4"):
        raise ValueError(f"block size must be 2 or 4, got {size!r}")
    return int(str(size).strip())


@friendly
def run_blocks(upload=None, example=None, count=50, size="2", seed=0, drawing=None):
    """Blank small blocks of a photo (or paint a hole) and restore it with cifar10-blocks.

    Args:
        upload: your photo (a URL, or a data:image/png;base64 URL); leave empty to use an example.
        example: the name of a held-out example photo, used when upload is empty (default: the first).
        count: how many blocks to blank, 0 to 200 (0: use the painted drawing).
        size: block side in pixels, 2 or 4.
        seed: whole number that fixes where the blocks fall.
        drawing: the painted hole (an image editor value), used when count is 0.
    Returns:
        the damaged photo
        cifar10-blocks' restoration
        Telea inpainting (a classical method)
        biharmonic inpainting (a classical method)
        a Markdown table of PSNR (whole and in the holes) and SSIM
        the damaged and restored pair for a before and after slider
    """
    p = pipeline("cifar10-blocks")
    if upload is None and example is None:
        example = next(iter(examples()))
    if upload is None:
        if example not in examples():
            raise ValueError(f"unknown example {example!r}; choose one of {sorted(examples())}")
        clean = examples()[example]
    else:
        # shrunk first, as the label says: a 1600x1200 photo is fine here although the model takes <= 1024 px
        clean = images.fit_within(images.to_rgb(pick_input(upload, None)), UPLOAD_MAX_SIDE)
    clean = p.prepare(clean)
    if num(count, "number of blocks", whole=True) == 0:
        mask = editor_mask(drawing, clean.shape[:2])
        damaged = np.where(mask[..., None], 0.0, clean).astype(np.float32)
    else:
        damaged, mask = p.corrupt(
            clean,
            n_blocks=num(count, "number of blocks", whole=True),
            block_size=block_side(size),
            seed=seed_of(seed),
        )
    if not mask.any():
        raise ValueError("the damage covers no pixel; add blocks or paint on the image")
    restored = p(damaged, mask=mask).image
    telea = baselines.inpaint_telea(damaged, mask)
    biharmonic = baselines.inpaint_biharmonic_(damaged, mask)
    table = "\n".join(
        [
            "| method | PSNR (dB) | PSNR in the holes (dB) | SSIM |",
            "|---|---|---|---|",
            _row("cifar10-blocks", clean, restored, mask),
            _row("biharmonic", clean, biharmonic, mask),
            _row("Telea", clean, telea, mask),
        ]
    )
    note = (
        f"**Input:** example {example}."
        if upload is None
        else f"**Input:** your upload (at most {UPLOAD_MAX_SIDE} px)."
    )
    return (
        big(damaged, 256),
        big(restored, 256),
        big(telea, 256),
        big(biharmonic, 256),
        note + "\n\n" + table,
        (big(damaged, 256), big(restored, 256)),
    )


@register_tab("cifar10-blocks", order=50)
def build_blocks_tab() -> None:
    with gr.Tab("Block inpainting", id="cifar10-blocks") as tab:
        gr.Markdown(
            "Blank random blocks in a small colour photo (or paint the damage) and see the U-Net correct "
            "the classical biharmonic fill, next to OpenCV's Telea and the biharmonic fill itself."
        )
        names = example_names()
        with gr.Row():
            with gr.Column():
                example = gr.Dropdown(names, value=names[0], label="example (held-out)")
                upload = UploadImage(
                    label=f"or upload a photo (shrunk to {UPLOAD_MAX_SIDE} px)",
                    max_side=UPLOAD_MAX_SIDE,
                    height=200,
                )
                count = gr.Slider(
                    0, 200, value=50, step=1, label="number of blocks (0: use the painted damage)"
                )
                # string choices: the API documents Literal['2', '4'] and must accept what it documents
                size = gr.Radio(["2", "4"], value="2", label="block size (px)")
                seed = gr.Number(0, precision=0, label="seed")
                drawing = BoundedEditor(
                    label="paint the damage (used when the number of blocks is 0)",
                    type="numpy",
                    image_mode="RGBA",
                    height=260,
                )
                run_button = gr.Button("Inpaint", variant="primary")
            with gr.Column():
                out = functools.partial(gr.Image, type="numpy", format="png", interactive=False, height=230)
                with gr.Row():
                    damaged, restored = out(label="damaged"), out(label="cifar10-blocks")
                with gr.Row():
                    telea, biharmonic = out(label="Telea (OpenCV)"), out(label="biharmonic (scikit-image)")
                slider = gr.ImageSlider(label="before / after", type="numpy", interactive=False)
                table = gr.Markdown()
        inputs = [upload, example, count, size, seed, drawing]
        outputs = [damaged, restored, telea, biharmonic, table, slider]
        # Progress and errors on the text pane only: a bad upload leaves the pictures already shown.
        run_button.click(run_blocks, inputs, outputs, api_name="cifar10-blocks", show_progress_on=table)
        for control in (example, size, seed):
            control.change(
                run_blocks,
                inputs,
                outputs,
                api_visibility="private",
                show_progress="hidden",
                show_progress_on=table,
            )
        # The editor shows what the damage applies to (the upload, else the example): filled when the tab
        # is first opened, not at hub start, and again whenever the upload or the example changes.
        for event in (example.change, tab.select, upload.change):
            event(_editor_image, [example, upload], drawing, api_visibility="private", show_progress="hidden")
