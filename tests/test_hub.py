"""Weight resolution against the real huggingface_hub client and a local Hub server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import hub

from .conftest import TINY_COMMIT, TINY_NAME, TINY_REPO


def _damage(body: bytes, how: str) -> bytes:
    if how == "truncated":
        return body[: len(body) // 2]
    flipped = bytearray(body)
    flipped[len(flipped) // 2] ^= 0x01  # one flipped bit in one byte
    return bytes(flipped)


def test_download_pins_revision_then_offline_uses_cache(tiny_entry, hub_server, monkeypatch):
    # "main" moves on to other files; the registry pins TINY_COMMIT, so only that commit is used.
    hub_server.state.add(
        TINY_REPO, "b" * 40, {"model.safetensors": b"x", "config.json": b"{}"}, branch="main"
    )
    p = zoo.load(TINY_NAME)
    assert p.weights_source == "hf-download"
    assert any(f"/resolve/{TINY_COMMIT}/model.safetensors" in r for r in hub_server.state.requests)
    assert not any("/resolve/main/" in r for r in hub_server.state.requests)
    snapshot = Path(hub.hf_cache_dir()) / "models--test-org--tiny-denoise" / "snapshots" / TINY_COMMIT
    assert (snapshot / "model.safetensors").is_file()
    out = p(np.zeros((28, 28), np.float32)).image
    assert out.shape == (28, 28)

    # Offline: served from the cache, and the server sees no request at all.
    n_requests = len(hub_server.state.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert zoo.load(TINY_NAME).weights_source == "hf-cache"
    # Endpoint pointed at a dead port, not even offline: still the cache, no network.
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert zoo.load(TINY_NAME).weights_source == "hf-cache"
    assert len(hub_server.state.requests) == n_requests


def test_offline_without_weights_gives_one_clear_error(tiny_entry, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(zoo.WeightsNotFoundError) as err:
        zoo.load(TINY_NAME)
    msg = str(err.value)
    assert "HF_HUB_OFFLINE=1" in msg and f"python -m zoo download {TINY_NAME}" in msg and "ZOO_HOME" in msg


@pytest.mark.slow
def test_unreachable_hub_without_cache_is_a_clear_error(tiny_entry):
    with pytest.raises(
        zoo.WeightsNotFoundError, match="could not download from http://127.0.0.1:9: connection refused"
    ):
        zoo.load(TINY_NAME)


def test_zoo_home_overrides_and_package_is_next(tiny_entry, tiny_files, tmp_path, monkeypatch):
    package = hub.WEIGHTS_DIR / TINY_NAME
    package.mkdir()
    for fn, body in tiny_files.items():
        (package / fn).write_bytes(body)
    assert zoo.load(TINY_NAME).weights_source == "package"
    home = tmp_path / "zoo_home"
    (home / TINY_NAME).mkdir(parents=True)
    for fn, body in tiny_files.items():
        (home / TINY_NAME / fn).write_bytes(body)
    monkeypatch.setenv("ZOO_HOME", str(home))
    assert zoo.load(TINY_NAME).weights_source == "ZOO_HOME"


@pytest.mark.parametrize("how", ["truncated", "flipped"])
@pytest.mark.parametrize("source", ["ZOO_HOME", "package", "hf-cache", "hf-download"])
def test_damaged_file_is_refused_from_every_source(
    source, how, tiny_entry, tiny_files, hub_server, tmp_path, monkeypatch
):
    bad = dict(tiny_files)
    bad["model.safetensors"] = _damage(tiny_files["model.safetensors"], how)
    if source == "ZOO_HOME":
        (tmp_path / "home" / TINY_NAME).mkdir(parents=True)
        for fn, body in bad.items():
            (tmp_path / "home" / TINY_NAME / fn).write_bytes(body)
        monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    elif source == "package":
        (hub.WEIGHTS_DIR / TINY_NAME).mkdir()
        for fn, body in bad.items():
            (hub.WEIGHTS_DIR / TINY_NAME / fn).write_bytes(body)
    elif source == "hf-cache":
        zoo.load(TINY_NAME)  # a good download fills the cache ...
        blob = (
            Path(hub.hf_cache_dir())
            / "models--test-org--tiny-denoise"
            / "snapshots"
            / TINY_COMMIT
            / "model.safetensors"
        ).resolve()
        blob.write_bytes(bad["model.safetensors"])  # ... then the cached copy is damaged
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        hub_server.state.add(TINY_REPO, TINY_COMMIT, bad)  # the server itself serves a damaged file
    with pytest.raises(zoo.WeightsIntegrityError) as err:
        zoo.load(TINY_NAME)
    msg = str(err.value)
    assert "model.safetensors" in msg and source in msg
    assert tiny_entry.file("model.safetensors").sha256 in msg  # the expected hash ...
    assert "got sha256" in msg  # ... and the one found


def test_incomplete_zoo_home_is_an_error(tiny_entry, tiny_files, tmp_path, monkeypatch):
    (tmp_path / "home" / TINY_NAME).mkdir(parents=True)
    (tmp_path / "home" / TINY_NAME / "model.safetensors").write_bytes(tiny_files["model.safetensors"])
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    with pytest.raises(zoo.WeightsNotFoundError, match="config.json"):
        zoo.load(TINY_NAME)


def test_weights_that_do_not_fit_the_architecture_are_refused(tiny_entry, tiny_files, monkeypatch):
    from zoo.models.unet import unet

    (hub.WEIGHTS_DIR / TINY_NAME).mkdir()
    for fn, body in tiny_files.items():
        (hub.WEIGHTS_DIR / TINY_NAME / fn).write_bytes(body)
    monkeypatch.setattr(
        tiny_entry, "model_kwargs", dict(in_channels=1, out_channels=1, base_channels=4, depth=1)
    )
    with pytest.raises(zoo.WeightsError, match="written for model_kwargs .*base_channels': 2"):
        zoo.load(TINY_NAME)  # config.json is read back and checked against the registry first


def test_tensors_that_do_not_fit_a_matching_config_are_refused(tiny_entry, tiny_files, monkeypatch, tmp_path):
    """config.json claims the registry's kwargs but the tensors are of another size: strict load refuses."""
    import json

    from zoo.hub import file_record

    wide = dict(in_channels=1, out_channels=1, base_channels=4, depth=1)
    folder = hub.WEIGHTS_DIR / TINY_NAME
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(tiny_files["model.safetensors"])  # base_channels=2 tensors
    (folder / "config.json").write_text(json.dumps({"model_kwargs": wide}))
    monkeypatch.setattr(tiny_entry, "model_kwargs", wide)
    monkeypatch.setattr(
        tiny_entry, "files", tuple(file_record(folder / fn) for fn in ("model.safetensors", "config.json"))
    )
    with pytest.raises(zoo.WeightsError, match="do not fit"):
        zoo.load(TINY_NAME)


def test_shipped_weights_verify_and_load_strictly():
    for name in zoo.list_models():
        entry = zoo.get_entry(name)
        assert entry.files, f"{name} has no files in the manifest"
        p = zoo.load(name)
        assert p.weights_source == "package"
        assert not p.model.training
