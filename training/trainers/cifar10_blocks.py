"""Trainer of cifar10-blocks (run through `python -m training.train cifar10-blocks`).

Data: CIFAR-like 32x32 crops of the photo corpus' training split (`zoo.photo_corpus`,
fetched with `python -m training.fetch photos`, plus the bundled photos): each photo is
shrunk (antialiased) so its short side is 32-128 px, then random 32x32 crops, flips and
mild colour jitter. With --data PATH, real CIFAR-10 python batches (data_batch_1..5).
Damage: 5-120 blanked blocks of 2x2 or 4x4 px, and free-form strokes in 15% of the batch.
Loss: MSE inside the holes (the metric is PSNR there), on the network's fill + residual.
Crops and masks are drawn on the training device from the step's generator; the biharmonic fill the
network starts from is computed on the CPU (scikit-image). The validation figure is the PSNR inside
the holes on fixed crops of the validation photos (or CIFAR-10's validation images with --data).
"""

from __future__ import annotations

import numpy as np
import torch

from zoo import baselines, data, images
from zoo.pipelines.cifar10_blocks import network_input

from ..common import TrainConfig, build_model, train_loop
from . import batches as B
from .losses import mean_psnr

DEFAULTS = {"cifar10-blocks": TrainConfig(steps=4000, batch_size=48, lr=2e-3)}
SHORT_SIDES = (32, 40, 48, 56, 64, 80, 96, 112, 128)
SIZE = 32
VALIDATION_N = 64


def photo_pool(photos: dict[str, np.ndarray], device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """Every photo at every short side in SHORT_SIDES (antialiased), as uint8 (3, H, W) tensors."""
    pool = []
    for img in photos.values():
        pil = images.to_pil_rgb(img)
        for side in SHORT_SIDES:
            if side <= min(pil.size):
                version = images.short_side_resized(pil, side, SIZE)  # (H, W, 3) uint8
                pool.append(torch.from_numpy(np.ascontiguousarray(version.transpose(2, 0, 1))).to(device))
    return pool


def sample_crops(pool: list[torch.Tensor], g: torch.Generator, n: int) -> torch.Tensor:
    """n random 32x32 crops with flips and per-channel gain jitter: (n, 3, 32, 32) float32."""
    return B.colour_jitter(B.random_crops(pool, None, g, n, SIZE), g, gain=0.1, offset=0.03)


def block_masks(g: torch.Generator, n: int, most: int = 120) -> torch.Tensor:
    """5-`most` blocks of 2x2 or 4x4 per image, strokes in 15% of them: (n, 32, 32) bool."""
    dev = g.device
    side = torch.where(B.coin(g, 0.5, n), 2, 4)  # (n,)
    count = B.integers(g, 5, most + 1, n)
    y = B.integers(g, 0, (SIZE - side + 1)[:, None].expand(n, most), n, most)
    x = B.integers(g, 0, (SIZE - side + 1)[:, None].expand(n, most), n, most)
    ar = torch.arange(SIZE, device=dev)
    s = side[:, None, None]
    rows = (ar >= y[..., None]) & (ar < y[..., None] + s)  # (n, most, 32)
    cols = (ar >= x[..., None]) & (ar < x[..., None] + s)
    active = torch.arange(most, device=dev)[None] < count[:, None]  # (n, most)
    blocks = ((rows[..., :, None] & cols[..., None, :]) & active[..., None, None]).any(1)
    strokes = B.coin(g, 0.15, n)
    return torch.where(strokes[:, None, None], B.stroke_masks(g, n, SIZE, max_strokes=2), blocks)


def photos_or_cifar(
    split: str, cfg: TrainConfig, licences: str = "permissive"
) -> tuple[list[torch.Tensor], str]:
    """The crops' sources of one split: photos at several scales, or CIFAR-10 images (--data)."""
    if cfg.data:
        x, _ = data.load_cifar10(cfg.data, split)
        x = x[: cfg.limit] if cfg.limit else x
        tensors = torch.from_numpy((x * 255 + 0.5).astype(np.uint8)).permute(0, 3, 1, 2).to(cfg.device)
        return list(tensors), f"CIFAR-10 python batches at {cfg.data} ({split} split)"
    from zoo import photo_corpus

    photos = photo_corpus.load_photos(split, max_side=512, licences=licences)
    if cfg.limit:
        photos = dict(list(photos.items())[: cfg.limit])
    what = ", ".join(f"{k} {v}" for k, v in photo_corpus.source_counts(photos).items())
    return photo_pool(photos, cfg.device), (
        f"32x32 crops of the photo corpus' {split} split, {licences} licences ({len(photos)} photos: {what}), "
        f"each shrunk to a short side of 32-128 px; flips, colour jitter"
    )


def training_images(cfg: TrainConfig, licences: str = "permissive") -> tuple[list[torch.Tensor], str]:
    return photos_or_cifar("train", cfg, licences)


def network_inputs(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """The pipeline's input for crops x (B, 3, 32, 32) with holes m (B, 32, 32): the damaged crop, the
    mask and the biharmonic fill (computed on the CPU), on x's device."""
    xs = x.permute(0, 2, 3, 1).cpu().numpy()
    ms = m.cpu().numpy()
    damaged = np.where(ms[..., None], 0.0, xs).astype(np.float32)
    inp = np.stack([network_input(d, k, baselines.inpaint_biharmonic_(d, k)) for d, k in zip(damaged, ms)])
    return torch.from_numpy(inp).to(x.device)


def hole_mse(pred: torch.Tensor, target: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    holes = m[:, None].float()
    return (((pred - target) ** 2) * holes).sum() / (3 * holes.sum()).clamp_min(1)


def validator(name: str, cfg: TrainConfig, args=None, n: int | None = None):
    """`validate(model) -> {"hole_psnr": ...}`: the mean PSNR inside the holes of fixed damage on fixed
    crops of the validation photos (or CIFAR-10 validation images), or None when there are none."""
    try:
        val_pool, _ = photos_or_cifar("validation", cfg)
    except (data.DatasetNotFoundError, ValueError) as e:
        print(f"[{name}] no validation figure: {e}")
        return None
    if not val_pool:
        return None
    g = torch.Generator(device=cfg.device).manual_seed(2024)
    vx = sample_crops(val_pool, g, n or VALIDATION_N)
    vm = block_masks(g, len(vx))
    v_in = network_inputs(vx, vm)

    def validate(net) -> dict[str, float]:
        return {"hole_psnr": mean_psnr(net(v_in), vx, weight=vm[:, None])}

    return validate


def build(name: str, cfg: TrainConfig, licences: str = "permissive"):
    model = build_model(name, cfg).to(cfg.device)
    pool, description = training_images(cfg, licences)

    def loss_fn(net, g):
        x = sample_crops(pool, g, cfg.batch_size)  # (B, 3, 32, 32)
        m = block_masks(g, cfg.batch_size)  # (B, 32, 32)
        return hole_mse(net(network_inputs(x, m)), x, m)

    validate = validator(name, cfg)
    damage = "; damage: 5-120 blocks of 2x2/4x4 px, strokes in 15% of images"
    return model, loss_fn, description + damage, validate


def add_args(parser) -> None:
    """--data PATH: CIFAR-10 python batches instead of the photo corpus; --photo-licences."""
    parser.add_argument(
        "--photo-licences",
        choices=("permissive", "all"),
        default="permissive",
        help="'all' adds the AGPL food photos and the copyleft wallpapers (accept their licences first)",
    )


def train(name: str, cfg: TrainConfig, args=None):
    model, loss_fn, description, validate = build(name, cfg, getattr(args, "photo_licences", "permissive"))
    record: dict = {}
    model = train_loop(name, model, loss_fn, cfg, validate=validate, record=record)
    return None if model is None else (model, description, record)
