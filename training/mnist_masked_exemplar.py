"""A lever measured for mnist-masked: the exemplar fill as a third input channel of the U-Net.

The pipeline's exemplar blend (`with_exemplars`) mixes the U-Net's fill with the mean of the k training
digits nearest on the visible pixels, one fixed weight per hole size. Here the U-Net sees that mean as
an input instead, (damaged, mask, exemplar fill in the holes), and learns where to trust it. It starts
from the shipped U-Net with the new channel's first-layer weights at zero (so exactly the shipped
output) and trains on the pool the evaluation searches (the training digits but the last 200), each
digit's own copy left out of its search.

    python -m training.mnist_masked_exemplar train --minutes 40 --out runs/mx
    python -m training.mnist_masked_exemplar screen runs/mx/mnist-masked-x3.safetensors --out reports/X

`screen` scores, in one run on the protocol's 22 rows (test 5s and 7s, the protocol's holes and
seeds): the shipped U-Net alone, its exemplar blend, and this network; all three from one search.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tqdm.auto import tqdm

import zoo
from zoo import data
from zoo.exemplars import ExemplarBank, sq_dist
from zoo.pipelines.mnist_masked import EXEMPLAR_K, EXEMPLAR_WEIGHTS, band_weights
from zoo.protocols.common import markdown_table
from zoo.protocols.mnist_masked import SETTINGS, VAL_N, damaged_set, setting_label, source_mse
from zoo.registry import WEIGHTS_DIR, get_entry
from zoo.splits import no_test_split

from .common import write_report
from .gpu_loop import add_run_args, random_shift, train_clocked, write_run
from .mnist_masked_gpu import DEFAULT_MIX, mask_bank, random_masks
from .trainers.mnist_family import parse_mix

NAME = "mnist-masked-x3"


def three_channel_unet(init: str | None):
    """The registry's U-Net with in_channels=3; from `init` (a 2-channel state dict), the third channel's
    first-layer weights zero, so it starts as exactly that network."""
    entry = get_entry("mnist-masked")
    net = entry.builder(**{**entry.model_kwargs, "in_channels": 3})
    if init:
        state = load_file(init)
        first = next(k for k, v in state.items() if v.ndim == 4 and v.shape[1] == 2)  # (32, 2, 3, 3)
        state[first] = torch.cat([state[first], torch.zeros_like(state[first][:, :1])], 1)
        net.load_state_dict(state)
    return net


def exemplar_channel(bank: ExemplarBank, damaged, m, k: int, own=None) -> torch.Tensor:
    """(B, 1, 28, 28) damaged digits + masks (1 = missing) -> the mean of the k bank digits nearest on the
    visible pixels, in the holes only: (B, 1, 28, 28). own: (B,) bank indices left out of each search."""
    b = len(damaged)
    d = sq_dist(damaged.reshape(b, -1), (1 - m).reshape(b, -1), bank.cands, bank.cands_sq)  # (B, M)
    if own is not None:
        d[torch.arange(b, device=d.device), own] = float("inf")
    near = d.topk(k, dim=1, largest=False).indices  # (B, k)
    return bank.cands[near].mean(1).reshape(b, 1, 28, 28) * m


@no_test_split("python -m training.mnist_masked_exemplar train")
def train(argv: list[str]) -> dict:
    ap = argparse.ArgumentParser(prog="python -m training.mnist_masked_exemplar train")
    add_run_args(ap, "MNIST IDX folder (default: the fetched full MNIST)", batch=64, lr=2e-4)
    ap.add_argument("--init", default=str(WEIGHTS_DIR / "mnist-masked" / "model.safetensors"))
    ap.add_argument("--mix", default=DEFAULT_MIX)
    ap.add_argument("--mask-bank", type=int, default=200_000)
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    x, _ = data.load_mnist("train", args.data, source="full" if args.data is None else "auto")
    pool = x[:-VAL_N][: args.limit]
    dev = torch.device(args.device)
    bank = ExemplarBank(pool)
    bank.cands, bank.cands_sq = bank.cands.to(dev), bank.cands_sq.to(dev)  # searched on the device
    digits = torch.from_numpy(pool)[:, None].to(dev)  # (N, 1, 28, 28)
    masks = mask_bank(args.mask_bank, parse_mix(args.mix), 1, args.seed, dev)
    net = three_channel_unet(args.init).to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)

    def loss_of_step(net):
        own = torch.randint(0, len(digits), (args.batch,), device=dev)
        x = random_shift(digits[own])
        m = random_masks(masks, args.batch).float()
        damaged = x * (1 - m)
        with torch.no_grad():
            fill = exemplar_channel(bank, damaged, m, EXEMPLAR_K, own)
        out = damaged + m * net(torch.cat([damaged, m, fill], 1))
        return F.mse_loss(out, x)

    final, done = train_clocked(NAME, net, opt, loss_of_step, args)
    record = {
        "model": NAME,
        **done,
        "recipe": {k: getattr(args, k) for k in ("batch", "lr", "mix", "init")},
        "data": f"{len(pool):,} training digits (the evaluation's exemplar pool), own copy left out",
    }
    return write_run(args.out, NAME, final, record)


@torch.inference_mode()
@no_test_split("python -m training.mnist_masked_exemplar screen")
def screen(argv: list[str]) -> list[dict]:
    ap = argparse.ArgumentParser(prog="python -m training.mnist_masked_exemplar screen")
    ap.add_argument("weights", help="a 3-channel network from `train`")
    ap.add_argument("--alone", default=None, help="2-channel U-Net weights to compare (default: shipped)")
    ap.add_argument("--n", type=int, default=None, help="first N validation 5s and 7s (default: all)")
    ap.add_argument("--out", default=None, help="write OUT.json and OUT.md")
    args = ap.parse_args(argv)
    xt, yt = data.load_mnist("validation", source="full")
    x = xt[np.isin(yt, (5, 7))][: args.n]
    train_x, _ = data.load_mnist("train", source="full")
    bank = ExemplarBank(train_x[:-VAL_N])
    net3 = three_channel_unet(None)
    net3.load_state_dict(load_file(args.weights))
    net3.eval()
    unet = zoo.load("mnist-masked").model.eval()
    if args.alone:
        unet.load_state_dict(load_file(args.alone))
    truth = torch.from_numpy(x)[:, None]  # (N, 1, 28, 28)
    rows = []
    for kind, size in tqdm(SETTINGS, desc="rows"):
        dmg, m = damaged_set(x, kind, size)
        d = torch.from_numpy(np.where(m, 0.0, dmg).astype(np.float32))[:, None]
        mt = torch.from_numpy(m.astype(np.float32))[:, None]
        fill = torch.cat(
            [
                exemplar_channel(bank, d[i : i + 256], mt[i : i + 256], EXEMPLAR_K)
                for i in range(0, len(d), 256)
            ]
        )
        alone = unet(torch.cat([d, mt], 1))
        w = torch.from_numpy(band_weights(m, EXEMPLAR_WEIGHTS)).float()[:, None]  # (N, 1, 1, 1)
        outs = {
            "U-Net alone": alone,
            "exemplar blend": w * alone + (1 - w) * fill,
            "exemplar as input": net3(torch.cat([d, mt, fill], 1)),
        }
        row = {"damage": setting_label(kind, size), "source": source_mse(kind, size)}
        for what, pred in outs.items():
            row[what] = F.mse_loss((d + mt * pred).clamp(0, 1), truth).item()
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        cols = list(outs)
        alone, blend, x3 = cols
        table = markdown_table(
            ["damage", "source MSE", *(f"{c} MSE" for c in cols), "as input / alone", "as input / blend"],
            [
                [r["damage"], r["source"], *(r[c] for c in cols), r[x3] / r[alone], r[x3] / r[blend]]
                for r in rows
            ],
        )
        write_report(args.out, table + "\n", rows)
    return rows


if __name__ == "__main__":
    import sys

    {"train": train, "screen": screen}[sys.argv[1]](sys.argv[2:])
