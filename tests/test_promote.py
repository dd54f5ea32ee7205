"""training.promote: a candidate run becomes the shipped weights only when it is that model's run."""

from __future__ import annotations

import json
import shutil

import pytest

from training.promote import main as promote_main
from training.promote import promote
from training.train import main as train_main
from zoo.hub import sha256_file
from zoo.registry import MANIFEST_PATH, WEIGHTS_DIR, read_manifest


@pytest.fixture()
def candidate(tmp_path):
    out = tmp_path / "cand"
    argv = ["mnist-ae2d", "--steps", "2", "--batch-size", "8", "--limit", "32"]
    assert train_main([*argv, "--run-dir", str(tmp_path / "run"), "--out-dir", str(out)]) == 0
    return out


@pytest.fixture()
def package(tmp_path):
    """A copy of the package's weights folder and manifest: the real ones are never touched."""
    weights = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, weights)
    return weights, weights / "manifest.json"


def test_promote_copies_and_records_the_hashes(candidate, package):
    weights, manifest = package
    before = read_manifest(manifest)
    promote("mnist-ae2d", candidate, weights, manifest)
    after = read_manifest(manifest)
    record = after["mnist-ae2d"]["files"]["model.safetensors"]
    assert (
        record["sha256"]
        == sha256_file(candidate / "model.safetensors")
        != (before["mnist-ae2d"]["files"]["model.safetensors"]["sha256"])
    )
    assert after["mnist-ae2d"]["revision"] == before["mnist-ae2d"]["revision"]  # Hub pin kept
    assert {k: v for k, v in after.items() if k != "mnist-ae2d"} == {
        k: v for k, v in before.items() if k != "mnist-ae2d"
    }
    assert read_manifest(MANIFEST_PATH) != after  # the real manifest is untouched


def test_promote_refuses_another_models_run_and_changes_nothing(candidate, package, capsys):
    weights, manifest = package
    before = manifest.read_text()
    with pytest.raises(ValueError, match="run of 'mnist-ae2d', not 'mnist-denoise'"):
        promote("mnist-denoise", candidate, weights, manifest)
    config = json.loads((candidate / "config.json").read_text())
    config["hidden"] = [16, 8]
    (candidate / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="differ from the registry"):
        promote("mnist-ae2d", candidate, weights, manifest)
    (candidate / "model.safetensors").unlink()
    assert promote_main(["mnist-ae2d", str(candidate)]) == 2
    assert "model.safetensors missing" in capsys.readouterr().err
    assert manifest.read_text() == before
