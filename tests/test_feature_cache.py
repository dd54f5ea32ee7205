"""The feature pool: batches match their cached features, and a resumed run rebuilds the same pool."""

from __future__ import annotations

import numpy as np
import torch

from training.trainers.feature_cache import FeaturePool


def sample(g: torch.Generator, n: int) -> torch.Tensor:
    return torch.rand(n, 3, 8, 8, generator=g)


def encode(x: torch.Tensor) -> torch.Tensor:  # (B, 3, 8, 8) -> (B, 3, 2, 2): a stand-in for the encoder
    return torch.nn.functional.avg_pool2d(x, 4)


def make(seed: int = 0) -> FeaturePool:
    return FeaturePool(sample, encode, size=12, chunks=3, refresh_every=2, seed=seed, encode_batch=5)


def test_features_are_those_of_the_stored_crops():
    pool = make().at_step(0)
    feats, images = pool.batch(torch.Generator().manual_seed(0), 6)
    assert feats.shape == (6, 3, 2, 2) and images.shape == (6, 3, 8, 8)
    torch.testing.assert_close(feats, encode(images), atol=2e-3, rtol=0)  # float16 storage


def test_pool_refreshes_one_chunk_per_block_and_a_resume_rebuilds_it():
    pool = make()
    states = {}
    for step in range(14):  # an uninterrupted run: blocks 0..6
        states[step] = pool.at_step(step).crops.numpy().copy()
    changed = [(states[s] != states[s - 2]).reshape(3, 4, -1).any(axis=(1, 2)) for s in (2, 4, 6, 8)]
    assert [c.tolist() for c in changed] == [
        [True, False, False],
        [False, True, False],
        [False, False, True],
        [True, False, False],
    ]
    for step in (0, 3, 7, 13):  # a run resumed at `step` starts from the same pool
        np.testing.assert_array_equal(make().at_step(step).crops.numpy(), states[step])
    assert not np.array_equal(make(seed=1).at_step(0).crops.numpy(), states[0])
    assert pool.encoded == 12 + 6 * 4  # the initial fill, then one chunk of 4 per block
