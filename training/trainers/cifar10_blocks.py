"""Trainer of cifar10-blocks (run through `python -m training.train cifar10-blocks`).

Data: CIFAR-like 32x32 crops of the photo corpus' training split (`zoo.photo_corpus`,
fetched with `python -m training.fetch photos`, plus the bundled photos): each photo is
shrunk (antialiased) so its short side is 32-128 px, then random 32x32 crops, flips and
mild colour jitter. With --data PATH, real CIFAR-10 python batches (data_batch_1..5).
Damage: 5-120 blanked blocks of 2x2 or 4x4 px, and free-form strokes in 15% of the batch.
Loss: MSE inside the holes (the metric is PSNR there), on the network's fill + residual.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo import baselines, data, images
from zoo.pipelines.cifar10_blocks import network_input

from .. import masks as M
from ..common import TrainConfig, build_model, train_loop

DEFAULTS = {"cifar10-blocks": TrainConfig(steps=4000, batch_size=48, lr=2e-3)}
SHORT_SIDES = (32, 40, 48, 56, 64, 80, 96, 112, 128)
SIZE = 32


def photo_pool(photos: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Every photo at every short side in SHORT_SIDES (antialiased), as uint8 HxWx3."""
    pool = []
    for img in photos.values():
        pil = images.to_pil_rgb(img)
        pool += [images.short_side_resized(pil, side, SIZE) for side in SHORT_SIDES if side <= min(pil.size)]
    return pool


def sample_crops(pool: list[np.ndarray], rng: np.random.Generator, n: int) -> np.ndarray:
    """n random 32x32 crops with flips and per-channel gain jitter: (n, 32, 32, 3) float32."""
    out = np.empty((n, SIZE, SIZE, 3), dtype=np.float32)
    for i in range(n):
        src = pool[rng.integers(len(pool))]
        y, x = rng.integers(0, src.shape[0] - SIZE + 1), rng.integers(0, src.shape[1] - SIZE + 1)
        crop = src[y : y + SIZE, x : x + SIZE].astype(np.float32) / 255.0
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out[i] = np.clip(crop * rng.uniform(0.9, 1.1, size=3) + rng.uniform(-0.03, 0.03), 0, 1)
    return out


def block_masks(rng: np.random.Generator, n: int) -> np.ndarray:
    """5-120 blocks of 2x2 or 4x4 per image, strokes in 15% of them: (n, 32, 32) bool."""
    masks = np.zeros((n, SIZE, SIZE), dtype=bool)
    strokes = rng.random(n) < 0.15
    if strokes.any():
        masks[strokes] = M.stroke_masks(rng, int(strokes.sum()), SIZE, max_strokes=2)
    for i in np.flatnonzero(~strokes):
        side = 2 if rng.random() < 0.5 else 4
        count = rng.integers(5, 121)
        for y, x in zip(rng.integers(0, SIZE - side + 1, count), rng.integers(0, SIZE - side + 1, count)):
            masks[i, y : y + side, x : x + side] = True
    return masks


def training_images(cfg: TrainConfig) -> tuple[list[np.ndarray], str]:
    if cfg.data:
        x, _ = data.load_cifar10(cfg.data, "train")
        x = x[: cfg.limit] if cfg.limit else x
        return [
            (img * 255 + 0.5).astype(np.uint8) for img in x
        ], f"CIFAR-10 python batches at {cfg.data} (train split)"
    from zoo import photo_corpus

    photos = photo_corpus.load_photos("train", max_side=512)
    if cfg.limit:
        photos = dict(list(photos.items())[: cfg.limit])
    what = ", ".join(f"{k} {v}" for k, v in photo_corpus.source_counts(photos).items())
    return photo_pool(photos), (
        f"32x32 crops of the photo corpus' training split ({len(photos)} photos: {what}), "
        f"each shrunk to a short side of 32-128 px; flips, colour jitter"
    )


def build(name: str, cfg: TrainConfig):
    model = build_model(name, cfg)
    pool, description = training_images(cfg)

    def loss_fn(net, rng):
        x = sample_crops(pool, rng, cfg.batch_size)  # (B, 32, 32, 3)
        m = block_masks(rng, cfg.batch_size)  # (B, 32, 32)
        damaged = np.where(m[..., None], 0.0, x).astype(np.float32)
        inp = np.stack([network_input(d, k, baselines.inpaint_biharmonic_(d, k)) for d, k in zip(damaged, m)])
        pred = net(torch.from_numpy(inp))  # (B, 3, 32, 32)
        target = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        holes = torch.from_numpy(m)[:, None].float()
        return (((pred - target) ** 2) * holes).sum() / (3 * holes.sum()).clamp_min(1)

    return model, loss_fn, description + "; damage: 5-120 blocks of 2x2/4x4 px, strokes in 15% of images"


def add_args(parser) -> None:
    """cifar10-blocks takes only the common options (--data PATH: CIFAR-10 python batches)."""


def train(name: str, cfg: TrainConfig, args=None):
    model, loss_fn, description = build(name, cfg)
    model = train_loop(name, model, loss_fn, cfg)
    return None if model is None else (model, description)
