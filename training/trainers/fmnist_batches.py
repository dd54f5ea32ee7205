"""Training batches for nca-fmnist, drawn from a step's generator on the training device: augmentation,
random pixel masks, and the losses of its phases (classifier, automaton, classifier on repairs, the
masked-input CNN baseline). Images: (B, 1, 28, 28)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import batches as B

LABEL_SMOOTHING = 0.1
MASK_RATIOS = (0.1, 0.9)  # drawn with density rising towards 0.9: more training where more is missing


def mask_ratios(g: torch.Generator, n: int, lo: float = MASK_RATIOS[0], hi: float = MASK_RATIOS[1]):
    """n ratios in [lo, hi] with density rising linearly towards hi: (n, 1, 1, 1)."""
    return B.mask_ratios(g, n, lo, hi)


def augment_strong(x: torch.Tensor, g: torch.Generator, pad: int = 2, erase_p: float = 0.5) -> torch.Tensor:
    """The classifier's augmentation, per image: a random crop of the 2-pixel-padded image, a
    horizontal flip, and random erasing (a rectangle of 2-25% of the area set to 0, with probability
    `erase_p`). (B, 1, 28, 28) -> (B, 1, 28, 28)."""
    return B.random_erase(B.random_flip(B.random_shift(x, g, pad), g), g, erase_p).contiguous()


def augment(x: torch.Tensor, g: torch.Generator, shift: int = 2) -> torch.Tensor:
    """The automaton's augmentation: per-image random shifts and horizontal flips."""
    return B.random_flip(B.random_shift(x, g, shift), g).contiguous()


def classifier_loss(images: torch.Tensor, labels: torch.Tensor, batch: int):
    def loss_fn(net, g):
        idx = B.pick(g, len(images), batch)
        x = augment_strong(images[idx], g)
        return F.cross_entropy(net(x), labels[idx], label_smoothing=LABEL_SMOOTHING)

    return loss_fn


def nca_loss(images: torch.Tensor, batch: int, ratio_range=MASK_RATIOS, steps_range=(12, 28)):
    def loss_fn(net, g):
        x = augment(images[B.pick(g, len(images), batch)], g)
        missing = B.random_pixels_missing(x, g, mask_ratios(g, batch, *ratio_range))
        steps = int(B.integers(g, steps_range[0], steps_range[1] + 1, 1))
        # the stochastic cell updates (torch's global generator), reproducible per step
        torch.manual_seed(int(B.integers(g, 0, 2**31 - 1, 1)))
        out = net(x * (1 - missing), 1 - missing, steps=steps)
        # Loss on the missing pixels only, on the unclamped state (a clamp would kill the gradient).
        return ((out - x) ** 2 * missing).sum() / missing.sum().clamp_min(1)

    return loss_fn


def finetune_loss(images, labels, bank, bank_labels, batch: int):
    """Half a batch of clean training images, half NCA repairs, both augmented."""

    def loss_fn(net, g):
        i = B.pick(g, len(images), batch // 2)
        j = B.pick(g, len(bank), batch - batch // 2)
        x = augment_strong(torch.cat([images[i], bank[j]]), g)
        return F.cross_entropy(
            net(x), torch.cat([labels[i], bank_labels[j]]), label_smoothing=LABEL_SMOOTHING
        )

    return loss_fn


def masked_cnn_loss(images: torch.Tensor, labels: torch.Tensor, batch: int, ratio_range=MASK_RATIOS):
    """The strong alternative to repair-then-classify: a CNN trained on masked inputs directly."""

    def loss_fn(net, g):
        idx = B.pick(g, len(images), batch)
        x = augment_strong(images[idx], g)
        missing = B.random_pixels_missing(x, g, mask_ratios(g, batch, *ratio_range))
        return F.cross_entropy(net(x * (1 - missing)), labels[idx], label_smoothing=LABEL_SMOOTHING)

    return loss_fn
