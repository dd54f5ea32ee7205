"""Trainer for cifar10-blocks (python -m training.train cifar10-blocks).

Data: CIFAR-10 cannot be downloaded here, so the shipped weights are trained on
32x32 crops of the natural photos bundled with scikit-image, scikit-learn,
matplotlib and Debian's mate-backgrounds (training photos only; whole photos are
held out for evaluation), taken at scales 1/2 to 1/16 so they look like CIFAR's
downsampled scenes, with flips and colour jitter. `--data PATH` takes real CIFAR-10
python batches (a folder with data_batch_1..5) or any image folder.
Masks: 1-100 blocks of 2x2 to 8x8 pixels, or free-form strokes; loss L1 + SSIM.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from zoo import data
from zoo.registry import get_entry

from . import masks as M
from .common import TrainConfig, train_loop
from .losses import l1_ssim

DEFAULTS = {"cifar10-blocks": TrainConfig(steps=3000, batch_size=48, lr=2e-3)}
BANK_SIZE = 20_000
CROP_SCALES = (0.5, 0.25, 0.125, 0.0625)


def add_args(parser) -> None:
    """Only the common options."""


def training_bank(cfg: TrainConfig) -> tuple[torch.Tensor, str]:
    """(N, 3, 32, 32) training images and a description of exactly what they are."""
    if cfg.data and (Path(cfg.data) / "data_batch_1").is_file():
        x, _ = data.load_cifar10(cfg.data, "train")
        description = f"CIFAR-10 training batches at {cfg.data} ({len(x):,} images)"
    else:
        photos = data.photo_split("train", cfg.data)
        x = data.random_crops(photos, cfg.limit or BANK_SIZE, 32, seed=cfg.seed, scales=CROP_SCALES)
        where = f"the image folder {cfg.data}" if cfg.data else "the bundled natural photos (training split)"
        description = (f"{len(x):,} random 32x32 crops of {len(photos)} photos from {where}, at scales "
                       f"{', '.join(str(s) for s in CROP_SCALES)}, with flips and colour jitter")
    if cfg.limit:
        x = x[: cfg.limit]
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))), description


def block_or_stroke_masks(rng: np.random.Generator, n: int, size: int = 32) -> np.ndarray:
    """Three quarters blocks (2x2: 1-100, 4x4: 1-60, 8x8: 1-15, others in between), one quarter strokes."""
    out = np.zeros((n, size, size), dtype=bool)
    n_strokes = n // 4
    out[:n_strokes] = M.stroke_masks(rng, n_strokes, size)
    limits = {2: 100, 3: 80, 4: 60, 6: 25, 8: 15}
    for i in range(n_strokes, n):
        b = (2, 2, 3, 4, 4, 6, 8)[rng.integers(7)]
        out[i] = M.block_masks(rng, 1, size, limits[b], block_sizes=(b,))[0]
    return out[rng.permutation(n)]


def train(name: str, cfg: TrainConfig, args=None):
    entry = get_entry(name)
    model = entry.builder(**entry.model_kwargs)
    bank, description = training_bank(cfg)

    def loss_fn(net, rng):
        idx = torch.from_numpy(rng.integers(0, len(bank), size=cfg.batch_size))
        x = bank[idx]
        if rng.random() < 0.5:
            x = x.flip(-1)
        m = torch.from_numpy(block_or_stroke_masks(rng, len(x)))[:, None].float()  # (B, 1, 32, 32)
        damaged = x * (1 - m)
        pred = net(torch.cat([damaged, m], dim=1))
        restored = damaged + m * pred  # known pixels pasted back
        hole_l1 = ((restored - x).abs() * m).sum() / (3 * m.sum()).clamp_min(1)
        return l1_ssim(restored, x) + 0.5 * hole_l1

    trained = train_loop(name, model, loss_fn, cfg)
    if trained is None:
        return None
    return trained, description + "; masks: 2x2-8x8 blocks (1-100) or free-form strokes; loss L1 + SSIM + hole L1"
