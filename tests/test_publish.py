"""`zoo push NAME --pin` (maintainers) round trip: upload to a Hub-compatible server on 127.0.0.1, pin, and zoo.load it back."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import zoo
from zoo.__main__ import main as cli


def publish_main(argv):
    return cli(["push", argv[0], *argv[1:], "--pin"])


from zoo import registry

from .conftest import TINY_NAME
from .hf_server import HubServer


@pytest.fixture
def shipped_tiny(tiny_entry, tiny_files, tmp_path, monkeypatch):
    """tiny-denoise as if trained here: files in a package weights dir, recorded in a manifest."""
    weights = tmp_path / "weights"
    (weights / TINY_NAME).mkdir(parents=True)
    for fn, body in tiny_files.items():
        (weights / TINY_NAME / fn).write_bytes(body)
    manifest = tmp_path / "manifest.json"
    files = {r.filename: {"sha256": r.sha256, "size": r.size} for r in tiny_entry.files}
    manifest.write_text(
        json.dumps({TINY_NAME: {"repo_id": "restoration-zoo/tiny", "revision": "main", "files": files}})
    )
    monkeypatch.setattr(registry, "WEIGHTS_DIR", weights)
    monkeypatch.setattr(registry, "MANIFEST_PATH", manifest)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    return weights / TINY_NAME, manifest


def test_publish_then_load_the_pinned_commit(shipped_tiny, tiny_entry, digit, monkeypatch, capsys):
    folder, manifest = shipped_tiny
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        assert publish_main([TINY_NAME, "--repo-id", "test-org/tiny-published"]) == 0
        record = json.loads(manifest.read_text())[TINY_NAME]
        assert record["repo_id"] == "test-org/tiny-published"
        assert re.fullmatch(r"[0-9a-f]{40}", record["revision"])  # pinned to the commit, not to "main"
        commit = server.state.commits[-1]
        assert commit["commit"] == record["revision"]
        assert commit["paths"] == ["README.md", "config.json", "model.safetensors"]
        assert (
            server.state.files[("test-org/tiny-published", commit["commit"])]["README.md"]
            == tiny_entry.card_path.read_bytes()
        )  # the card is the repo's README

        # A user's registry entry built from the new manifest record downloads exactly the published bytes.
        entry = registry.register_model(
            TINY_NAME,
            task="denoising",
            summary="tiny",
            builder=tiny_entry.builder,
            model_kwargs=tiny_entry.model_kwargs,
            pipeline_cls=tiny_entry.pipeline_cls,
            repo_id=record["repo_id"],
            revision=record["revision"],
            files=registry._files_from_manifest(record),
            card_path=tiny_entry.card_path,
        )
        p = zoo.load(TINY_NAME)  # the package weights dir of zoo.hub is empty (tiny_entry): it must download
        assert "hub" in p.weights_source.lower() or "download" in p.weights_source.lower()
        assert any(f"/resolve/{record['revision']}/model.safetensors" in r for r in server.state.requests)
        monkeypatch.setenv("ZOO_HOME", str(folder.parent))  # the local copy gives the same output
        local = zoo.load(TINY_NAME)
        assert np.array_equal(p(digit).image, local(digit).image) and entry.revision == record["revision"]


def test_publish_to_a_branch(shipped_tiny, monkeypatch):
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        assert publish_main([TINY_NAME, "--repo-id", "test-org/tiny-b", "--revision", "v1"]) == 0
        assert server.state.commits[-1]["branch"] == "v1"
        assert server.state.branches[("test-org/tiny-b", "v1")] == server.state.commits[-1]["commit"]


def test_publish_refuses_files_that_differ_from_the_manifest(shipped_tiny, monkeypatch, capsys):
    folder, manifest = shipped_tiny
    before = manifest.read_text()
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the last tensor
    (folder / "model.safetensors").write_bytes(bytes(data))
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        assert publish_main([TINY_NAME, "--repo-id", "test-org/tiny-bad"]) == 1
        assert not server.state.commits  # nothing was uploaded
    assert "does not match the manifest" in capsys.readouterr().err
    assert manifest.read_text() == before


def test_publish_unknown_model_is_an_error(capsys):
    assert publish_main(["no-such-model", "--repo-id", "a/b"]) == 1
    assert "Unknown model 'no-such-model'" in capsys.readouterr().err
