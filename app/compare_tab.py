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
    d = DAMAGES.get(kind)
    if d is not None and d.meaning != "(unused)" and not d.lo <= num(amount, "amount") <= d.hi:
        raise ValueError(f"amount for {kind!r} ({d.meaning}) must lie in {d.lo}..{d.hi}, got {amount!r}")
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


# what each damage is a task of: a hole is inpainting; noise is denoising; no damage, for photos, is
# reconstruction from features. Digits are the "mnist" models (not Fashion-MNIST's), photos the "photos" ones.
TASKS_FOR = {True: ("inpainting",), False: ("denoising", "feature-reconstruction")}
DATASET_TAG = {"digit": "mnist", "photo": "photos"}


def models_for(kind: str) -> list[str]:
    """The registry's models that restore this damage: its input family, a task of that damage, and a
    mask exactly when the damage has one (so an autoencoder never competes as a denoiser)."""
    d = DAMAGES[kind]
    return [
        n
        for n in zoo.list_models(tags=DATASET_TAG[d.family])
        if zoo.get_entry(n).task in TASKS_FOR[d.masked]
        and family_of(n) == d.family
        and pipeline(n).needs_mask == d.masked
    ]


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
    return {"bicubic, same values": baselines.bicubic_same_values(damaged, kw["in_channels"], 8)}


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
def run_compare(
    upload=None, example=None, kind="random missing pixels", amount=None, seed=0, progress=gr.Progress()
):
    """Damage one image once and run every model that takes that damage next to the classical methods, best first.

    Args:
        upload: your image (a URL, or a data:image/png;base64 URL); leave empty to use an example.
        example: the name of an example, used when upload is empty (default: the first).
        kind: the damage, one of random missing pixels, vertical stripe, square patch, Gaussian noise, blank 2x2 blocks, none - rebuild from features (written with a colon after none).
        amount: how much damage, in the unit the kind names (default: the kind's own default).
        seed: whole number that fixes the damage.
    Returns:
        a gallery of every method's output with its PSNR and SSIM
        a Markdown table of the metrics, best first
        the damaged and best pair for a before and after slider
        the choices of the method picker
    """
    if kind not in DAMAGES:
        raise ValueError(f"unknown damage {kind!r}; choose one of {', '.join(DAMAGES)}")
    if amount is None:
        amount = DAMAGES[kind].default
    if upload is None and example is None:
        example = fitting_examples(kind)[0]
    if upload is None and example not in example_names():
        raise ValueError(f"unknown example {example!r}; choose one of {', '.join(example_names())}")
    fam = DAMAGES[kind].family
    names = models_for(kind)
    source = pick_input(upload, examples().get(example))
    if fam == "photo":  # one rule for photos: shrunk to PHOTO_SIDE first, whatever the model's own limit
        source = images.fit_within(images.to_rgb(source), PHOTO_SIDE)
    clean = pipeline(names[0]).prepare(source)
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
    # short captions (the table has SSIM too): a long one is cut off under its picture
    gallery = [(_shown(clean), "original")] + [
        (_shown(results[k]), f"{k}: {fmt_psnr(scores[k][0])} dB") for k in order
    ]
    table = "\n".join(
        ["| method | PSNR (dB) | SSIM |", "|---|---|---|"]
        + [f"| {k} | {fmt_psnr(scores[k][0])} | {scores[k][1]:.4f} |" for k in order]
    )
    best = order[0]
    note = input_line(upload, example) + f" Damage: {kind}; models: {', '.join(names)}."
    choices = gr.Dropdown(choices=order, value=best)
    return gallery, note + "\n\n" + table, (_shown(damaged), _shown(results[best])), choices


def method_of(caption: str) -> str:
    """The method a gallery caption names ("biharmonic: 21.3 dB, SSIM 0.912" -> "biharmonic")."""
    return caption.rsplit(": ", 1)[0] if ": " in caption else caption


def show_in_slider(gallery, method):
    """The picker changed: the damaged input against the chosen method, both read from the gallery (its
    captions name them), so the compare endpoint keeps no per-session state."""
    shown = {method_of(caption or ""): image for image, caption in (gallery or [])}
    if method not in shown:
        return gr.skip()
    # the left half is the damaged input, or the original where there is no damage ("none")
    first = shown.get("damaged input", shown.get("original", shown[method]))
    return np.asarray(first), np.asarray(shown[method])


def fitting_examples(kind: str) -> list[str]:
    """The examples of the damage's input family (digits or photos)."""
    return [k for k in example_names() if k.startswith("photo") == (DAMAGES[kind].family == "photo")]


def damage_changed(kind):
    """The amount slider's meaning and range follow the damage; the example list its input family."""
    fitting = fitting_examples(kind)
    return _amount_slider(DAMAGES[kind]), gr.Dropdown(choices=fitting, value=fitting[0])


AMOUNT_RANGE = (min(d.lo for d in DAMAGES.values()), max(d.hi for d in DAMAGES.values()))


def _amount_slider(d: Damage, initial: bool = False) -> gr.Slider:
    """The amount slider for damage `d`. The one built with the page spans every damage's range: Gradio
    checks an API value against the component as built, not as a page narrowed it, so a narrower first
    range would refuse the UI's own values for other damages (120 blocks). Each damage is checked by
    `damage` itself."""
    lo, hi = AMOUNT_RANGE if initial else (d.lo, d.hi)
    return gr.Slider(lo, hi, value=d.default, step=1, label=f"amount: {d.meaning}")


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
                amount = _amount_slider(DAMAGES["random missing pixels"], initial=True)
                seed = gr.Number(0, precision=0, label="seed")
                run_button = gr.Button("Compare", variant="primary")
            with gr.Column(scale=2):
                gallery = gr.Gallery(
                    label="results", columns=3, height=460, object_fit="contain", type="numpy", format="png"
                )
                method = gr.Dropdown([], label="show in the slider")
                slider = gr.ImageSlider(
                    label="before / after: damaged | chosen method",
                    type="numpy",
                    format="png",
                    interactive=False,
                )
                table = gr.Markdown()
        kind.change(damage_changed, kind, [amount, example], api_visibility="private")
        inputs = [upload, example, kind, amount, seed]
        # Progress and errors on the text pane only: a bad upload leaves the pictures already shown.
        run_button.click(
            run_compare, inputs, [gallery, table, slider, method], api_name="compare", show_progress_on=table
        )
        method.change(
            show_in_slider,
            [gallery, method],
            slider,
            api_visibility="private",
            show_progress="hidden",
        )
