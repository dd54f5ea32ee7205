"""Fold each eval-mode BatchNorm into the convolution before it, for a frozen network.

A frozen encoder's BatchNorm is a fixed per-channel affine map, so conv -> BN equals one
conv with rescaled weights and a bias (`torch.nn.utils.fusion.fuse_conv_bn_eval`). The
encoder of the feature-recon family has 48 of them; folding saves one pass over every
feature map per layer on the CPU. timm's `BatchNormAct2d` also holds the activation (and a
dropout, identity in eval), which is kept in the BN's place.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def _act_of(bn: nn.BatchNorm2d) -> nn.Module:
    """What a BatchNorm module does after normalising: timm's BatchNormAct2d keeps drop + act."""
    parts = [m for m in (getattr(bn, "drop", None), getattr(bn, "act", None)) if m is not None]
    return nn.Sequential(*parts) if parts else nn.Identity()


def fuse_conv_bn(model: nn.Module) -> int:
    """Fuses, in place, every BatchNorm2d into the Conv2d sibling just before it (only identities
    between them, in definition order, which is the call order in timm's blocks). Returns how many."""
    if model.training:
        raise ValueError("fuse_conv_bn folds the running statistics: call model.eval() first")
    fused = 0
    for parent in list(model.modules()):
        conv_name = None
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Conv2d):
                conv_name = name
            elif isinstance(child, nn.BatchNorm2d) and conv_name is not None:
                conv = getattr(parent, conv_name)
                if conv.out_channels == child.num_features:
                    setattr(parent, conv_name, fuse_conv_bn_eval(conv, child))
                    setattr(parent, name, _act_of(child))
                    fused += 1
                conv_name = None
            elif not isinstance(child, nn.Identity):
                conv_name = None  # something with its own effect sits between: leave this pair alone
    return fused
