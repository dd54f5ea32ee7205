"""Trainer for the feature-recon decoders (python -m training.train feature-recon[-s4|-s16]).

The encoder is frozen (ImageNet EfficientNet-Lite0); only the decoder learns.
Data: the photo corpus' training split (`zoo.photo_corpus`: every in-domain source's
training photos plus the bundled training photos; fetch it with
`python -m training.fetch photos`), or any image folder with `--data PATH`. Each photo
is kept at short sides 160-448 px (never enlarged: the ~307x172 food photos give the
smaller scales), crops are drawn with flips and colour jitter, sources weighted by
1/sqrt(photos) so the 488 food photos do not drown the rest. The encoder's features of
the crops are cached (`trainers.feature_cache.FeaturePool`, `--pool 0` encodes every
batch instead); crops, pool and encoder live on the training device. The validation figure is the
PSNR of the decoder on crops of the validation photos. Loss: L1 + SSIM, as in the source project, or MSE (`--loss mse`: the
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
from .losses import l1_ssim, mean_psnr, mse_ssim
from . import batches as B
from .feature_cache import FeaturePool

# A from-scratch run on the corpus (the shipped weights' chains: their config.json lineage).
DEFAULTS = {
    "feature-recon": TrainConfig(steps=7000, batch_size=16, lr=2e-3),
    "feature-recon-s4": TrainConfig(steps=5000, batch_size=16, lr=2e-3),
    "feature-recon-s16": TrainConfig(steps=5000, batch_size=16, lr=2e-3),
}
SHORT_SIDES = (160, 224, 320, 448)
VALIDATION_N = 32  # crops of the validation photos behind the figure
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
    parser.add_argument(
        "--photo-licences",
        choices=("permissive", "all"),
        default="permissive",
        help="'all' adds the AGPL food photos and the copyleft wallpapers (accept their licences first)",
    )


def photos_of(
    split: str, cfg: TrainConfig, licences: str = "permissive"
) -> tuple[dict[str, np.ndarray], str]:
    """name -> HxWx3 float32 photo of one split, and a sentence saying where they came from."""
    if cfg.data:
        photos = data.photo_split(split, cfg.data)
        where = f"the image folder {cfg.data}"
    else:
        from zoo.photo_corpus import load_photos, source_counts

        photos = load_photos(split, max_side=900, licences=licences)
        counts = ", ".join(f"{k} {v}" for k, v in source_counts(photos).items())
        where = f"the photo corpus' {split} split, {licences} licences ({counts})"
    if cfg.limit:
        photos = dict(sorted(photos.items())[: cfg.limit])
    return photos, f"random crops of {len(photos)} photos from {where}"


def training_photos(cfg: TrainConfig, licences: str = "permissive") -> tuple[dict[str, np.ndarray], str]:
    return photos_of("train", cfg, licences)


def photo_pyramid(
    photos: dict[str, np.ndarray], crop: int, device: torch.device | str = "cpu"
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Every photo at each short side in SHORT_SIDES it can give (and its own, if smaller than the
    largest), as uint8 (3, H, W) tensors on `device`, plus each version's sampling weight (sources
    weighted 1/sqrt(photos))."""
    from zoo.photo_corpus import source_counts, source_of

    counts = source_counts(photos)
    pool, weights = [], []
    for name, img in sorted(photos.items()):
        pil = images.to_pil_rgb(img)
        short = min(pil.size)
        sides = [s for s in SHORT_SIDES if s <= short] + ([short] if short < SHORT_SIDES[-1] else [])
        sides = [s for s in sides if s >= crop] or [crop]
        for side in sides:
            version = images.short_side_resized(pil, side, crop)  # (H, W, 3) uint8
            pool.append(torch.from_numpy(np.ascontiguousarray(version.transpose(2, 0, 1))).to(device))
            weights.append(1.0 / np.sqrt(counts[source_of(name)]) / len(sides))
    w = torch.tensor(weights, dtype=torch.float64)
    return pool, w / w.sum()


def crop_sampler(pool: list[torch.Tensor], weights: torch.Tensor, crop: int):
    def sample(g: torch.Generator, n: int) -> torch.Tensor:
        """n random crop x crop crops with flips and colour jitter: (n, 3, crop, crop) float32."""
        return B.colour_jitter(B.random_crops(pool, weights, g, n, crop), g, gain=0.15, offset=0.05)

    return sample


def validation_crops(cfg: TrainConfig, crop: int, n: int | None = None) -> torch.Tensor | None:
    """n fixed crops of the validation photos (the same at every checkpoint), or None without them."""
    try:
        photos, _ = photos_of("validation", cfg)
    except (data.DatasetNotFoundError, ValueError) as e:
        print(f"[feature-recon] no validation figure: {e}")
        return None
    if not photos:
        return None
    pool, weights = photo_pyramid(photos, crop, cfg.device)
    g = torch.Generator(device=cfg.device).manual_seed(2024)
    return B.random_crops(pool, weights, g, n or VALIDATION_N, crop)


def encoder_for(name: str, cfg: TrainConfig):
    """The frozen encoder at the decoder's stride, as a function (B, 3, S, S) in [0, 1] -> features."""
    encoder = feature_encoder(network_kwargs(name, cfg)["stride"]).to(cfg.device)

    @torch.no_grad()
    def encode(x: torch.Tensor) -> torch.Tensor:  # (B, 3, S, S) in [0, 1] -> (B, C, S/s, S/s)
        return encoder((x - 0.5) / 0.5)[0]

    return encode


def validator(name: str, cfg: TrainConfig, args=None, n: int | None = None, encode=None):
    """`validate(decoder) -> {"psnr": mean per-crop PSNR}` on fixed crops of the validation photos, or
    None when there are none."""
    val = validation_crops(cfg, getattr(args, "crop", 128), n)
    if val is None:
        return None
    feats = (encode or encoder_for(name, cfg))(val).contiguous(memory_format=torch.channels_last)

    def validate(net) -> dict[str, float]:
        return {"psnr": mean_psnr(net(feats), val)}

    return validate


def train(name: str, cfg: TrainConfig, args=None):
    crop = getattr(args, "crop", 128)
    pool_size = getattr(args, "pool", 2048)
    loss_name = getattr(args, "loss", "l1-ssim")
    criterion = LOSSES[loss_name]
    if crop % 16:
        raise ValueError(f"--crop must be a multiple of 16, got {crop}")
    model = build_model(name, cfg).to(cfg.device)
    encode = encoder_for(name, cfg)

    photos, description = training_photos(cfg, getattr(args, "photo_licences", "permissive"))
    sample = crop_sampler(*photo_pyramid(photos, crop, cfg.device), crop)
    if not cfg.init:  # the features' per-channel statistics, stored in the decoder's buffers
        feats = encode(sample(torch.Generator(device=cfg.device).manual_seed(cfg.seed + 12345), 64))
        model.feature_mean.copy_(feats.mean(dim=(0, 2, 3), keepdim=True))
        model.feature_std.copy_(feats.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3))
    pool = None
    if pool_size:
        pool = FeaturePool(
            sample,
            encode,
            pool_size,
            refresh_every=getattr(args, "refresh_every", 100),
            seed=cfg.seed,
            device=cfg.device,
        )
    step = {"n": 0, "start": 0}
    cl = torch.channels_last  # ~20% faster convolutions on the CPU, as in the pipeline

    def loss_fn(net, g):
        if pool is not None:
            feats, x = pool.at_step(step["n"]).batch(g, cfg.batch_size)
        else:
            x = sample(g, cfg.batch_size)
            feats = encode(x)
        step["n"] += 1
        return criterion(net(feats.contiguous(memory_format=cl)), x.contiguous(memory_format=cl))

    validate = validator(name, cfg, args, encode=encode)

    t0 = time.time()
    model = model.to(memory_format=torch.channels_last)
    record: dict = {}
    model = train_loop(
        name,
        model,
        loss_fn,
        cfg,
        on_start=lambda s: step.update(n=s, start=s),
        validate=validate,
        record=record,
    )
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
    return model, description + f"; {crop}x{crop} crops at short sides {sides} px{cached}{loss}", record
