"""Trainer for nca-fmnist: phase 1 the classifier on clean Fashion-MNIST, phase 2 the NCA
with stochastic cell updates, phase 2b the NCA fine-tuned with synchronous updates (every
cell fires every step, as at inference), phase 3 the classifier fine-tuned on clean images
plus NCA repairs (so it reads repaired images as well as clean ones).

    python -m training.train nca-fmnist                       # all phases, then export
    python -m training.train nca-fmnist --classifier-steps 100 --steps 50 --sync-steps 50 --limit 512   # smoke run

Each phase is a resumable `train_loop` with its own checkpoint folder
(runs/nca-fmnist/{classifier,nca,nca-sync,classifier-ft}); a finished phase is skipped on a rerun.
Data: the 60,000 training images of Fashion-MNIST (Debian `dataset-fashion-mnist`
or --data PATH). The NCA sees random mask ratios U(0.1, 0.8) and random step
counts (12-28 in phase 2, 16-40 in phase 2b), so it stays stable past the 20 steps used
at inference. Why phase 2b: an automaton trained only with half the cells firing per step
runs about twice as fast when every cell fires (inference is deterministic), overshoots,
and degrades after ~14 steps; the card's "PSNR by NCA steps" table shows the result.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from zoo import data
from zoo.registry import get_entry

from ..common import RUNS_DIR, TrainConfig, train_loop

DEFAULTS = {"nca-fmnist": TrainConfig(steps=2000, batch_size=32, lr=2e-3, ckpt_every=100)}
CLASSIFIER_DEFAULT_STEPS = 6000
FINETUNE_DEFAULT_STEPS = 3000
SYNC_DEFAULT_STEPS = 3000
SYNC_STEPS_RANGE = (16, 40)
SYNC_LR = 1e-3
CLASSIFIER_BATCH = 128
REPAIR_BANK_SIZE = 24000


def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--classifier-steps",
        type=int,
        default=CLASSIFIER_DEFAULT_STEPS,
        help=f"classifier optimiser steps (batch {CLASSIFIER_BATCH})",
    )
    parser.add_argument(
        "--finetune-steps",
        type=int,
        default=FINETUNE_DEFAULT_STEPS,
        help="classifier fine-tuning steps on clean + NCA-repaired images",
    )
    parser.add_argument(
        "--sync-steps",
        type=int,
        default=SYNC_DEFAULT_STEPS,
        help="NCA fine-tuning steps with synchronous cell updates (phase 2b)",
    )


def training_images(cfg: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = data.load_fashion_mnist("train", cfg.data)
    if cfg.limit:
        x, y = x[: cfg.limit], y[: cfg.limit]
    return torch.from_numpy(x)[:, None], torch.from_numpy(y)


def augment(x: torch.Tensor, rng: np.random.Generator, shift: int = 2) -> torch.Tensor:
    """Random shift (one per batch) and per-image horizontal flips: (B, 1, 28, 28)."""
    x = F.pad(x, (shift, shift, shift, shift))
    dy, dx = rng.integers(0, 2 * shift + 1, size=2)
    x = x[..., dy : dy + 28, dx : dx + 28]
    flip = torch.from_numpy(rng.random(len(x)) < 0.5)
    return torch.where(flip[:, None, None, None], x.flip(-1), x).contiguous()


def classifier_loss(images: torch.Tensor, labels: torch.Tensor, batch: int):
    def loss_fn(net, rng):
        idx = torch.from_numpy(rng.integers(0, len(images), size=batch))
        return F.cross_entropy(net(augment(images[idx], rng)), labels[idx], label_smoothing=0.05)

    return loss_fn


def nca_loss(images: torch.Tensor, batch: int, ratio_range=(0.1, 0.8), steps_range=(12, 28)):
    def loss_fn(net, rng):
        idx = torch.from_numpy(rng.integers(0, len(images), size=batch))
        x = augment(images[idx], rng)
        ratios = torch.from_numpy(rng.uniform(*ratio_range, size=(batch, 1, 1, 1)).astype(np.float32))
        missing = (torch.from_numpy(rng.random(x.shape).astype(np.float32)) < ratios).float()
        steps = int(rng.integers(steps_range[0], steps_range[1] + 1))
        torch.manual_seed(int(rng.integers(2**31)))  # the stochastic cell updates, reproducible per step
        out = net(x * (1 - missing), 1 - missing, steps=steps)
        # Loss on the missing pixels only, on the unclamped state (a clamp would kill the gradient).
        return ((out - x) ** 2 * missing).sum() / missing.sum().clamp_min(1)

    return loss_fn


def train(name: str, cfg: TrainConfig, args: argparse.Namespace):
    entry = get_entry(name)
    model = entry.builder(**entry.model_kwargs)
    images, labels = training_images(cfg)
    base = Path(cfg.run_dir) if cfg.run_dir else RUNS_DIR / name
    phase_cfg = TrainConfig(
        **{
            **cfg.__dict__,
            "steps": args.classifier_steps,
            "batch_size": CLASSIFIER_BATCH,
            "lr": 2e-3,
            "run_dir": str(base / "classifier"),
        }
    )
    if (
        train_loop(
            f"{name}/classifier",
            model.classifier,
            classifier_loss(images, labels, CLASSIFIER_BATCH),
            phase_cfg,
        )
        is None
    ):
        return None
    nca_cfg = TrainConfig(**{**cfg.__dict__, "run_dir": str(base / "nca")})
    if train_loop(f"{name}/nca", model.nca, nca_loss(images, cfg.batch_size), nca_cfg) is None:
        return None
    if args.sync_steps:
        sync_cfg = TrainConfig(
            **{**cfg.__dict__, "steps": args.sync_steps, "lr": SYNC_LR, "run_dir": str(base / "nca-sync")}
        )
        model.nca.fire_rate = 1.0  # every cell fires every step, as at inference
        loss = nca_loss(images, cfg.batch_size, steps_range=SYNC_STEPS_RANGE)
        if train_loop(f"{name}/nca-sync", model.nca, loss, sync_cfg) is None:
            return None
    if args.finetune_steps:
        bank, bank_labels = repair_bank(model.nca.eval(), images, labels, cfg.seed)
        ft_cfg = TrainConfig(
            **{
                **cfg.__dict__,
                "steps": args.finetune_steps,
                "batch_size": CLASSIFIER_BATCH,
                "lr": 1e-3,
                "run_dir": str(base / "classifier-ft"),
            }
        )
        loss = finetune_loss(images, labels, bank, bank_labels, CLASSIFIER_BATCH)
        if train_loop(f"{name}/classifier-ft", model.classifier, loss, ft_cfg) is None:
            return None
    description = (
        f"Fashion-MNIST training split ({len(images):,} images"
        f"{' from ' + cfg.data if cfg.data else ', Debian dataset-fashion-mnist'}); "
        f"classifier: {args.classifier_steps} steps of batch {CLASSIFIER_BATCH} on clean images "
        f"(shifts, flips); NCA: {cfg.steps} steps of batch {cfg.batch_size}, mask ratio U(0.1, 0.8), "
        f"12-28 random steps, then {args.sync_steps} steps with every cell firing, "
        f"{SYNC_STEPS_RANGE[0]}-{SYNC_STEPS_RANGE[1]} random steps; "
        f"classifier fine-tuned {args.finetune_steps} steps on half clean images, "
        f"half NCA repairs of {min(REPAIR_BANK_SIZE, len(images)):,} training images (mask ratio U(0.1, 0.8))"
    )
    return model.eval(), description


def repair_bank(nca: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int, steps: int = 20):
    """NCA repairs of REPAIR_BANK_SIZE random training images at random mask ratios (fixed by `seed`)."""
    rng = np.random.default_rng([seed, 7])
    idx = rng.choice(len(images), size=min(REPAIR_BANK_SIZE, len(images)), replace=False)
    x = images[idx]
    ratios = torch.from_numpy(rng.uniform(0.1, 0.8, size=(len(x), 1, 1, 1)).astype(np.float32))
    known = (torch.from_numpy(rng.random(x.shape).astype(np.float32)) >= ratios).float()
    return nca.repair(x * known, known, steps=steps), labels[idx]


def finetune_loss(images, labels, bank, bank_labels, batch: int):
    """Half a batch of clean training images, half NCA repairs, both augmented."""

    def loss_fn(net, rng):
        i = torch.from_numpy(rng.integers(0, len(images), size=batch // 2))
        j = torch.from_numpy(rng.integers(0, len(bank), size=batch - batch // 2))
        x = augment(torch.cat([images[i], bank[j]]), rng)
        return F.cross_entropy(net(x), torch.cat([labels[i], bank_labels[j]]), label_smoothing=0.05)

    return loss_fn


def masked_cnn_loss(images: torch.Tensor, labels: torch.Tensor, batch: int, ratio_range=(0.1, 0.8)):
    """The strong alternative to repair-then-classify: a CNN trained on masked inputs directly."""

    def loss_fn(net, rng):
        idx = torch.from_numpy(rng.integers(0, len(images), size=batch))
        x = augment(images[idx], rng)
        ratios = torch.from_numpy(rng.uniform(*ratio_range, size=(batch, 1, 1, 1)).astype(np.float32))
        missing = (torch.from_numpy(rng.random(x.shape).astype(np.float32)) < ratios).float()
        return F.cross_entropy(net(x * (1 - missing)), labels[idx], label_smoothing=0.05)

    return loss_fn


def train_masked_cnn(
    cfg: TrainConfig, steps: int = CLASSIFIER_DEFAULT_STEPS, finetune_steps: int = FINETUNE_DEFAULT_STEPS
) -> torch.nn.Module:
    """Baseline for the evaluation (not shipped): same architecture and the same budget as the
    shipped classifier (`steps`, then `finetune_steps` more at the fine-tuning learning rate),
    all on masked inputs. Checkpointed in runs/nca-fmnist/masked-cnn{,-ft}; finished runs are reused.
    """
    from zoo.models.small_cnn import SmallCNN

    torch.manual_seed(cfg.seed + 1)
    net = SmallCNN(10, get_entry("nca-fmnist").model_kwargs["width"])
    images, labels = training_images(cfg)
    base = Path(cfg.run_dir) if cfg.run_dir else RUNS_DIR / "nca-fmnist"
    loss = masked_cnn_loss(images, labels, CLASSIFIER_BATCH)
    phase_cfg = TrainConfig(
        **{
            **cfg.__dict__,
            "steps": steps,
            "batch_size": CLASSIFIER_BATCH,
            "lr": 2e-3,
            "run_dir": str(base / "masked-cnn"),
            "stop_at": None,
        }
    )
    net = train_loop("nca-fmnist/masked-cnn", net, loss, phase_cfg)
    if finetune_steps:
        ft_cfg = TrainConfig(
            **{
                **phase_cfg.__dict__,
                "steps": finetune_steps,
                "lr": 1e-3,
                "run_dir": str(base / "masked-cnn-ft"),
            }
        )
        net = train_loop("nca-fmnist/masked-cnn-ft", net, loss, ft_cfg)
    return net


def evaluation_extras(name: str, data_path: str | None = None) -> dict:
    """What the nca-fmnist protocol cannot build itself: the masked-input CNN baseline, as a labeller."""
    net = train_masked_cnn(TrainConfig(data=data_path)).eval()

    @torch.inference_mode()
    def masked_cnn(damaged: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.asarray(damaged, dtype=np.float32))[:, None]
        return torch.cat([net(x[i : i + 1000]).argmax(1) for i in range(0, len(x), 1000)]).numpy()

    return {"masked_cnn": masked_cnn}


if __name__ == "__main__":  # python -m training.trainers.nca_fmnist: train only the masked-input baseline
    train_masked_cnn(TrainConfig())
