"""training.mnist_masked_exemplar: the U-Net with the exemplar fill as a third input channel."""

from __future__ import annotations

import numpy as np
import torch

import zoo
from zoo.exemplars import ExemplarBank

from training.mnist_masked_exemplar import exemplar_channel, three_channel_unet


def test_the_three_channel_unet_starts_as_exactly_the_shipped_one():
    shipped = zoo.load("mnist-masked").model.eval()
    net = three_channel_unet(str(zoo.registry.WEIGHTS_DIR / "mnist-masked" / "model.safetensors")).eval()
    torch.manual_seed(0)
    x, m = torch.rand(4, 1, 28, 28), (torch.rand(4, 1, 28, 28) < 0.3).float()
    with torch.no_grad():
        a = shipped(torch.cat([x * (1 - m), m], 1))
        b = net(torch.cat([x * (1 - m), m, torch.rand(4, 1, 28, 28)], 1))  # any third channel
    assert torch.allclose(a, b, atol=1e-6)


def test_the_exemplar_channel_fills_only_holes_and_leaves_each_digits_own_copy_out():
    rng = np.random.default_rng(0)
    digits = rng.random((30, 28, 28)).astype(np.float32)
    bank = ExemplarBank(digits)
    x = torch.from_numpy(digits[[3, 7]])[:, None]
    m = torch.zeros(2, 1, 28, 28)
    m[..., 5:15, 5:15] = 1
    damaged = x * (1 - m)
    found = exemplar_channel(bank, damaged, m, k=1)
    assert torch.allclose(found, x * m)  # its own copy is the nearest: the hole exactly, zero elsewhere
    left_out = exemplar_channel(bank, damaged, m, k=1, own=torch.tensor([3, 7]))
    assert not torch.allclose(left_out, x * m) and left_out[m == 0].abs().max() == 0
