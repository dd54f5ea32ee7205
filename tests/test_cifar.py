"""cifar10-blocks: known pixels, any size up to the limit, grey input, clear errors, CIFAR loader path."""
from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo import data


@pytest.fixture(scope="module")
def p():
    return zoo.load("cifar10-blocks")


@pytest.fixture(scope="module")
def crop():
    return data.random_crops(data.photo_split("test"), 1, 32, seed=3, scales=(0.125,), augment=False)[0]


def test_blocks_contract(p, crop):
    damaged, mask = p.corrupt(crop, n_blocks=50, block_size=2, seed=0)
    out = p(damaged, mask=mask).image
    assert out.shape == (32, 32, 3) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert np.array_equal(out[~mask], damaged[~mask])
    assert np.array_equal(out, p(damaged, mask=mask).image)
    assert np.mean((out - crop)[mask] ** 2) < np.mean((damaged - crop)[mask] ** 2)


def test_large_and_grey_images(p):
    big = np.random.default_rng(0).random((300, 517, 3)).astype(np.float32)
    damaged, mask = p.corrupt(big, n_blocks=20, block_size=8, seed=1)
    assert p(damaged, mask=mask).image.shape == (300, 517, 3)
    grey = np.full((40, 40), 128, np.uint8)
    damaged, mask = p.corrupt(grey, n_blocks=5, block_size=4, seed=1)
    assert p(damaged, mask=mask).image.shape == (40, 40, 3)


def test_too_large_or_too_small_is_a_clear_error(p):
    with pytest.raises(ValueError, match="1024"):
        p.prepare(np.zeros((1025, 64, 3), np.float32))
    with pytest.raises(ValueError, match="at least"):
        p.prepare(np.zeros((4, 64, 3), np.float32))
