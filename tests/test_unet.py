"""The U-Net's added blocks: identity when added, any input size, distant pixels meet."""

from __future__ import annotations

import pytest
import torch

from training.common import start_new_modules_as_identity
from zoo.models.unet import GlobalContext, UNet


@pytest.mark.parametrize("size", [(28, 28), (40, 33), (9, 12)])
def test_context_unet_keeps_the_input_size(size):
    net = UNet(in_channels=2, context=16).eval()
    out = net(torch.rand(2, 2, *size))
    assert out.shape == (2, 1, *size) and torch.isfinite(out).all()


def test_global_context_block_links_opposite_corners_and_starts_as_identity():
    torch.manual_seed(0)
    block = GlobalContext(channels=8, hidden=16, grid=7)
    x = torch.rand(1, 8, 7, 7)  # a bottleneck map: (B, C, 7, 7)
    assert torch.equal(block(x), x)  # zero-initialised last conv: adding it changes nothing
    torch.nn.init.normal_(block.expand.weight, std=0.1)  # as after training
    y = x.clone()
    y[..., 0, 0] += 1.0  # change the top-left cell only
    assert (block(y) - block(x))[..., -1, -1].abs().max().item() > 1e-4  # the bottom-right one moves
    conv = torch.nn.Conv2d(8, 8, 3, padding=1)
    assert torch.equal(conv(y)[..., -1, -1], conv(x)[..., -1, -1])  # a 3x3 conv's would not


def test_refine_blocks_grow_a_trained_unet_without_changing_its_output():
    """`refine=N` adds full-resolution residual blocks under new keys only: the plain net's weights load
    (strict=False reports exactly the added keys) and, zeroed as --init-new does, the output is unchanged."""
    torch.manual_seed(0)
    plain = UNet().eval()
    for p in plain.parameters():  # "trained": nothing zero, so an equal output is not an accident
        torch.nn.init.normal_(p, std=0.05)
    grown = UNet(refine=2).eval()
    missing, unexpected = grown.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("refine.") for k in missing)
    x = torch.rand(2, 1, 28, 28)  # (B, 1, H, W) noisy digits
    assert not torch.allclose(grown(x), plain(x))  # fresh blocks change the output...
    start_new_modules_as_identity(grown, ("refine",))
    assert torch.equal(grown(x), plain(x))  # ...zeroed, they compute the identity
    assert grown(torch.rand(1, 1, 30, 17)).shape == (1, 1, 30, 17)
