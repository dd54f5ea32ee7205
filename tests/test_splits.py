"""Validation splits, and the rule that trainers and screening tools never read a test split."""

from __future__ import annotations

import gzip
import importlib
import pkgutil
import struct

import numpy as np
import pytest

import training
from zoo import data, photo_corpus, splits
from zoo.data import load_fashion_mnist, load_mnist, photo_split

# The tools that may read test data: they report the figures, they choose nothing.
TEST_READERS = {
    "training.benchmark",
    "training.evaluate",
    "training.hostile_probes",
    "training.load_test",
    "training.readme",
    "training.reliability",
    "training.reliability_probes",
}
# Modules with no command of their own that reads data (libraries, fetchers).
NO_DATA_COMMAND = {"training.common", "training.fetch"}


def write_idx(folder, prefix: str, n: int) -> None:
    """An IDX image/label pair whose image i is filled with the value i % 256 (so slices are visible)."""
    folder.mkdir(exist_ok=True)
    images = (np.arange(n, dtype=np.uint32) % 256).astype(np.uint8)[:, None, None] * np.ones(
        (1, 28, 28), np.uint8
    )
    head = struct.pack(">BBBB3I", 0, 0, 8, 3, n, 28, 28)
    (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(head + images.tobytes()))
    labels = (np.arange(n) % 10).astype(np.uint8)
    (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(struct.pack(">BBBBI", 0, 0, 8, 1, n) + labels.tobytes())
    )


def test_validation_is_the_held_out_tail_of_the_training_file(tmp_path):
    write_idx(tmp_path, "train", 600)
    write_idx(tmp_path, "t10k", 50)
    train, _ = load_mnist("train", tmp_path)
    val, _ = load_mnist("validation", tmp_path)
    test, _ = load_mnist("test", tmp_path)
    assert (len(train), len(val), len(test)) == (540, 60, 50)  # a tenth of a small file held out
    assert np.allclose(val[:, 0, 0] * 255, np.arange(540, 600) % 256)  # the file's last images
    assert np.allclose(train[:, 0, 0] * 255, np.arange(540) % 256)
    assert splits.validation_count(60_000) == 5_000 and splits.validation_count(50_000) == 5_000
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist("val", tmp_path)


def test_fashion_mnist_holds_out_5000_for_validation():
    try:
        train, _ = load_fashion_mnist("train")
        val, _ = load_fashion_mnist("validation")
    except data.DatasetNotFoundError:
        pytest.skip("Fashion-MNIST is not installed")
    assert (len(train), len(val)) == (55_000, 5_000)


@pytest.mark.parametrize(
    "read",
    [
        lambda folder: load_mnist("test"),
        lambda folder: load_mnist("test", source="sample"),
        lambda folder: load_fashion_mnist("test"),
        lambda folder: photo_split("test"),
        lambda folder: photo_split("test", folder),
        lambda folder: photo_corpus.corpus_names("ood", folder=folder),
        lambda folder: data.load_cifar10(folder, "test"),
    ],
)
def test_no_test_split_inside_the_lock(read, tmp_path):
    with splits.test_split_locked("a trainer"):
        with pytest.raises(splits.TestSplitLocked, match="a trainer may not read the '(test|ood)' split"):
            read(tmp_path)
    assert splits.locked_by() is None  # the lock ends with its block
    load_mnist("test")  # and the product reads test images again


def test_validation_and_train_stay_readable_inside_the_lock():
    with splits.test_split_locked("a trainer"):
        assert len(load_mnist("validation", source="subset")[0]) == 1000
        assert len(load_mnist("train", source="subset")[0]) == 4000


def tool_modules():
    names = [f"training.{m.name}" for m in pkgutil.iter_modules(training.__path__) if not m.ispkg]
    return sorted(set(names) - TEST_READERS - NO_DATA_COMMAND)


@pytest.mark.parametrize("module", tool_modules())
def test_every_training_and_screening_command_runs_locked(module):
    """Every command in training/ that trains, screens, soups or promotes runs under the lock; a new
    module must either be locked or be listed above as a reader of test figures."""
    mod = importlib.import_module(module)
    entry = ("main",) if callable(getattr(mod, "main", None)) else ("train", "screen")  # subcommands
    commands = [getattr(mod, n) for n in entry if callable(getattr(mod, n, None))]
    assert commands, f"{module} has no command: list it in NO_DATA_COMMAND or TEST_READERS"
    for command in commands:
        assert getattr(command, "test_split_holder", None), f"{module}.{command.__name__} is not locked"


def test_the_training_command_cannot_read_test_digits(monkeypatch):
    """Behaviour, not only the marker: a trainer that asks for test digits fails inside training.train."""
    from training import train as train_cli
    from training.trainers import mnist_family

    def peeking_trainer(name, cfg, args=None):
        load_mnist("test")

    monkeypatch.setattr(mnist_family, "train", peeking_trainer)
    with pytest.raises(splits.TestSplitLocked, match="python -m training.train may not read"):
        train_cli.main(["mnist-denoise", "--steps", "1"])
