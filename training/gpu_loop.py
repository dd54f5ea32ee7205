"""The loop the GPU trainers share (training.fmnist_gpu, mnist_denoise_gpu, mnist_masked_gpu,
feature_recon_gpu): a cosine schedule
over either a number of steps or the wall clock, a weight EMA, and the run's files (weights + record)."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import save_file
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def add_run_args(ap: argparse.ArgumentParser, data_help: str | None, batch: int, lr: float) -> None:
    """The arguments every GPU trainer takes: its budget, batch, lr, EMA, seed, device, data (unless
    data_help is None), output."""
    budget = ap.add_mutually_exclusive_group(required=True)
    budget.add_argument("--steps", type=int, help="optimiser steps (the cosine schedule spans them)")
    budget.add_argument(
        "--minutes",
        type=float,
        help="wall-time budget: the schedule spans the clock (the steps reached are recorded, so "
        "--steps N reruns it without a clock)",
    )
    ap.add_argument("--batch", type=int, default=batch)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--ema", type=float, default=0.999, help="decay of the weight EMA that is saved")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    if data_help is not None:
        ap.add_argument("--data", default=None, help=data_help)
    ap.add_argument("--limit", type=int, default=None, help="first N training and test images (smoke)")
    ap.add_argument("--out", required=True, help="folder for the weights and the .json record")


def lr_factor(progress: float, warm: float = 0.03) -> float:
    """Linear warm-up over the first 3%, then cosine to 0; progress in [0, 1]."""
    if progress < warm:
        return (progress + 1e-3) / warm
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - warm) / (1 - warm))))


def train_clocked(
    tag: str,
    net: torch.nn.Module,
    opt: torch.optim.Optimizer,
    loss_of_step: Callable[[torch.nn.Module], torch.Tensor],
    args: argparse.Namespace,
) -> tuple[torch.nn.Module, dict]:
    """Steps `loss_of_step(net)` (it draws its own batch) until args.steps or args.minutes are spent.

    Returns the EMA of the weights (decay args.ema, BN statistics included) in eval mode, and what
    the record keeps: steps, train_seconds, final_loss."""
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(args.ema), use_buffers=True)
    base_lrs = [g["lr"] for g in opt.param_groups]
    t0, step, running = time.time(), 0, None
    while True:
        progress = (time.time() - t0) / (60 * args.minutes) if args.minutes else step / args.steps
        if progress >= 1:
            break
        for g, lr in zip(opt.param_groups, base_lrs):
            g["lr"] = lr * lr_factor(progress)
        loss = loss_of_step(net)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update_parameters(net)
        step += 1
        if step % 500 == 0:
            running = loss.item()
            print(f"[{tag}] step {step} progress {progress:.2f} loss {running:.5f}", flush=True)
    done = {"steps": step, "train_seconds": round(time.time() - t0), "final_loss": running}
    return ema.module.eval(), done


def random_shift(x: torch.Tensor, pad: int = 2) -> torch.Tensor:
    """Each image moved by up to `pad` pixels, on its device (a random crop of the zero-padded image):
    (B, 1, S, S) -> (B, 1, S, S)."""
    b, size, dev = len(x), x.shape[-1], x.device
    ar = torch.arange(size, device=dev)
    dy, dx = (torch.randint(0, 2 * pad + 1, (2, b, 1), device=dev) + ar).unbind(0)  # (B, S) each
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))[:, 0]  # (B, S+2p, S+2p)
    return padded[torch.arange(b, device=dev)[:, None, None], dy[:, :, None], dx[:, None, :]][:, None]


def device_name(dev: torch.device) -> str:
    return torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"


def write_run(out: str | Path, name: str, model: torch.nn.Module, record: dict) -> dict:
    """OUT/name.safetensors (the model's state dict, float32) and OUT/name.json (the record)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / f"{name}.safetensors"))
    (out / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record), flush=True)
    return record
