"""Shared fixtures: a tiny registered model, a local Hub server, isolated caches."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import numpy as np
import pytest
from safetensors.torch import save_file

import zoo
from zoo import registry
from zoo.hub import file_record
from zoo.models.unet import unet
from zoo.pipelines.mnist_denoise import DenoisePipeline

from .hf_server import HubServer

TINY_NAME = "tiny-denoise"
TINY_REPO = "test-org/tiny-denoise"
TINY_COMMIT = "a" * 40
TINY_KWARGS = dict(in_channels=1, out_channels=1, base_channels=2, depth=1)


def write_idx(path, arr) -> None:
    """An IDX file of uint8 values (MNIST's format), gzipped when the name ends in .gz."""
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    body = header + np.asarray(arr).astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(body) if str(path).endswith(".gz") else body)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """No test sees the user's caches, overrides or offline flag."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("ZOO_HOME", raising=False)
    monkeypatch.delenv("ZOO_MNIST", raising=False)
    # No fetched datasets: every machine (CI too) sees the bundled data only.
    monkeypatch.setenv("ZOO_DATA", str(tmp_path_factory.mktemp("zoo_data")))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: any stray download fails fast


@pytest.fixture
def tiny_files(tmp_path) -> dict[str, bytes]:
    """The bytes of a tiny, seeded model: model.safetensors + config.json."""
    import torch

    torch.manual_seed(0)
    model = unet(**TINY_KWARGS)
    folder = tmp_path / "tiny_src"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"name": TINY_NAME, "model_kwargs": TINY_KWARGS}))
    return {fn: (folder / fn).read_bytes() for fn in ("model.safetensors", "config.json")}


@pytest.fixture
def tiny_entry(tiny_files, tmp_path, monkeypatch):
    """Register `tiny-denoise` (pinned to TINY_COMMIT) with an empty package weights dir."""
    records = []
    for fn, body in tiny_files.items():
        p = tmp_path / "records" / fn
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(body)
        records.append(file_record(p))
    weights_dir = tmp_path / "package_weights"
    weights_dir.mkdir()
    monkeypatch.setattr("zoo.hub.WEIGHTS_DIR", weights_dir)
    card = tmp_path / "tiny-denoise.md"
    shutil.copy(registry.CARDS_DIR / "mnist-denoise.md", card)
    entry = registry.register_model(
        TINY_NAME,
        task="denoising",
        summary="tiny test model",
        builder=unet,
        model_kwargs=TINY_KWARGS,
        pipeline_cls=DenoisePipeline,
        repo_id=TINY_REPO,
        revision=TINY_COMMIT,
        files=tuple(records),
        card_path=card,
    )
    yield entry
    registry.unregister_model(TINY_NAME)


@pytest.fixture
def hub_server(tiny_files, monkeypatch):
    with HubServer() as server:
        server.state.add(TINY_REPO, TINY_COMMIT, tiny_files)
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


@pytest.fixture
def digit() -> np.ndarray:
    """One real MNIST test digit (28x28 float32 in [0,1])."""
    from zoo.data import load_mnist

    x, _ = load_mnist("test")
    return x[3]
