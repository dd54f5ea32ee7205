"""nca-fmnist's classifier and its masked-input CNN baseline, trained from scratch on one GPU with the
same recipe and budget.

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
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from zoo import data
from zoo.pipelines.nca_fmnist import build_classifier, flip_averaged
from zoo.protocols.nca_fmnist import damaged_set
from zoo.registry import get_entry
from zoo.splits import no_test_split

from .fmnist_batches import LABEL_SMOOTHING, MASK_RATIOS
from .gpu_loop import add_run_args, device_name, random_shift, train_clocked, write_run
from .trainers.nca_fmnist import SHIPPED_WEIGHTS

KINDS = ("classifier", "masked-cnn")
EVAL_RATIOS = (0.4, 0.8)
RECIPE = ("batch", "lr", "weight_decay", "ema", "bank_rounds", "seed")  # recorded in the .json


def gpu_ratios(n: int, device, lo: float = MASK_RATIOS[0], hi: float = MASK_RATIOS[1]) -> torch.Tensor:
    """n mask ratios in [lo, hi], density rising towards hi (as fmnist_batches.mask_ratios): (n, 1, 1, 1)."""
    return lo + (hi - lo) * torch.rand(n, 1, 1, 1, device=device).sqrt()


def gpu_augment(x: torch.Tensor, pad: int = 2, erase_p: float = 0.5) -> torch.Tensor:
    """fmnist_batches.augment_strong on the device: per image a random crop of the padded image, a
    horizontal flip, and random erasing (2-25% of the area, aspect 0.3-3.3, probability erase_p).
    x: (B, 1, S, S) -> (B, 1, S, S)."""
    b, size, dev = len(x), x.shape[-1], x.device
    ar = torch.arange(size, device=dev)
    out = random_shift(x, pad)[:, 0]  # (B, S, S)
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
    pairs = zip(x.split(batch), y.split(batch))
    hits = sum((flip_averaged(net, xb).argmax(1) == yb).sum().item() for xb, yb in pairs)
    return hits / len(y)


def accuracies_on_validation(
    kind: str, net, nca, data_path: str | None, device, limit: int | None
) -> tuple[dict, int]:
    """Clean accuracy, and at EVAL_RATIOS with the evaluation protocol's masks (validation image i's
    from default_rng(1000 + i)): after the automaton's repair (classifier) or masked as they are
    (masked-cnn); and how many validation images were used."""
    x, y = data.load_fashion_mnist("validation", data_path)
    x, y = x[:limit], y[:limit]
    yt = torch.from_numpy(y).to(device)
    out = {"clean": accuracy(net, torch.from_numpy(x)[:, None].to(device), yt)}
    for r in EVAL_RATIOS:
        damaged, masks = damaged_set(x, r)
        d = torch.from_numpy(damaged.astype(np.float32))[:, None].to(device)
        known = torch.from_numpy((~masks).astype(np.float32))[:, None].to(device)
        seen = repair_all(nca, d, known) if kind == "classifier" else d
        out[f"ratio{r}"] = accuracy(net, seen, yt)
    return out, len(y)


@no_test_split("python -m training.fmnist_gpu")
def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=KINDS, required=True)
    ap.add_argument("--arch", choices=("cnn", "resnet"), default="resnet")
    ap.add_argument("--width", type=int, default=32)
    add_run_args(ap, "Fashion-MNIST IDX folder (default: Debian's)", batch=256, lr=0.1)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--bank-rounds", type=int, default=3)
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
    amp = torch.autocast("cuda", torch.bfloat16, enabled=dev.type == "cuda")

    def loss_of_step(net):
        xb, yb = batch_of(args.kind, images, labels, bank, args.batch)
        with amp:
            logits = net(xb.contiguous(memory_format=torch.channels_last))
            return F.cross_entropy(logits, yb, label_smoothing=LABEL_SMOOTHING)

    final, done = train_clocked(args.kind, net, opt, loss_of_step, args)
    acc, scored = accuracies_on_validation(args.kind, final, nca, args.data, dev, args.limit)
    record = {
        "kind": args.kind,
        "arch": args.arch,
        "width": args.width,
        "parameters": params,
        **done,
        "epochs": round(done["steps"] * args.batch / len(images), 1),
        "device": device_name(dev),
        "recipe": {k: getattr(args, k) for k in RECIPE},
        "label_smoothing": LABEL_SMOOTHING,
        "mask_ratios": MASK_RATIOS,
        "validation_accuracy": acc,
        "validation_images": scored,
    }
    return write_run(args.out, f"{args.kind}-{args.arch}{args.width}", final, record)


if __name__ == "__main__":
    main()
