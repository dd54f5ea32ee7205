"""Tabs for mnist-masked, mnist-denoise and mnist-ae2d.

Inputs: a test digit chosen by index, or an upload (converted to 28x28 grey by
`zoo.images.to_small_grey`; an upload wins, and the result says which input it used).
Each result shows the original, the damaged input, the model and the classical baseline,
and a before/after slider. Outputs are enlarged with nearest-neighbour.
"""

from __future__ import annotations

import functools

import gradio as gr
import numpy as np

from zoo import baselines, metrics
from zoo.pipelines.mnist_masked import DAMAGE_KINDS

from .components import BoundedEditor, UploadImage
from .common import (
    before_after,
    big,
    digit_warning,
    editor_mask,
    friendly,
    input_line,
    metrics_table,
    mnist_test_digits,
    num,
    painted,
    pick_input,
    pipeline,
    seed_of,
    show_holes,
)
from .tabs import register_tab

TV_GRID = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6)


def _sample(index: float, digits: tuple[int, ...] | None = None) -> np.ndarray:
    x, _ = mnist_test_digits(digits)
    i = num(index, "digit index", whole=True)
    if not 0 <= i < len(x):
        raise ValueError(f"test digit index must be between 0 and {len(x) - 1}, got {i}")
    return x[i]


def _result_view(upload, sample_index, clean, damaged, restored, baseline, table, mask=None):
    """What the masked and denoising tabs show: original, damaged (holes tinted), model, baseline
    (enlarged), the (damaged, restored) slider pair, and the metrics under a line naming the input used."""
    note = input_line(upload, f"test digit #{int(sample_index)}") + digit_warning(clean)
    shown = show_holes(damaged, mask)
    restored_shown = np.repeat(restored[..., None], 3, -1) if mask is not None else restored  # same mode
    return (
        big(clean),
        big(shown),
        big(restored),
        big(baseline),
        before_after(shown, restored_shown),
        note + "\n\n" + table,
    )


# ------------------------------------------------------------------ functions (also the API)
@friendly
def run_masked(upload=None, sample_index=0, kind="vertical", size=7, seed=0, drawing=None):
    """Damage a digit (an example 5 or 7, or your image) with a hole and restore it with mnist-masked.

    Args:
        upload: your image (a URL, or a data:image/png;base64 URL); leave empty to use an example digit.
        sample_index: which example digit (0-based; the test 5s and 7s), used when upload is empty.
        kind: the damage, one of vertical, horizontal, patch, random, drawn.
        size: stripe width or square side in pixels (1-28), or the percent of pixels for random.
        seed: whole number that fixes where the hole falls.
        drawing: for kind drawn, the painted hole (an image editor value); otherwise leave empty.
    Returns:
        the original digit (enlarged)
        the damaged digit (enlarged)
        mnist-masked's restoration (enlarged)
        biharmonic inpainting (the classical method) (enlarged)
        the damaged and restored pair for a before and after slider
        a Markdown table of MSE and PSNR and SSIM against the original
    """
    p = pipeline("mnist-masked")
    clean = p.prepare(pick_input(upload, _sample(sample_index, (5, 7))))
    if kind == "drawn":
        mask = editor_mask(drawing, clean.shape)
        damaged = np.where(mask, 0.0, clean).astype(np.float32)
    else:
        if kind == "random":
            size = min(num(size, "size"), 100.0) / 100.0  # the slider is in percent for scattered pixels
        damaged, mask = p.corrupt(clean, kind=kind, size=size, seed=seed_of(seed))
    restored = p(damaged, mask=mask).image
    biharmonic = baselines.inpaint_biharmonic_(damaged, mask)
    table = metrics_table(
        clean, {"mnist-masked": restored, "biharmonic": biharmonic, "damaged (zero fill)": damaged}
    )
    return _result_view(upload, sample_index, clean, damaged, restored, biharmonic, table, mask)


def run_masked_live(upload, sample_index, kind, size, seed, drawing=None):
    """A control changed: in drawn mode with nothing painted yet, wait for a stroke instead of an error."""
    if kind == "drawn" and not painted(drawing):
        return (gr.skip(),) * 5 + ("Draw the damage on the image in the editor, then press **Restore**.",)
    return run_masked(upload, sample_index, kind, size, seed, drawing)


@friendly
def run_denoise(upload=None, sample_index=0, sigma=0.5, seed=0):
    """Add Gaussian noise to a digit (an MNIST test digit, or your image) and remove it with mnist-denoise.

    Args:
        upload: your image (a URL, or a data:image/png;base64 URL); leave empty to use a test digit.
        sample_index: which test digit (0-based), used when upload is empty.
        sigma: the noise's standard deviation, 0 to 1 (images in 0-1).
        seed: whole number that fixes the noise.
    Returns:
        the original digit (enlarged)
        the noisy digit (enlarged)
        mnist-denoise's output (enlarged)
        TV denoising at its best weight (the classical method) (enlarged)
        the noisy and denoised pair for a before and after slider
        a Markdown table of PSNR and SSIM
    """
    p = pipeline("mnist-denoise")
    clean = p.prepare(pick_input(upload, _sample(sample_index)))
    noisy, _ = p.corrupt(clean, sigma=num(sigma, "noise sigma"), seed=seed_of(seed))
    restored = p(noisy).image
    # The classical baseline at its best weight for this very image (an oracle choice, generous to it).
    tv_best = max((baselines.denoise_tv(noisy, w) for w in TV_GRID), key=lambda out: metrics.psnr(clean, out))
    table = metrics_table(
        clean, {"mnist-denoise": restored, "TV (best weight)": tv_best, "noisy input": noisy}
    )
    return _result_view(upload, sample_index, clean, noisy, restored, tv_best, table)


def editor_background(upload, sample_index):
    """What the drawing editor shows: the image the damage will really be applied to."""
    try:
        clean = pipeline("mnist-masked").prepare(pick_input(upload, _sample(sample_index, (5, 7))))
    except ValueError:
        return gr.skip()  # the Restore button reports a bad upload in words
    return big(clean)


@functools.lru_cache(maxsize=2)
def _embedding_plot(point_label: str):
    """The test 5s and 7s encoded and drawn once per legend label; each call only marks its point."""
    from zoo.plots import EmbeddingPlot

    x, y = mnist_test_digits((5, 7))
    return EmbeddingPlot(pipeline("mnist-ae2d").encode_batch(x), y, point_label)


def _plot(point, point_label: str = "decoded point") -> np.ndarray:
    """The plane with `point` marked: "encoded input" for an encoded digit, "decoded point" for the sliders."""
    return _embedding_plot(point_label).render(point)


@friendly
def run_ae2d(upload=None, sample_index=0):
    """Encode a digit (an example 5 or 7, or your image) to two numbers with mnist-ae2d and decode it back.

    Args:
        upload: your image (a URL, or a data:image/png;base64 URL); leave empty to use an example digit.
        sample_index: which example digit (0-based; the test 5s and 7s), used when upload is empty.
    Returns:
        the input digit (enlarged)
        its reconstruction from the two numbers (enlarged)
        z1 (the first coordinate)
        z2 (the second coordinate)
        the plane of all test 5s and 7s with the point marked
        a Markdown note with the reconstruction MSE
    """
    p = pipeline("mnist-ae2d")
    clean = p.prepare(pick_input(upload, _sample(sample_index, (5, 7))))
    z = [round(float(v), 1) for v in p.encode(clean)]  # the sliders' step is 0.1
    recon = p(clean).image
    note = input_line(upload, f"test digit #{int(sample_index)}") + digit_warning(clean)
    return (
        big(clean),
        big(recon),
        z[0],
        z[1],
        _plot((z[0], z[1]), "encoded input"),
        f"{note}\n\nencoded to z = ({z[0]:.1f}, {z[1]:.1f}); reconstruction MSE "
        f"{metrics.mse(clean, recon):.4f}",
    )


@friendly
def decode_point(z1, z2):
    """Decode any point (z1, z2) of the plane: the 28x28 digit (enlarged) and the plane with the point
    marked."""
    img = pipeline("mnist-ae2d").decode([num(z1, "z1"), num(z2, "z2")])
    return big(img), _plot((float(z1), float(z2)))


def decode_point_view(z1=0.0, z2=0.0):
    """Decode any point of mnist-ae2d's plane into a digit.

    Args:
        z1: the first coordinate (about -30 to 30).
        z2: the second coordinate (about -30 to 30).
    Returns:
        the decoded digit (enlarged)
        the plane with the point marked
        an empty input image (the encoded input belongs to another point)
        a Markdown note naming the point
    """
    img, plot = decode_point(z1, z2)
    return (
        img,
        plot,
        None,
        f"decoded from z = ({float(z1):.1f}, {float(z2):.1f}), a point chosen with the sliders",
    )


# ------------------------------------------------------------------ layout
def _input_column(n_samples: int):
    sample = gr.Slider(0, n_samples - 1, value=0, step=1, label="test digit #")
    upload = UploadImage(label="or upload an image (converted to 28x28 grey)", height=200)
    return sample, upload


def _out(label: str, height: int = 200) -> gr.Image:
    return gr.Image(label=label, type="numpy", format="png", interactive=False, height=height)


def _slider(label: str) -> gr.ImageSlider:
    # No fixed height: a box lower than the images made the two halves show different crops (the
    # block-inpainting slider, without one, was right); tests/test_browser.py checks the alignment.
    return gr.ImageSlider(label=label, type="numpy", format="png", interactive=False)


@register_tab("mnist-masked", order=20)
def build_masked_tab() -> None:
    with gr.Tab("MNIST · masked digits", id="mnist-masked"):
        gr.Markdown(
            "Remove a stripe or a square from a digit (or paint the damage), and see the mask-aware "
            "U-Net fill it next to scikit-image's biharmonic inpainting."
        )
        with gr.Row():
            with gr.Column():
                sample, upload = _input_column(len(mnist_test_digits((5, 7))[0]))
                kind = gr.Radio(list(DAMAGE_KINDS) + ["drawn"], value="vertical", label="damage")
                # built spanning 1..95 (what the API accepts); the page narrows it to 28 px for holes and
                # widens it to 95 % for random pixels (it no longer caps random damage at 28 %)
                size = gr.Slider(
                    1, 95, value=7, step=1, label="stripe width / square side / % of pixels (random)"
                )
                seed = gr.Number(0, precision=0, label="seed")
                drawing = BoundedEditor(
                    label="Draw the damage (used when damage = drawn)",
                    type="numpy",
                    image_mode="RGBA",
                    height=280,
                    value=big(_sample(0, (5, 7))),
                )
                run_button = gr.Button("Restore", variant="primary")
            with gr.Column():
                with gr.Row():
                    original_output = _out("original")
                    damaged_output = _out("damaged")
                    image_output = _out("mnist-masked")
                    baseline_output = _out("biharmonic")
                slider_output = _slider("before / after: damaged | mnist-masked")
                metrics_output = gr.Markdown()
        inputs = [upload, sample, kind, size, seed, drawing]
        outputs = [
            original_output,
            damaged_output,
            image_output,
            baseline_output,
            slider_output,
            metrics_output,
        ]
        # Progress and errors on the text pane only: a bad upload leaves the pictures already shown.
        run_button.click(
            run_masked, inputs, outputs, api_name="mnist-masked", show_progress_on=metrics_output
        )
        for control in (sample, kind, size, seed):
            control.change(
                run_masked_live,
                inputs,
                outputs,
                api_visibility="private",
                show_progress="hidden",
                show_progress_on=metrics_output,
            )
        for source in (sample, upload):  # the editor shows the image the damage is really applied to
            source.change(editor_background, [upload, sample], drawing, api_visibility="private")
        kind.change(size_range, [kind, size], size, api_visibility="private", show_progress="hidden")


def size_range(kind, size):
    """The size slider's range for the damage: up to 95 % for random pixels, 28 px for holes."""
    top = 95 if kind == "random" else 28
    return gr.Slider(1, top, value=min(num(size, "size"), top), step=1)


@register_tab("mnist-denoise", order=30)
def build_denoise_tab() -> None:
    with gr.Tab("MNIST · denoising", id="mnist-denoise"):
        gr.Markdown(
            "Add clipped Gaussian noise to a digit and remove it with the U-Net, next to total-variation "
            "denoising at its best weight for this image."
        )
        with gr.Row():
            with gr.Column():
                sample, upload = _input_column(len(mnist_test_digits()[0]))
                sigma = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="noise sigma")
                seed = gr.Number(0, precision=0, label="seed")
                run_button = gr.Button("Denoise", variant="primary")
            with gr.Column():
                with gr.Row():
                    original_output = _out("original")
                    noisy_output = _out("noisy")
                    image_output = _out("mnist-denoise")
                    baseline_output = _out("TV denoising")
                slider_output = _slider("before / after: noisy | mnist-denoise")
                metrics_output = gr.Markdown()
        inputs = [upload, sample, sigma, seed]
        outputs = [
            original_output,
            noisy_output,
            image_output,
            baseline_output,
            slider_output,
            metrics_output,
        ]
        # Progress and errors on the text pane only: a bad upload leaves the pictures already shown.
        run_button.click(
            run_denoise, inputs, outputs, api_name="mnist-denoise", show_progress_on=metrics_output
        )
        for control in (sample, sigma, seed):
            control.change(
                run_denoise,
                inputs,
                outputs,
                api_visibility="private",
                show_progress="hidden",
                show_progress_on=metrics_output,
            )


@register_tab("mnist-ae2d", order=40)
def build_ae2d_tab() -> None:
    with gr.Tab("MNIST · 2-D autoencoder", id="mnist-ae2d"):
        gr.Markdown(
            "Every 5 or 7 becomes two numbers. Encode a digit to see where it lands, or move the "
            "sliders to decode any point of the plane."
        )
        with gr.Row():
            with gr.Column():
                sample, upload = _input_column(len(mnist_test_digits((5, 7))[0]))
                encode_button = gr.Button("Encode", variant="primary")
                z1 = gr.Slider(-30, 30, value=0, step=0.1, label="z1")
                z2 = gr.Slider(-30, 30, value=0, step=0.1, label="z2")
            with gr.Column():
                with gr.Row():
                    input_output = _out("input (28x28)", 280)
                    image_output = _out("decoded", 280)
                info_output = gr.Markdown()
                plot_output = gr.Image(
                    label="embedding of the test 5s and 7s", type="numpy", interactive=False
                )
        # Progress and errors on the text pane only: a bad upload leaves the pictures already shown.
        encode_button.click(
            run_ae2d,
            [upload, sample],
            [input_output, image_output, z1, z2, plot_output, info_output],
            api_name="mnist-ae2d",
            show_progress_on=info_output,
        )
        # The slider's point replaces the encoded input, whose picture and MSE would be stale.
        view = [image_output, plot_output, input_output, info_output]
        z1.release(decode_point_view, [z1, z2], view, api_name="mnist-ae2d-decode")
        z2.release(decode_point_view, [z1, z2], view, api_visibility="private")
        # a value typed into a slider's number box (no drag, so no release) decodes too; a drag decodes
        # its last position
        for z in (z1, z2):
            z.input(
                decode_point_view,
                [z1, z2],
                view,
                api_visibility="private",
                show_progress="hidden",
                trigger_mode="always_last",
            )
