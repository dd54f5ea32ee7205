"""The mnist-masked evaluation's oracle reference (a training digit chosen knowing the answer)."""
import numpy as np

from training.eval_mnist import oracle_exemplar_mse


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
