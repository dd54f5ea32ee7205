"""mnist-masked's exemplar blend: each hole a weighted mean of the U-Net's fill and the nearest digits'."""

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo import data
from zoo.__main__ import main as cli
from zoo.pipelines.mnist_masked import EXEMPLAR_BANDS, EXEMPLAR_WEIGHTS, band_weights

from .conftest import write_idx


@pytest.fixture(scope="module")
def digits():
    x, _ = data.load_mnist("validation", source="subset")  # (1000, 28, 28) real digits
    return x


def _damage(p, x, kind="patch", size=9):
    return zip(*[p.corrupt(img, kind, size, seed=i) for i, img in enumerate(x)])


def test_blend_weight_one_is_the_unet_and_weight_zero_copies_the_nearest_digit(digits):
    p = zoo.load("mnist-masked")
    clean = digits[:4]
    damaged, masks = _damage(p, clean)
    plain = [r.image for r in p.batch(damaged, masks)]
    unet_only = [r.image for r in p.with_exemplars(digits, k=1, weight=1.0).batch(damaged, masks)]
    assert np.allclose(plain, unet_only, atol=1e-6)
    # The bank holds the clean digits themselves: the nearest on the visible pixels is each one's own.
    copied = [r.image for r in p.with_exemplars(digits, k=1, weight=0.0).batch(damaged, masks)]
    assert np.allclose(copied, clean, atol=1e-6)
    halfway = [r.image for r in p.with_exemplars(digits, k=1, weight=0.5).batch(damaged, masks)]
    assert np.allclose(halfway, (np.array(plain) + clean) / 2, atol=1e-5)
    # The pipeline `with_exemplars` was called on is unchanged, and visible pixels are never touched.
    assert np.allclose([r.image for r in p.batch(damaged, masks)], plain)
    for out, d, m in zip(halfway, damaged, masks):
        assert np.array_equal(out[~m], d[~m])


def test_default_weights_follow_the_holes_size():
    small, large = np.zeros((1, 28, 28), bool), np.zeros((1, 28, 28), bool)
    small[0, 10:13, 10:13] = True  # 9 of 784 pixels
    large[0, :, 3:24] = True  # 75% of the image
    assert band_weights(small, EXEMPLAR_WEIGHTS)[0, 0, 0] == pytest.approx(EXEMPLAR_WEIGHTS[0])
    assert band_weights(large, EXEMPLAR_WEIGHTS)[0, 0, 0] == pytest.approx(EXEMPLAR_WEIGHTS[-1])
    assert len(EXEMPLAR_WEIGHTS) == len(EXEMPLAR_BANDS) and EXEMPLAR_BANDS[-1] == 1.0
    assert np.allclose(band_weights(np.ones((2, 28, 28), bool), (0.3,)), 0.3)  # one weight for every hole


def test_blend_errors_say_what_to_fix(digits):
    p = zoo.load("mnist-masked")
    with pytest.raises(data.DatasetNotFoundError, match="zoo data fetch mnist"):
        p.with_exemplars()  # the default bank is the full MNIST, not fetched on the test machine
    with pytest.raises(ValueError, match="between 0 and 1"):
        p.with_exemplars(digits, weight=1.5)
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        p.with_exemplars(digits.reshape(len(digits), -1))
    with pytest.raises(ValueError, match=r"floats in \[0, 1\]"):
        p.with_exemplars((digits * 255).astype(np.uint8))
    with pytest.raises(ValueError, match="k must be between 1 and the 3 exemplar digits"):
        p.with_exemplars(digits[:3], k=10)
    with pytest.raises(ValueError, match="no ONNX graph"):
        p.with_exemplars(digits).export_spec()


def test_cli_exemplars_option_matches_the_api_and_explains_a_missing_dataset(
    tmp_path, digits, capsys, monkeypatch
):
    clean = digits[7]
    Image.fromarray((clean * 255).round().astype(np.uint8)).save(tmp_path / "digit.png")
    hole = np.zeros((28, 28), np.uint8)
    hole[8:18, 6:20] = 255
    Image.fromarray(hole).save(tmp_path / "hole.png")
    args = ["run", "mnist-masked", str(tmp_path / "digit.png"), "--mask", str(tmp_path / "hole.png")]
    assert cli([*args, "--exemplars", "--out", str(tmp_path / "out")]) == 1  # no full MNIST here
    assert "zoo data fetch mnist" in capsys.readouterr().err
    assert cli(["run", "mnist-denoise", str(tmp_path / "digit.png"), "--exemplars", "--out", "x"]) == 1
    assert "option of mnist-masked" in capsys.readouterr().err
    # A user's MNIST folder ($ZOO_MNIST) whose training digits are twenty copies of this digit
    # (the last tenth of a small training file is its validation split, not searched).
    bank = np.repeat((clean * 255).round()[None], 20, axis=0)
    write_idx(tmp_path / "train-images-idx3-ubyte", bank)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(20))
    monkeypatch.setenv("ZOO_MNIST", str(tmp_path))
    assert cli([*args, "--exemplars", "--quiet", "--out", str(tmp_path / "out")]) == 0
    got = np.asarray(Image.open(tmp_path / "out" / "digit.png"), dtype=np.float32) / 255
    p = zoo.load("mnist-masked")
    want = p.with_exemplars(bank / 255)(tmp_path / "digit.png", mask=hole > 0).image
    assert np.abs(got - want).max() <= 0.5 / 255 + 1e-6
    assert np.abs(want - p(tmp_path / "digit.png", mask=hole > 0).image).max() > 0.05  # the blend moved it
