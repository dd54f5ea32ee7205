"""Training batches for nca-fmnist, drawn from a step's rng: augmentation, random pixel masks, and the
losses of its phases (classifier, automaton, classifier on repairs, the masked-input CNN baseline)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

LABEL_SMOOTHING = 0.1
MASK_RATIOS = (0.1, 0.9)  # drawn with density rising towards 0.9: more training where more is missing


def mask_ratios(rng: np.random.Generator, n: int, lo: float = MASK_RATIOS[0], hi: float = MASK_RATIOS[1]):
    """n ratios in [lo, hi] with density rising linearly towards hi: (n, 1, 1, 1) float32."""
    return torch.from_numpy((lo + (hi - lo) * np.sqrt(rng.random((n, 1, 1, 1)))).astype(np.float32))


def augment_strong(x: torch.Tensor, rng: np.random.Generator, pad: int = 2, erase_p: float = 0.5):
    """The classifier's augmentation, per image: a random crop of the 2-pixel-padded image, a
    horizontal flip, and random erasing (a rectangle of 2-25% of the area set to 0, with probability
    `erase_p`). x: (B, 1, 28, 28) -> (B, 1, 28, 28)."""
    b, size = len(x), x.shape[-1]
    padded = F.pad(x, (pad, pad, pad, pad))[:, 0]  # (B, 32, 32)
    dy, dx = (torch.from_numpy(rng.integers(0, 2 * pad + 1, size=(2, b, 1))) + torch.arange(size)).unbind(0)
    out = padded[torch.arange(b)[:, None, None], dy[:, :, None], dx[:, None, :]]  # (B, 28, 28)
    out = torch.where(torch.from_numpy(rng.random(b) < 0.5)[:, None, None], out.flip(-1), out)
    area = rng.uniform(0.02, 0.25, b) * size * size
    aspect = np.exp(rng.uniform(np.log(0.3), np.log(3.3), b))
    h = np.clip(np.sqrt(area * aspect), 1, size).astype(int)
    w = np.clip(np.sqrt(area / aspect), 1, size).astype(int)
    top, left = (rng.random(b) * (size - h + 1)).astype(int), (rng.random(b) * (size - w + 1)).astype(int)
    rows, cols = np.arange(size)[None, :, None], np.arange(size)[None, None, :]
    erase = (
        (rows >= top[:, None, None])
        & (rows < (top + h)[:, None, None])
        & (cols >= left[:, None, None])
        & (cols < (left + w)[:, None, None])
        & (rng.random(b) < erase_p)[:, None, None]
    )
    return out.masked_fill(torch.from_numpy(erase), 0.0)[:, None].contiguous()


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
        x = augment_strong(images[idx], rng)
        return F.cross_entropy(net(x), labels[idx], label_smoothing=LABEL_SMOOTHING)

    return loss_fn


def nca_loss(images: torch.Tensor, batch: int, ratio_range=MASK_RATIOS, steps_range=(12, 28)):
    def loss_fn(net, rng):
        idx = torch.from_numpy(rng.integers(0, len(images), size=batch))
        x = augment(images[idx], rng)
        ratios = mask_ratios(rng, batch, *ratio_range)
        missing = (torch.from_numpy(rng.random(x.shape).astype(np.float32)) < ratios).float()
        steps = int(rng.integers(steps_range[0], steps_range[1] + 1))
        torch.manual_seed(int(rng.integers(2**31)))  # the stochastic cell updates, reproducible per step
        out = net(x * (1 - missing), 1 - missing, steps=steps)
        # Loss on the missing pixels only, on the unclamped state (a clamp would kill the gradient).
        return ((out - x) ** 2 * missing).sum() / missing.sum().clamp_min(1)

    return loss_fn


def finetune_loss(images, labels, bank, bank_labels, batch: int):
    """Half a batch of clean training images, half NCA repairs, both augmented."""

    def loss_fn(net, rng):
        i = torch.from_numpy(rng.integers(0, len(images), size=batch // 2))
        j = torch.from_numpy(rng.integers(0, len(bank), size=batch - batch // 2))
        x = augment_strong(torch.cat([images[i], bank[j]]), rng)
        return F.cross_entropy(
            net(x), torch.cat([labels[i], bank_labels[j]]), label_smoothing=LABEL_SMOOTHING
        )

    return loss_fn


def masked_cnn_loss(images: torch.Tensor, labels: torch.Tensor, batch: int, ratio_range=MASK_RATIOS):
    """The strong alternative to repair-then-classify: a CNN trained on masked inputs directly."""

    def loss_fn(net, rng):
        idx = torch.from_numpy(rng.integers(0, len(images), size=batch))
        x = augment_strong(images[idx], rng)
        missing = (
            torch.from_numpy(rng.random(x.shape).astype(np.float32)) < mask_ratios(rng, batch, *ratio_range)
        ).float()
        return F.cross_entropy(net(x * (1 - missing)), labels[idx], label_smoothing=LABEL_SMOOTHING)

    return loss_fn
