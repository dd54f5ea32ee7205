"""Every registered model: builds, runs, keeps shapes, no NaNs; MNIST pipelines' behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from zoo.registry import get_entry


@pytest.mark.parametrize("name", zoo.list_models())
def test_architecture_builds_and_keeps_shape(name):
    entry = get_entry(name)
    model = entry.builder(**entry.model_kwargs).eval()
    stride = entry.model_kwargs.get("stride", 1)  # feature decoders take a (C, 32/s, 32/s) feature map
    size = 28 if stride == 1 else 32
    x = torch.rand(2, entry.model_kwargs.get("in_channels", 1), size // stride, size // stride)
    with torch.no_grad():
        if name == "nca-fmnist":  # repair + classify: (image, logits)
            y, logits = model(x, (torch.rand_like(x) > 0.4).float(), steps=3)
            assert logits.shape == (2, 10) and torch.isfinite(logits).all()
        else:
            y = model(x)
    assert y.shape[0] == 2 and y.shape[-2:] == (size, size) and torch.isfinite(y).all()


def test_denoise_is_deterministic_in_range_and_better_than_noise(digit):
    p = zoo.load("mnist-denoise")
    noisy, mask = p.corrupt(digit, sigma=0.5, seed=0)
    assert mask is None
    a, b = p(noisy).image, p(noisy).image
    assert np.array_equal(a, b) and a.shape == (28, 28) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    assert np.mean((a - digit) ** 2) < 0.5 * np.mean((noisy - digit) ** 2)


@pytest.mark.parametrize("kind,size", [("vertical", 7), ("horizontal", 11), ("patch", 9), ("random", 0.4)])
def test_masked_changes_only_the_holes(digit, kind, size):
    p = zoo.load("mnist-masked")
    damaged, mask = p.corrupt(digit, kind=kind, size=size, seed=1)
    out = p(damaged, mask=mask).image
    assert np.array_equal(out[~mask], damaged[~mask])  # known pixels untouched
    assert np.mean((out - digit) ** 2) < np.mean((damaged - digit) ** 2)


def test_masked_needs_a_matching_mask(digit):
    p = zoo.load("mnist-masked")
    with pytest.raises(ValueError, match="mask"):
        p(digit)
    with pytest.raises(ValueError, match="shape"):
        p(digit, mask=np.zeros((5, 5), bool))
    with pytest.raises(ValueError, match="damage kind"):
        p.corrupt(digit, kind="spiral")


def test_ae2d_encode_decode(digit):
    p = zoo.load("mnist-ae2d")
    z = p.encode(digit)
    assert z.shape == (2,) and np.all(np.isfinite(z))
    assert np.allclose(p.decode(z), p(digit).image, atol=1e-5)
    with pytest.raises(ValueError, match="2 finite"):
        p.decode([1.0, float("nan")])


@pytest.mark.parametrize("name", ["mnist-denoise", "mnist-masked", "mnist-ae2d"])
@pytest.mark.parametrize(
    "bad", [np.zeros((2, 2, 2, 2)), np.full((28, 28), np.nan), np.zeros((0, 28)), "no/such/file.png", 42]
)
def test_bad_inputs_raise_value_error(name, bad):
    p = zoo.load(name)
    with pytest.raises(ValueError):
        p(bad, mask=np.zeros((28, 28), bool))


def test_large_colour_upload_is_converted_by_the_documented_rule():
    p = zoo.load("mnist-denoise")
    photo = np.ones((300, 200, 4), np.uint8) * 255  # white RGBA "paper"
    photo[100:200, 80:120, :3] = 0  # a dark stroke
    assert p(photo).image.shape == (28, 28)


def test_unavailable_or_unknown_device_is_a_clear_error():
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            zoo.load("mnist-ae2d", device="cuda")
    with pytest.raises(ValueError, match="unknown device"):
        zoo.load("mnist-ae2d", device="banana")


def test_result_fields_are_the_public_api(digit):
    out = zoo.load("mnist-denoise")(digit)
    assert {"image", "label", "probs", "frames"} <= set(vars(out))
    assert out.label is None and out.probs is None and out.frames is None


@pytest.mark.parametrize(
    "mask,words",
    [
        (np.full((28, 28), 0.3), "only 0 and 1"),
        (np.full((28, 28), "a"), "dtype"),
        (np.full((28, 28), None, dtype=object), "dtype"),
        (np.zeros((28, 28), complex), "dtype"),
        (np.full((28, 28), np.nan), "NaN"),
        (np.zeros((27, 28), bool), "shape"),
    ],
)
def test_bad_masks_are_refused_with_what_was_wrong(mask, words):
    p = zoo.load("mnist-masked")
    with pytest.raises(ValueError, match=words):
        p(np.zeros((28, 28), np.float32), mask=mask)


def test_numeric_zero_one_masks_and_batches_agree():
    p = zoo.load("mnist-masked")
    digit = np.zeros((28, 28), np.float32)
    digit[5:23, 12:16] = 1
    damaged, mask = p.corrupt(digit, kind="patch", size=9, seed=0)
    as_bool = p(damaged, mask=mask).image
    assert np.array_equal(p(damaged, mask=mask.astype(np.uint8)).image, as_bool)
    assert np.array_equal(p(damaged, mask=mask.astype(np.float32)).image, as_bool)
    batch = p.batch([damaged, digit], [mask, mask], batch_size=1)
    assert np.array_equal(batch[0].image, as_bool) and len(batch) == 2
    with pytest.raises(ValueError, match="one mask per image"):
        p.batch([damaged, digit], [mask])
    with pytest.raises(ValueError, match="batch_size"):
        p.batch([damaged], [mask], batch_size=0)
