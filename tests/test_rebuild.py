"""Lineage: every run records its chain in config.json, and `training.rebuild` replays the chain."""

from __future__ import annotations

import json

import pytest

from training import rebuild
from training import train as train_cli
from zoo.lineage import check, current_commit, sha256_of
from zoo.registry import WEIGHTS_DIR, list_models

TINY = ["--steps", "2", "--limit", "64", "--batch-size", "8"]


@pytest.fixture
def chain(tmp_path_factory):
    """Two tiny runs of mnist-ae2d: one from scratch, one fine-tuning it (per test: the data a run reads
    depends on the test's environment, $ZOO_DATA)."""
    root = tmp_path_factory.mktemp("chain")
    first, second = root / "first", root / "second"
    assert train_cli.main(["mnist-ae2d", *TINY, "--out-dir", str(first), "--run-dir", str(root / "c1")]) == 0
    argv = ["mnist-ae2d", *TINY, "--seed", "3", "--init", str(first / "model.safetensors")]
    assert train_cli.main([*argv, "--out-dir", str(second), "--run-dir", str(root / "c2")]) == 0
    return first, second


def lineage(folder):
    return json.loads((folder / "config.json").read_text())["lineage"]


def test_a_run_records_its_whole_chain(chain):
    first, second = chain
    one, two = lineage(first), lineage(second)
    assert check(two) == []
    assert one["init"] is None and one["complete"] and one["selected_on"] == "single run"
    assert len(two["command"]) == 2 and two["command"][0] == one["command"][0]
    assert two["command"][1].startswith("python -m training.train mnist-ae2d --steps 2")
    assert "--seed 3" in two["command"][1] and two["seed"] == 3 and two["steps"] == 4
    assert two["runs"][1]["init"] == sha256_of(first / "model.safetensors")
    assert two["init"] is None  # the chain started from scratch
    assert two["weights"] == sha256_of(second / "model.safetensors")
    assert two["device"] == "cpu" and "digits 5/7" in two["data"]["description"]
    assert two["commit"] == current_commit()  # this checkout's (None outside a git checkout)


def test_rebuild_replays_the_chain_bit_identically(chain, tmp_path, capsys):
    _, second = chain
    assert rebuild.main(["mnist-ae2d", "--from", str(second), "--out-dir", str(tmp_path)]) == 0
    assert "identical to the recorded" in capsys.readouterr().out
    assert sha256_of(tmp_path / "run-2" / "model.safetensors") == sha256_of(second / "model.safetensors")
    assert lineage(tmp_path / "run-2")["runs"][1]["init"] == sha256_of(
        tmp_path / "run-1" / "model.safetensors"
    )


def test_dry_run_prints_the_commands_with_their_own_folders(chain, tmp_path, capsys):
    _, second = chain
    assert rebuild.main(["mnist-ae2d", "--from", str(second), "--out-dir", str(tmp_path), "--dry-run"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and f"--init {tmp_path}/run-1/model.safetensors" in printed[1]
    assert not (tmp_path / "run-1").exists()


def test_a_chain_with_unrecorded_runs_is_refused_with_the_reason(tmp_path, capsys):
    folder = tmp_path / "legacy"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"name": "mnist-ae2d"}))
    assert rebuild.main(["mnist-ae2d", "--from", str(folder)]) == 2
    assert "records no lineage" in capsys.readouterr().err


@pytest.mark.parametrize("name", list_models())
def test_every_shipped_config_has_a_whole_lineage(name):
    config = json.loads((WEIGHTS_DIR / name / "config.json").read_text())
    assert check(config.get("lineage")) == [], name
    assert config["lineage"]["weights"] == sha256_of(WEIGHTS_DIR / name / "model.safetensors"), name


@pytest.mark.parametrize("name", list_models())
def test_rebuild_of_a_shipped_model_replays_or_says_why_not(name, tmp_path, capsys):
    code = rebuild.main([name, "--out-dir", str(tmp_path), "--dry-run"])
    complete = json.loads((WEIGHTS_DIR / name / "config.json").read_text())["lineage"]["complete"]
    assert code == (0 if complete else 2), name
    if not complete:
        assert "cannot be replayed" in capsys.readouterr().err


def test_a_clocked_run_is_replayed_by_the_steps_it_reached_and_says_so(tmp_path, capsys):
    run = {
        "command": "python -m training.train cifar10-blocks --minutes 50 --ema 0.999 --out-dir x",
        "init": None,
        "minutes": 50.0,
        "steps": 3263,
    }
    ((_, argv),) = rebuild.replay_plan([run], tmp_path, [])
    assert "--minutes" not in argv and argv[argv.index("--steps") + 1] == "3263" and "--ema" in argv
    folder = tmp_path / "clocked"
    folder.mkdir()
    lineage = {"runs": [run], "weights": "0" * 64}
    (folder / "config.json").write_text(json.dumps({"name": "cifar10-blocks", "lineage": lineage}))
    assert (
        rebuild.main(["cifar10-blocks", "--from", str(folder), "--out-dir", str(tmp_path), "--dry-run"]) == 0
    )
    assert "not the same bits" in capsys.readouterr().out
