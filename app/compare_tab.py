"""The "Compare" tab: one input, damaged once, through every model that can take it and the classical
baselines, side by side with per-image metrics, and a before/after slider for the method picked.

Which models take a damage is read from the registry, not listed here: the grey 28x28 family
(pipelines whose `prepare` gives 28x28 grey) for digit-like inputs, the colour models for photos;
a mask damage goes to the pipelines that need a mask (`needs_mask`), a maskless one to the others.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import gradio as gr
import numpy as np

import zoo
from zoo import baselines, corruptions, images, metrics

from .common import (
    big,
    fmt_psnr,
    friendly,
    heldout_photos,
    input_line,
    mnist_test_digits,
    num,
    pick_input,
    pipeline,
    seed_of,
)
from .components import UploadImage
from .tabs import register_tab

PHOTO_SIDE = 256  # photos are shrunk to this long side, so every colour model answers in about a second


class Damage(NamedTuple):
    family: str  # "digit" or "photo": which models and examples
    masked: bool  # a mask damage (the models that need one) or not
    meaning: str  # what the amount slider means
    lo: int  # the slider's range and starting value
    hi: int
    default: int


DAMAGES = {
    "random missing pixels": Damage("digit", True, "% of the pixels", 5, 95, 40),
    "vertical stripe": Damage("digit", True, "stripe width (px)", 1, 20, 7),
    "square patch": Damage("digit", True, "square side (px)", 2, 20, 9),
    "Gaussian noise": Damage("digit", False, "sigma x 100", 5, 100, 50),
    "blank 2x2 blocks": Damage("photo", True, "number of blocks", 5, 400, 120),
    "none: rebuild from features": Damage("photo", False, "(unused)", 0, 1, 0),
}


def damage(clean: np.ndarray, kind: str, amount: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The one damage every method sees: (damaged image, mask True = missing, or None)."""
    if kind == "random missing pixels":
        return corruptions.random_pixel_mask(clean, min(num(amount, "amount"), 95.0) / 100.0, seed)
    if kind == "vertical stripe":
        return corruptions.stripe(clean, num(amount, "amount", whole=True), "vertical", seed)
    if kind == "square patch":
        return corruptions.square_patch(clean, num(amount, "amount", whole=True), seed)
    if kind == "Gaussian noise":
        return corruptions.gaussian_noise(clean, num(amount, "amount") / 100.0, seed)
    if kind == "blank 2x2 blocks":
        return corruptions.random_blocks(clean, num(amount, "amount", whole=True), 2, seed)
    if kind == "none: rebuild from features":
        return clean, None
    raise ValueError(f"unknown damage {kind!r}; choose one of {', '.join(DAMAGES)}")


@functools.lru_cache(maxsize=None)
def family_of(name: str) -> str:
    """'digit' for the 28x28 grey pipelines, 'photo' for the colour ones (by what `prepare` returns)."""
    return "digit" if pipeline(name).prepare(np.zeros((40, 40), np.float32)).ndim == 2 else "photo"


def models_for(kind: str) -> list[str]:
    d = DAMAGES[kind]
    return [n for n in zoo.list_models() if family_of(n) == d.family and pipeline(n).needs_mask == d.masked]


def classical(damaged: np.ndarray, mask: np.ndarray | None, kind: str) -> dict[str, np.ndarray]:
    """The classical methods a user would otherwise pick for this damage."""
    if mask is not None:
        return {
            "biharmonic (scikit-image)": baselines.inpaint_biharmonic_(damaged, mask),
            "Telea (OpenCV)": baselines.inpaint_telea(damaged, mask),
        }
    if kind == "Gaussian noise":
        return {"TV denoising (weight 0.2)": baselines.denoise_tv(damaged, 0.2)}
    kw = zoo.get_entry("feature-recon").model_kwargs  # the stride-8 features' number of values
    return {
        "bicubic, as many values as stride 8": baselines.bicubic_same_values(damaged, kw["in_channels"], 8)
    }


def _shown(img: np.ndarray) -> np.ndarray:
    """uint8 for display: 28x28 grey enlarged (nearest), photos as they are."""
    return big(img) if img.ndim == 2 else (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def example_names() -> list[str]:
    """The examples' names, known without decoding a photo (the tab is built at hub start)."""
    from zoo import data

    _, y = mnist_test_digits()
    return [f"test digit #{i} (a {int(y[i])})" for i in range(5)] + [
        f"photo {n}" for n in sorted(data.HELDOUT_PHOTOS)
    ]


@functools.lru_cache(maxsize=1)
def examples() -> dict[str, np.ndarray]:
    """name -> image, decoded on first use: five MNIST test digits and the held-out bundled photos."""
    x, y = mnist_test_digits()
    out = {f"test digit #{i} (a {int(y[i])})": x[i] for i in range(5)}
    for name, img in sorted(heldout_photos().items()):
        out[f"photo {name}"] = images.fit_within(img, PHOTO_SIDE)
    return out


@friendly
def run_compare(upload, example, kind, amount, seed, progress=gr.Progress()):
    """One input (an upload, or an example by name) damaged once (`kind`, `amount`, `seed`), then every
    model that takes that damage and the classical baselines.

    Returns: a gallery of (image, caption with PSNR / SSIM), a Markdown table of the metrics (best
    first), the (damaged, best method) pair for the before/after slider, the method picker's
    choices, and the results (kept for the picker).
    """
    if kind not in DAMAGES:
        raise ValueError(f"unknown damage {kind!r}; choose one of {', '.join(DAMAGES)}")
    if upload is None and example not in example_names():
        raise ValueError(f"unknown example {example!r}; choose one of {', '.join(example_names())}")
    fam = DAMAGES[kind].family
    names = models_for(kind)
    source = pick_input(upload, examples().get(example))
    clean = pipeline(names[0]).prepare(source)
    if fam == "photo":
        clean = images.fit_within(clean, PHOTO_SIDE)
    damaged, mask = damage(clean, kind, amount, seed_of(seed))
    results: dict[str, np.ndarray] = {}
    for i, name in enumerate(names):  # one after another, each on the hub's background lane
        progress((i + 0.5) / (len(names) + 1), desc=f"running {name}")
        results[name] = pipeline(name)(damaged, mask=mask).image
    progress(len(names) / (len(names) + 1), desc="classical baselines")
    results.update(classical(damaged, mask, kind))
    if mask is not None or kind == "Gaussian noise":
        results["damaged input"] = damaged
    scores = {k: (metrics.psnr(clean, v), metrics.ssim(clean, v)) for k, v in results.items()}
    order = sorted(results, key=lambda k: -scores[k][0])
    gallery = [(_shown(clean), "original")] + [
        (_shown(results[k]), f"{k}: {fmt_psnr(scores[k][0])} dB, SSIM {scores[k][1]:.3f}") for k in order
    ]
    table = "\n".join(
        ["| method | PSNR (dB) | SSIM |", "|---|---|---|"]
        + [f"| {k} | {fmt_psnr(scores[k][0])} | {scores[k][1]:.4f} |" for k in order]
    )
    best = order[0]
    note = input_line(upload, example) + f" Damage: {kind}; models: {', '.join(names)}."
    choices = gr.Dropdown(choices=order, value=best)
    return gallery, note + "\n\n" + table, (_shown(damaged), _shown(results[best])), choices, results


def show_in_slider(results, method):
    """The picker changed: the damaged input against the chosen method."""
    if not results or method not in results:
        return gr.skip()
    first = results.get("damaged input", next(iter(results.values())))
    return _shown(first), _shown(results[method])


def damage_changed(kind):
    """The amount slider's meaning and range follow the damage; the example list its input family."""
    d = DAMAGES[kind]
    fitting = [k for k in example_names() if k.startswith("photo") == (d.family == "photo")]
    return _amount_slider(d), gr.Dropdown(choices=fitting, value=fitting[0])


def _amount_slider(d: Damage) -> gr.Slider:
    return gr.Slider(d.lo, d.hi, value=d.default, step=1, label=f"amount: {d.meaning}")


@register_tab(order=60)
def build_compare_tab() -> None:
    with gr.Tab("Compare", id="compare"):
        gr.Markdown(
            "One input, damaged once, through **every model that can take it** and the classical "
            "baselines, best first. Pick any method to see it against the damaged input in the slider."
        )
        digits = [k for k in example_names() if not k.startswith("photo")]
        with gr.Row():
            with gr.Column(scale=1):
                kind = gr.Radio(list(DAMAGES), value="random missing pixels", label="damage")
                example = gr.Dropdown(digits, value=digits[0], label="example")
                upload = UploadImage(label="or upload an image", height=180)
                amount = _amount_slider(DAMAGES["random missing pixels"])
                seed = gr.Number(0, precision=0, label="seed")
                run_button = gr.Button("Compare", variant="primary")
            with gr.Column(scale=2):
                gallery = gr.Gallery(label="results", columns=4, height=420, object_fit="contain")
                method = gr.Dropdown([], label="show in the slider")
                slider = gr.ImageSlider(
                    label="before / after: damaged | chosen method", type="numpy", format="png", height=320
                )
                table = gr.Markdown()
        results = gr.State({})
        kind.change(damage_changed, kind, [amount, example], api_visibility="private")
        inputs = [upload, example, kind, amount, seed]
        run_button.click(run_compare, inputs, [gallery, table, slider, method, results], api_name="compare")
        method.change(
            show_in_slider,
            [results, method],
            slider,
            api_visibility="private",
            show_progress="hidden",
        )
