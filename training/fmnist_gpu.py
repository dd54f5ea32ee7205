"""nca-fmnist's classifier and its masked-input CNN baseline, trained from scratch on one GPU with the
same recipe and budget (issue: a classifier >= 0.950 clean under 1M parameters).

The CPU trainer (`training.trainers.nca_fmnist`) draws its batches with numpy on the CPU, which
would leave a GPU idle; here the whole training set, the augmentation (random 2-pixel crops, flips,
random erasing) and the masks live on the GPU. Two kinds of run, same network, same steps:
- `classifier`: batches of half clean images and half repairs by the shipped automaton (a bank of
  `--bank-rounds` x 60,000 repairs at mask ratios in [0.1, 0.9], more of them high), so it reads both;
- `masked-cnn`: every image masked at such a ratio (the repair-free alternative of the evaluation).
SGD with Nesterov momentum, label smoothing, a weight EMA (its weights are what is saved), and a cosine
schedule over either `--steps` or, with `--minutes`, the wall time (the steps reached are recorded, so
`--steps N` reruns it without a clock).

    python -m training.fmnist_gpu --kind classifier --arch resnet --width 32 --minutes 6 --out runs/g
    python -m training.fmnist_gpu --kind masked-cnn --arch resnet --width 32 --steps 20000 --out runs/g

Writes OUT/{kind}-{arch}{width}.safetensors (the network's own state dict) and a .json beside it with
the recipe, the steps, and the pipeline's test accuracy (clean, and at mask ratios 0.4 and 0.8 after
the shipped automaton's repair for `classifier`, masked for `masked-cnn`; the evaluation protocol's
masks, flip averaging as shipped).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from zoo import data
from zoo.pipelines.nca_fmnist import build_classifier, flip_averaged
from zoo.protocols.nca_fmnist import damaged_set
from zoo.registry import get_entry

from .fmnist_batches import LABEL_SMOOTHING, MASK_RATIOS
from .trainers.nca_fmnist import SHIPPED_WEIGHTS

KINDS = ("classifier", "masked-cnn")
EVAL_RATIOS = (0.4, 0.8)


def gpu_ratios(n: int, device, lo: float = MASK_RATIOS[0], hi: float = MASK_RATIOS[1]) -> torch.Tensor:
    """n mask ratios in [lo, hi], density rising towards hi (as fmnist_batches.mask_ratios): (n, 1, 1, 1)."""
    return lo + (hi - lo) * torch.rand(n, 1, 1, 1, device=device).sqrt()


def gpu_augment(x: torch.Tensor, pad: int = 2, erase_p: float = 0.5) -> torch.Tensor:
    """fmnist_batches.augment_strong on the device: per image a random crop of the padded image, a
    horizontal flip, and random erasing (2-25% of the area, aspect 0.3-3.3, probability erase_p).
    x: (B, 1, S, S) -> (B, 1, S, S)."""
    b, size, dev = len(x), x.shape[-1], x.device
    padded = F.pad(x, (pad, pad, pad, pad))[:, 0]  # (B, S+2p, S+2p)
    ar = torch.arange(size, device=dev)
    dy, dx = (torch.randint(0, 2 * pad + 1, (2, b, 1), device=dev) + ar).unbind(0)  # (B, S) each
    out = padded[torch.arange(b, device=dev)[:, None, None], dy[:, :, None], dx[:, None, :]]
    out = torch.where((torch.rand(b, device=dev) < 0.5)[:, None, None], out.flip(-1), out)
    area = torch.empty(b, device=dev).uniform_(0.02, 0.25) * size * size
    aspect = torch.empty(b, device=dev).uniform_(math.log(0.3), math.log(3.3)).exp()
    h = (area * aspect).sqrt().clamp(1, size).long()
    w = (area / aspect).sqrt().clamp(1, size).long()
    top = (torch.rand(b, device=dev) * (size - h + 1)).long()
    left = (torch.rand(b, device=dev) * (size - w + 1)).long()
    rows, cols = ar[None, :, None], ar[None, None, :]
    erase = (
        (rows >= top[:, None, None])
        & (rows < (top + h)[:, None, None])
        & (cols >= left[:, None, None])
        & (cols < (left + w)[:, None, None])
        & (torch.rand(b, device=dev) < erase_p)[:, None, None]
    )
    return out.masked_fill(erase, 0.0)[:, None].contiguous()


def shipped_automaton(device) -> torch.nn.Module:
    """The shipped nca-fmnist automaton (eval mode: every cell fires, as at inference)."""
    entry = get_entry("nca-fmnist")
    model = entry.builder(**entry.model_kwargs)
    model.load_state_dict(load_file(str(SHIPPED_WEIGHTS)))
    return model.nca.to(device).eval()


@torch.no_grad()
def repair_all(nca, damaged: torch.Tensor, known: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """damaged, known (N, 1, 28, 28) on the device -> the automaton's 20-step repairs, clamped."""
    return torch.cat(
        [nca(d, k, steps=20).clamp(0, 1) for d, k in zip(damaged.split(batch), known.split(batch))]
    )


def repair_bank(nca, images: torch.Tensor, rounds: int) -> torch.Tensor:
    """`rounds` repairs of every training image, each at a fresh mask ratio: (rounds * N, 1, 28, 28)."""
    banks = []
    for _ in range(rounds):
        known = (torch.rand_like(images) >= gpu_ratios(len(images), images.device)).float()
        banks.append(repair_all(nca, images * known, known))
    return torch.cat(banks)


def batch_of(kind: str, images, labels, bank, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One training batch on the device: x (B, 1, 28, 28), y (B,)."""
    dev = images.device
    if kind == "classifier":  # half clean images, half repairs (the bank holds rounds x the images)
        i = torch.randint(0, len(images), (batch // 2,), device=dev)
        j = torch.randint(0, len(bank), (batch - batch // 2,), device=dev)
        x = gpu_augment(torch.cat([images[i], bank[j]]))
        return x, torch.cat([labels[i], labels[j % len(images)]])
    i = torch.randint(0, len(images), (batch,), device=dev)
    x = gpu_augment(images[i])
    return x * (torch.rand_like(x) >= gpu_ratios(batch, dev)).float(), labels[i]


@torch.no_grad()
def accuracy(net, x: torch.Tensor, y: torch.Tensor, batch: int = 2000) -> float:
    hits = sum((flip_averaged(net, xb).argmax(1) == yb).sum().item() for xb, yb in zip(x.split(batch), y.split(batch)))
    return hits / len(y)


def test_accuracies(kind: str, net, nca, data_path: str | None, device, limit: int | None) -> dict:
    """Clean accuracy, and at EVAL_RATIOS with the evaluation protocol's masks (test image i's from
    default_rng(1000 + i)): after the automaton's repair (classifier) or masked as they are (masked-cnn)."""
    x, y = data.load_fashion_mnist("test", data_path)
    x, y = x[:limit], y[:limit]
    yt = torch.from_numpy(y).to(device)
    out = {"clean": accuracy(net, torch.from_numpy(x)[:, None].to(device), yt)}
    for r in EVAL_RATIOS:
        damaged, masks = damaged_set(x, r)
        d = torch.from_numpy(damaged.astype(np.float32))[:, None].to(device)
        known = torch.from_numpy((~masks).astype(np.float32))[:, None].to(device)
        seen = repair_all(nca, d, known) if kind == "classifier" else d
        out[f"ratio{r}"] = accuracy(net, seen, yt)
    return out


def lr_factor(progress: float, warm: float = 0.03) -> float:
    """Linear warm-up over the first 3%, then cosine to 0; progress in [0, 1]."""
    if progress < warm:
        return (progress + 1e-3) / warm
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - warm) / (1 - warm))))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=KINDS, required=True)
    ap.add_argument("--arch", choices=("cnn", "resnet"), default="resnet")
    ap.add_argument("--width", type=int, default=32)
    budget = ap.add_mutually_exclusive_group(required=True)
    budget.add_argument("--steps", type=int, help="optimiser steps (the cosine schedule spans them)")
    budget.add_argument("--minutes", type=float, help="wall-time budget: the schedule spans the clock")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--bank-rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--data", default=None, help="Fashion-MNIST IDX folder (default: Debian's)")
    ap.add_argument("--limit", type=int, default=None, help="first N training and test images (smoke)")
    ap.add_argument("--out", required=True, help="folder for the weights and the .json record")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    t_start = time.time()
    x, y = data.load_fashion_mnist("train", args.data)
    images = torch.from_numpy(x[: args.limit])[:, None].to(dev)  # (N, 1, 28, 28)
    labels = torch.from_numpy(y[: args.limit]).to(dev)
    nca = shipped_automaton(dev)
    bank = repair_bank(nca, images, args.bank_rounds) if args.kind == "classifier" else None
    print(f"[{args.kind}] data and bank ready in {time.time() - t_start:.0f}s", flush=True)

    net = build_classifier(args.arch, args.width).to(dev).to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in net.parameters())
    opt = torch.optim.SGD(
        net.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=args.weight_decay
    )
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(args.ema), use_buffers=True)
    amp = torch.autocast("cuda", torch.bfloat16, enabled=dev.type == "cuda")
    t0, step, running = time.time(), 0, None
    while True:
        progress = (time.time() - t0) / (60 * args.minutes) if args.minutes else step / args.steps
        if progress >= 1:
            break
        for g in opt.param_groups:
            g["lr"] = args.lr * lr_factor(progress)
        xb, yb = batch_of(args.kind, images, labels, bank, args.batch)
        with amp:
            loss = F.cross_entropy(net(xb.contiguous(memory_format=torch.channels_last)), yb,
                                   label_smoothing=LABEL_SMOOTHING)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update_parameters(net)
        step += 1
        if step % 500 == 0:
            running = loss.item()
            print(f"[{args.kind}] step {step} progress {progress:.2f} loss {running:.4f}", flush=True)
    secs = time.time() - t0
    final = ema.module.eval()
    acc = test_accuracies(args.kind, final, nca, args.data, dev, args.limit)
    name = f"{args.kind}-{args.arch}{args.width}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().float().cpu().contiguous() for k, v in final.state_dict().items()},
              str(out / f"{name}.safetensors"))
    record = {
        "kind": args.kind, "arch": args.arch, "width": args.width, "parameters": params,
        "steps": step, "epochs": round(step * args.batch / len(images), 1), "train_seconds": round(secs),
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "recipe": {k: getattr(args, k) for k in ("batch", "lr", "weight_decay", "ema", "bank_rounds", "seed")},
        "label_smoothing": LABEL_SMOOTHING, "mask_ratios": MASK_RATIOS, "final_loss": running,
        "test_accuracy": acc, "test_images": len(data.load_fashion_mnist("test", args.data)[1][: args.limit]),
    }
    (out / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record), flush=True)
    return record


if __name__ == "__main__":
    main()
