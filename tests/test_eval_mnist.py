"""The mnist-masked evaluation's oracle reference (a training digit chosen knowing the answer)."""

import numpy as np

from zoo.protocols.exemplar import exemplar_fill, oracle_exemplar_mse


def _data(seed=0):
    rng = np.random.default_rng(seed)
    train = rng.random((40, 28, 28)).astype(np.float32)
    masks = np.zeros((3, 28, 28), dtype=bool)
    masks[:, 4:20, 6:15] = True
    return rng, train, masks


def test_oracle_is_zero_when_the_answer_is_a_training_digit():
    _, train, masks = _data()
    assert np.allclose(oracle_exemplar_mse(train[:3], masks, train), 0, atol=1e-6)


def test_oracle_matches_brute_force_search_without_shifts():
    rng, train, masks = _data(1)
    clean = rng.random((3, 28, 28)).astype(np.float32)
    brute = [min(float((((c - t) ** 2) * m).sum()) / c.size for t in train) for c, m in zip(clean, masks)]
    assert np.allclose(oracle_exemplar_mse(clean, masks, train, shift=0), brute, rtol=1e-4)


def test_oracle_finds_a_shifted_copy_and_ignores_visible_pixels():
    _, train, masks = _data(2)
    clean = np.roll(train[:3], (2, -1), axis=(1, 2)).copy()
    clean[:, 20:, :] = 0.5  # visible pixels (outside the holes) do not count
    assert oracle_exemplar_mse(clean, masks, train, shift=0).min() > 1e-3
    assert np.allclose(oracle_exemplar_mse(clean, masks, train, shift=2), 0, atol=1e-6)


def test_exemplar_fill_copies_the_nearest_digit_into_the_hole_and_keeps_visible_pixels():
    rng, train, masks = _data(3)
    clean = train[5].copy()
    damaged = np.where(masks[0], 0.0, clean).astype(np.float32)
    out = exemplar_fill(damaged[None], masks[:1], train, k=1, chunk=7)  # chunks smaller than the pool
    assert np.allclose(out[0], clean, atol=1e-6)  # the same digit is in the pool: it is found exactly
    mean_of_two = exemplar_fill(damaged[None], masks[:1], train[[5, 9]], k=2)[0]
    assert np.allclose(mean_of_two[masks[0]], ((train[5] + train[9]) / 2)[masks[0]], atol=1e-6)
    assert np.array_equal(mean_of_two[~masks[0]], clean[~masks[0]])


def test_a_fully_hidden_digit_takes_the_first_k_digits_whatever_the_chunking():
    from zoo.exemplars import ExemplarBank

    _, train, _ = _data(4)
    hidden = np.ones((2, 28, 28), dtype=bool)  # nothing visible: every training digit ties at distance 0
    damaged = np.zeros((2, 28, 28), dtype=np.float32)
    for chunk in (7, 40):
        near = ExemplarBank(train, chunk).nearest(damaged, hidden, k=3)
        assert near.tolist() == [[0, 1, 2], [0, 1, 2]]
    out = exemplar_fill(damaged, hidden, train, k=3, chunk=7)
    assert np.allclose(out[1], train[:3].mean(0), atol=1e-6)
