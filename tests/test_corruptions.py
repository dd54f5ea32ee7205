from __future__ import annotations

import numpy as np
import pytest

from zoo import corruptions as C

IMG = np.random.default_rng(0).random((28, 28)).astype(np.float32)
RGB = np.random.default_rng(1).random((32, 32, 3)).astype(np.float32)


@pytest.mark.parametrize(
    "fn,kwargs",
    [
        (C.random_pixel_mask, dict(ratio=0.4)),
        (C.random_blocks, dict(n_blocks=10, size=2)),
        (C.stripe, dict(width=5, orientation="vertical")),
        (C.stripe, dict(width=5, orientation="horizontal")),
        (C.square_patch, dict(side=7)),
    ],
)
def test_masks_are_seeded_shaped_and_zero_the_holes(fn, kwargs):
    for img in (IMG, RGB):
        a, ma = fn(img, seed=3, **kwargs)
        b, mb = fn(img, seed=3, **kwargs)
        _, mc = fn(img, seed=4, **kwargs)
        assert np.array_equal(ma, mb) and np.array_equal(a, b)
        assert not np.array_equal(ma, mc)
        assert ma.shape == img.shape[:2] and ma.dtype == bool
        assert a.shape == img.shape and a.dtype == np.float32
        assert np.all(a[ma] == 0) and np.array_equal(a[~ma], img[~ma])


@pytest.mark.parametrize("ratio", [0.0, 0.2, 0.4, 0.8, 1.0])
def test_pixel_mask_fraction_matches_ratio(ratio):
    _, mask = C.random_pixel_mask(np.zeros((200, 200), np.float32), ratio, seed=0)
    assert abs(mask.mean() - ratio) < 0.01


def test_stripe_and_patch_cover_exactly_their_size():
    _, m = C.stripe(IMG, 9, "vertical", seed=0)
    assert m.sum() == 9 * 28 and m.any(axis=0).sum() == 9
    _, m = C.stripe(IMG, 5, "horizontal", seed=0)
    assert m.any(axis=1).sum() == 5 and m.all(axis=1).sum() == 5
    _, m = C.square_patch(IMG, 11, seed=0)
    assert m.sum() == 121


def test_blocks_stay_inside_and_cover_at_most_n_blocks():
    _, m = C.random_blocks(RGB, 50, 4, seed=0)
    assert 16 <= m.sum() <= 50 * 16


def test_noise_is_clipped_seeded_and_has_no_mask():
    noisy, mask = C.gaussian_noise(IMG, 0.5, seed=0)
    assert mask is None and noisy.min() >= 0 and noisy.max() <= 1
    assert np.array_equal(noisy, C.gaussian_noise(IMG, 0.5, seed=0)[0])
    assert np.array_equal(C.gaussian_noise(IMG, 0.0, seed=0)[0], IMG)


@pytest.mark.parametrize(
    "call",
    [
        lambda: C.random_pixel_mask(IMG, 1.5),
        lambda: C.random_pixel_mask(IMG, -0.1),
        lambda: C.stripe(IMG, 29),
        lambda: C.stripe(IMG, 0),
        lambda: C.stripe(IMG, 3, "diagonal"),
        lambda: C.square_patch(IMG, 40),
        lambda: C.random_blocks(IMG, 5, 30),
        lambda: C.random_blocks(IMG, -1, 2),
        lambda: C.gaussian_noise(IMG, -0.1),
        lambda: C.gaussian_noise(IMG, float("nan")),
        lambda: C.random_pixel_mask(np.zeros((0, 5)), 0.1),
    ],
)
def test_bad_parameters_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    "call,words",
    [
        (lambda img: C.random_pixel_mask(img, 0.4, seed=1.5), "seed"),
        (lambda img: C.random_pixel_mask(img, 0.4, seed="abc"), "seed"),
        (lambda img: C.random_pixel_mask(img, 0.4, seed=float("nan")), "seed"),
        (lambda img: C.random_pixel_mask(img, "0.4", seed=0), "mask ratio"),
        (lambda img: C.gaussian_noise(img, "0.5", seed=0), "noise sigma"),
        (lambda img: C.random_blocks(img, 10.5, 2, seed=0), "number of blocks"),
        (lambda img: C.stripe(img, True, "vertical", seed=0), "stripe width"),
    ],
)
def test_bad_damage_parameters_are_value_errors(call, words):
    with pytest.raises(ValueError, match=words):
        call(np.zeros((28, 28), np.float32))


def test_a_very_long_path_is_a_value_error():
    from zoo import images

    with pytest.raises(ValueError, match="not a usable file path"):
        images.to_array("x" * 5000 + ".png")
