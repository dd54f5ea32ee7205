"""mnist-masked trained at another scale on one GPU: the CPU trainer's objective (the mixed stripes,
squares, scattered pixels and strokes of `mixed_masks`, known pixels pasted back, whole-image MSE
[+ w L1], random shifts of up to 2 px) with the digits on the device and many more epochs.

The masks are drawn on the CPU once, as a bank (`--mask-bank` of them, ~40 ms per 512 here), and
each batch takes random ones, each mirrored and transposed at random (a vertical stripe becomes a
horizontal one: both are in the mix), so the GPU never waits for numpy.

    python -m training.mnist_masked_gpu --minutes 5 --init zoo/weights/mnist-masked/model.safetensors \\
        --lr 3e-4 --out runs/m
    python -m training.gpu_candidate runs/m/mnist-masked.safetensors --out runs/m/cand

Writes OUT/mnist-masked.safetensors (the EMA of the U-Net's weights) and a .json beside it: the recipe,
the steps, and the whole-image MSE on the first 2,000 validation digits under a fixed draw of the mix
(`python -m training.evaluate mnist-masked` gives the card's rows once the weights are promoted).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from zoo import data
from zoo.registry import get_entry
from zoo.splits import no_test_split

from .common import TrainConfig
from .gpu_loop import add_run_args, device_name, random_shift, train_clocked, write_run
from .trainers.mnist_family import MASK_KINDS, describe_data, mixed_masks, parse_mix, restored

NAME = "mnist-masked"
RECIPE = ("batch", "lr", "mix", "hole_min", "l1_weight", "mask_bank")
RECIPE += ("elastic", "elastic_share", "ema", "seed", "init")
CHECK_N = 2000  # validation digits of the record's MSE
DEFAULT_MIX = "0.35,0.35,0.15,0.15"  # stripes, squares, scattered pixels, strokes


def mask_bank(n: int, mix: tuple[float, ...], hole_min: int, seed: int, device) -> torch.Tensor:
    """n masks of the mix (True = missing) as (n, 1, 28, 28) bool on the device, drawn 4,096 at a time."""
    rng = np.random.default_rng([seed, 11])
    parts = [mixed_masks(rng, min(4096, n - i), mix, hole_min) for i in range(0, n, 4096)]
    return torch.from_numpy(np.concatenate(parts))[:, None].to(device)


def random_masks(bank: torch.Tensor, n: int) -> torch.Tensor:
    """n masks from the bank, each mirrored left-right, up-down and transposed at random: (n, 1, 28, 28)."""
    m = bank[torch.randint(0, len(bank), (n,), device=bank.device)]
    flip = torch.rand(3, n, 1, 1, 1, device=bank.device) < 0.5
    m = torch.where(flip[0], m.flip(-1), m)
    m = torch.where(flip[1], m.flip(-2), m)
    return torch.where(flip[2], m.transpose(-1, -2), m)


def elastic(x: torch.Tensor, px: float, share: float, grid: int = 4) -> torch.Tensor:
    """An elastic distortion (Simard et al. 2003) of a random `share` of the digits: a smooth displacement
    field, random on a grid x grid lattice and bicubically upsampled, at most about `px` pixels, applied by
    bilinear resampling. (B, 1, S, S) -> (B, 1, S, S); the other digits pass unchanged."""
    b, size, dev = len(x), x.shape[-1], x.device
    coarse = (torch.rand(b, 2, grid, grid, device=dev) * 2 - 1) * (2 * px / size)  # grid_sample units
    flow = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)  # (B, 2, S, S)
    ar = torch.linspace(-1, 1, size, device=dev)
    base = torch.stack(torch.meshgrid(ar, ar, indexing="xy"), -1)  # (S, S, 2): x, y
    warped = F.grid_sample(x, base + flow.permute(0, 2, 3, 1), mode="bilinear", align_corners=True)
    pick = (torch.rand(b, 1, 1, 1, device=dev) < share).float()
    return pick * warped.clamp(0, 1) + (1 - pick) * x


@torch.no_grad()
def mse_on_validation(net, data_path, mix, hole_min, device, limit: int | None = None) -> float:
    """Whole-image MSE on the first CHECK_N validation digits, masks of the mix from a fixed seed."""
    x, _ = data.load_mnist("validation", data_path)
    x = torch.from_numpy(x[: min(CHECK_N, limit or CHECK_N)])[:, None].to(device)
    m = torch.from_numpy(mixed_masks(np.random.default_rng(2024), len(x), mix, hole_min))[:, None]
    return F.mse_loss(restored(net, x, m.float().to(device)).clamp(0, 1), x).item()


@no_test_split("python -m training.mnist_masked_gpu")
def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_args(ap, "MNIST IDX folder (default: the fetched full MNIST)", batch=512, lr=1e-3)
    ap.add_argument("--init", default=None, help="start from these weights (the registry's network)")
    ap.add_argument("--mix", default=DEFAULT_MIX, help=f"shares of {', '.join(MASK_KINDS)}")
    ap.add_argument("--hole-min", type=int, default=1, help="narrowest stripe and square (px)")
    ap.add_argument("--l1-weight", type=float, default=0.0, help="an L1 term beside the MSE")
    ap.add_argument("--mask-bank", type=int, default=200_000, help="masks drawn once on the CPU")
    ap.add_argument("--elastic", type=float, default=0.0, help="elastic distortion up to PX pixels (0: off)")
    ap.add_argument("--elastic-share", type=float, default=0.5, help="share of the digits distorted")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    mix = parse_mix(args.mix)
    x, _ = data.load_mnist("train", args.data, source="full" if args.data is None else "auto")
    digits = torch.from_numpy(x[: args.limit])[:, None].to(dev)  # (N, 1, 28, 28)
    bank = mask_bank(args.mask_bank, mix, args.hole_min, args.seed, dev)
    entry = get_entry(NAME)
    net = entry.builder(**entry.model_kwargs)
    if args.init:
        net.load_state_dict(load_file(args.init))
    net = net.to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)

    def loss_of_step(net):
        x = random_shift(digits[torch.randint(0, len(digits), (args.batch,), device=dev)])
        if args.elastic:
            x = elastic(x, args.elastic, args.elastic_share)
        out = restored(net, x, random_masks(bank, args.batch).float())
        loss = F.mse_loss(out, x)
        return loss + args.l1_weight * F.l1_loss(out, x) if args.l1_weight else loss

    final, done = train_clocked(NAME, net, opt, loss_of_step, args)
    shares = ", ".join(f"{k} {w:.0%}" for k, w in zip(MASK_KINDS, mix))
    loss = f"MSE + {args.l1_weight:g} L1" if args.l1_weight else "MSE"
    warp = ""
    if args.elastic:
        warp = f", elastic distortion up to {args.elastic:g} px on {args.elastic_share:.0%}"
    record = {
        "model": NAME,
        "model_kwargs": entry.model_kwargs,
        **done,
        "device": device_name(dev),
        "parameters": sum(p.numel() for p in net.parameters()),
        "epochs": round(done["steps"] * args.batch / len(digits), 1),
        "recipe": {k: getattr(args, k) for k in RECIPE},
        "data": f"{describe_data(TrainConfig(data=args.data, limit=args.limit))}; masks: stripes "
        f"{args.hole_min}-21 px, squares {max(3, args.hole_min)}-21 px, 10-80% pixels, strokes ({shares}), "
        f"a bank of {args.mask_bank:,} mirrored and transposed at random; loss {loss}; augmentation: random "
        f"shifts up to 2 px{warp}; trained by training.mnist_masked_gpu on {device_name(dev)}",
        f"validation_mse_first{CHECK_N}": mse_on_validation(
            final, args.data, mix, args.hole_min, dev, args.limit
        ),
    }
    return write_run(args.out, NAME, final, record)


if __name__ == "__main__":
    main()
