"""Trainer for the feature-recon decoders (python -m training.train feature-recon[-s4|-s16]).

The encoder is frozen (ImageNet EfficientNet-Lite0); only the decoder learns.
Data: random crops of the bundled natural photos (training split; whole photos are
held out for evaluation, see `zoo.data.HELDOUT_PHOTOS`), or of any image folder with
`--data PATH` (e.g. CelebA-HQ). Each photo is kept at several sizes (short side 224
to 640 px, as in the evaluation's centre crops) and crops are drawn with flips and
colour jitter. Loss: L1 + SSIM, as in the source project.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo import data, images
from zoo.models.efficientnet_encoder import feature_encoder
from zoo.registry import get_entry

from ..common import TrainConfig, train_loop
from ..losses import l1_ssim

DEFAULTS = {
    "feature-recon": TrainConfig(steps=6000, batch_size=16, lr=2e-3),
    "feature-recon-s4": TrainConfig(steps=2500, batch_size=16, lr=2e-3),
    "feature-recon-s16": TrainConfig(steps=2500, batch_size=16, lr=2e-3),
}
SHORT_SIDES = (224, 320, 448, 640)


def add_args(parser) -> None:
    parser.add_argument("--crop", type=int, default=128, help="training crop size (a multiple of 16)")


def photo_pyramid(cfg: TrainConfig) -> tuple[dict[str, np.ndarray], str]:
    """Each training photo at short sides 224..640 px (never enlarged): name@side -> HxWx3."""
    photos = data.photo_split("train", cfg.data)
    if cfg.limit:
        photos = dict(sorted(photos.items())[: cfg.limit])
    pyramid = {}
    for name, img in photos.items():
        h, w = img.shape[:2]
        for side in SHORT_SIDES:
            if side <= min(h, w):
                s = side / min(h, w)
                pyramid[f"{name}@{side}"] = images.resize(img, round(h * s), round(w * s))
        if min(h, w) < SHORT_SIDES[0]:
            pyramid[name] = img
    where = f"the image folder {cfg.data}" if cfg.data else "the bundled natural photos (training split)"
    description = (
        f"random crops of {len(photos)} photos from {where} ({', '.join(sorted(photos))}), each resized "
        f"to short sides {'/'.join(map(str, SHORT_SIDES))} px, with flips and colour jitter"
    )
    return pyramid, description


@torch.no_grad()
def set_feature_statistics(model, encoder, pyramid: dict, crop: int, seed: int, n: int = 64) -> None:
    """Store the per-channel mean/std of the features of n training crops in the decoder's buffers."""
    batch = data.random_crops(pyramid, n, crop, seed=seed + 12345, scales=(1.0,))
    feats = encoder((torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2))) - 0.5) / 0.5)[0]
    model.feature_mean.copy_(feats.mean(dim=(0, 2, 3), keepdim=True))
    model.feature_std.copy_(feats.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3))


def train(name: str, cfg: TrainConfig, args=None):
    entry = get_entry(name)
    stride = entry.model_kwargs["stride"]
    crop = getattr(args, "crop", 128) if args is not None else 128
    if crop % 16:
        raise ValueError(f"--crop must be a multiple of 16, got {crop}")
    model = entry.builder(**entry.model_kwargs)
    encoder = feature_encoder(stride)
    pyramid, description = photo_pyramid(cfg)
    set_feature_statistics(model, encoder, pyramid, crop, cfg.seed)

    def loss_fn(net, rng):
        batch = data.random_crops(pyramid, cfg.batch_size, crop, seed=int(rng.integers(2**31)), scales=(1.0,))
        x = torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))  # (B, 3, crop, crop)
        with torch.no_grad():
            feats = encoder((x - 0.5) / 0.5)[0]  # (B, C, crop/s, crop/s)
        return l1_ssim(net(feats), x)

    model = train_loop(name, model, loss_fn, cfg)
    return None if model is None else (model, description + f"; {crop}x{crop} crops")
