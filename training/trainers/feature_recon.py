"""Trainer for the feature-recon decoders (python -m training.train feature-recon[-s4|-s16]).

The encoder is frozen (ImageNet EfficientNet-Lite0); only the decoder learns.
Data: the photo corpus' training split (`zoo.photo_corpus`: every in-domain source's
training photos plus the bundled training photos; fetch it with
`python -m training.fetch photos`), or any image folder with `--data PATH`. Each photo
is kept at short sides 160-448 px (never enlarged: the ~307x172 food photos give the
smaller scales), crops are drawn with flips and colour jitter, sources weighted by
1/sqrt(photos) so the 488 food photos do not drown the rest. The encoder's features of
the crops are cached (`training.feature_cache.FeaturePool`, `--pool 0` encodes every
batch instead). Loss: L1 + SSIM, as in the source project, or MSE (`--loss mse`: the
PSNR the cards report is a function of it), or MSE plus a little SSIM (`--loss mse-ssim`).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from zoo import data, images
from zoo.models.efficientnet_encoder import feature_encoder

from ..common import TrainConfig, build_model, network_kwargs, train_loop
from ..feature_cache import FeaturePool
from ..losses import l1_ssim, mse_ssim

# A from-scratch run on the corpus. The shipped weights' own runs are in each card and config.json
# (feature-recon and -s4: fine-tuned from their earlier weights at lr 1e-3; -s16: 5,000 steps from
# scratch, then 3,000 more with --init at lr 1e-3).
DEFAULTS = {
    "feature-recon": TrainConfig(steps=7000, batch_size=16, lr=2e-3),
    "feature-recon-s4": TrainConfig(steps=5000, batch_size=16, lr=2e-3),
    "feature-recon-s16": TrainConfig(steps=5000, batch_size=16, lr=2e-3),
}
SHORT_SIDES = (160, 224, 320, 448)
LOSSES = {"l1-ssim": l1_ssim, "mse": F.mse_loss, "mse-ssim": mse_ssim}  # (pred, target) -> scalar


def add_args(parser) -> None:
    parser.add_argument("--crop", type=int, default=128, help="training crop size (a multiple of 16)")
    parser.add_argument(
        "--pool", type=int, default=2048, help="crops whose features are cached (0: encode every batch)"
    )
    parser.add_argument("--refresh-every", type=int, default=100, help="steps between pool-chunk refreshes")
    parser.add_argument(
        "--loss", choices=sorted(LOSSES), default="l1-ssim", help="training loss (default: the source's)"
    )


def training_photos(cfg: TrainConfig) -> tuple[dict[str, np.ndarray], str]:
    """name -> HxWx3 float32 training photo, and a sentence saying where they came from."""
    if cfg.data:
        photos = data.photo_split("train", cfg.data)
        where = f"the image folder {cfg.data}"
    else:
        from zoo.photo_corpus import load_photos, source_counts

        photos = load_photos("train", max_side=900)
        counts = ", ".join(f"{k} {v}" for k, v in source_counts(photos).items())
        where = f"the photo corpus' training split ({counts})"
    if cfg.limit:
        photos = dict(sorted(photos.items())[: cfg.limit])
    return photos, f"random crops of {len(photos)} photos from {where}"


def photo_pyramid(photos: dict[str, np.ndarray], crop: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Every photo at each short side in SHORT_SIDES it can give (and its own, if smaller than the
    largest), as uint8 HxWx3, plus each version's sampling weight (sources weighted 1/sqrt(photos))."""
    from zoo.photo_corpus import source_counts, source_of

    counts = source_counts(photos)
    pool, weights = [], []
    for name, img in sorted(photos.items()):
        pil = images.to_pil_rgb(img)
        short = min(pil.size)
        sides = [s for s in SHORT_SIDES if s <= short] + ([short] if short < SHORT_SIDES[-1] else [])
        sides = [s for s in sides if s >= crop] or [crop]
        for side in sides:
            pool.append(images.short_side_resized(pil, side, crop))
            weights.append(1.0 / np.sqrt(counts[source_of(name)]) / len(sides))
    w = np.asarray(weights)
    return pool, w / w.sum()


def crop_sampler(pool: list[np.ndarray], weights: np.ndarray, crop: int):
    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        """n random crop x crop crops with flips and colour jitter: (n, crop, crop, 3) float32."""
        out = np.empty((n, crop, crop, 3), dtype=np.float32)
        for i, k in enumerate(rng.choice(len(pool), n, p=weights)):
            src = pool[k]
            y, x = rng.integers(0, src.shape[0] - crop + 1), rng.integers(0, src.shape[1] - crop + 1)
            c = src[y : y + crop, x : x + crop].astype(np.float32) / 255.0
            if rng.random() < 0.5:
                c = c[:, ::-1]
            gain = rng.uniform(0.85, 1.15, size=3).astype(np.float32)  # per-channel colour jitter
            out[i] = np.clip(c * gain + rng.uniform(-0.05, 0.05), 0.0, 1.0)
        return out

    return sample


def train(name: str, cfg: TrainConfig, args=None):
    stride = network_kwargs(name, cfg)["stride"]
    crop = getattr(args, "crop", 128)
    pool_size = getattr(args, "pool", 2048)
    loss_name = getattr(args, "loss", "l1-ssim")
    criterion = LOSSES[loss_name]
    if crop % 16:
        raise ValueError(f"--crop must be a multiple of 16, got {crop}")
    model = build_model(name, cfg)
    encoder = feature_encoder(stride)

    @torch.no_grad()
    def encode(x: torch.Tensor) -> torch.Tensor:  # (B, 3, S, S) in [0, 1] -> (B, C, S/s, S/s)
        return encoder((x - 0.5) / 0.5)[0]

    photos, description = training_photos(cfg)
    sample = crop_sampler(*photo_pyramid(photos, crop), crop)
    if not cfg.init:  # the features' per-channel statistics, stored in the decoder's buffers
        feats = encode(
            torch.from_numpy(sample(np.random.default_rng(cfg.seed + 12345), 64).transpose(0, 3, 1, 2).copy())
        )
        model.feature_mean.copy_(feats.mean(dim=(0, 2, 3), keepdim=True))
        model.feature_std.copy_(feats.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3))
    pool = None
    if pool_size:
        pool = FeaturePool(
            sample, encode, pool_size, refresh_every=getattr(args, "refresh_every", 100), seed=cfg.seed
        )
    step = {"n": 0, "start": 0}

    def loss_fn(net, rng):
        if pool is not None:
            feats, x = pool.at_step(step["n"]).batch(rng, cfg.batch_size)
        else:
            x = torch.from_numpy(sample(rng, cfg.batch_size).transpose(0, 3, 1, 2).copy())
            feats = encode(x)
        step["n"] += 1
        cl = torch.channels_last  # ~20% faster convolutions on the CPU, as in the pipeline
        return criterion(net(feats.contiguous(memory_format=cl)), x.contiguous(memory_format=cl))

    t0 = time.time()
    model = model.to(memory_format=torch.channels_last)
    model = train_loop(name, model, loss_fn, cfg, on_start=lambda s: step.update(n=s, start=s))
    minutes = (time.time() - t0) / 60
    print(
        f"[{name}] {(step['n'] - step['start']) / max(minutes, 1e-9):.1f} steps/min (pool {pool_size}, crop "
        f"{crop})"
    )
    if model is None:
        return None
    cached = f", encoder features cached for a pool of {pool_size} crops" if pool_size else ""
    loss = "" if loss_name == "l1-ssim" else f"; loss {loss_name}"
    sides = "/".join(map(str, SHORT_SIDES))
    return model, description + f"; {crop}x{crop} crops at short sides {sides} px{cached}{loss}"
