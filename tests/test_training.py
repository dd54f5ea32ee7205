"""Training: a few steps on tiny data, resume equals an uninterrupted run, two-process DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.hub import init_kwargs
import torch
from safetensors.torch import load_file, save_file

from training.train import main as train_main

ROOT = Path(__file__).resolve().parents[1]


def _train(tmp_path, run, out, *extra):
    return train_main(
        [
            "mnist-ae2d",
            "--steps",
            "4",
            "--batch-size",
            "8",
            "--limit",
            "64",
            "--ckpt-every",
            "2",
            "--run-dir",
            str(tmp_path / run),
            "--out-dir",
            str(tmp_path / out),
            *extra,
        ]
    )


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    assert _train(tmp_path, "straight", "a") == 0
    assert _train(tmp_path, "resumed", "b", "--stop-at", "2") == 0  # interrupted at step 2: no export
    assert not (tmp_path / "b").exists()
    assert _train(tmp_path, "resumed", "c") == 0  # continues from the step-2 checkpoint
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    c = load_file(str(tmp_path / "c" / "model.safetensors"))
    assert all((a[k] == c[k]).all() for k in a)
    fresh = _train(tmp_path, "resumed", "d", "--fresh", "--seed", "1")
    d = load_file(str(tmp_path / "d" / "model.safetensors"))
    assert fresh == 0 and not all((a[k] == d[k]).all() for k in a)  # the comparison can fail
    assert (tmp_path / "a" / "config.json").is_file()


def test_ema_is_exported_and_survives_a_resume(tmp_path):
    assert _train(tmp_path, "plain", "plain") == 0
    assert _train(tmp_path, "ema", "ema", "--ema", "0.5") == 0
    assert _train(tmp_path, "ema-resumed", "x", "--ema", "0.5", "--stop-at", "2") == 0
    assert _train(tmp_path, "ema-resumed", "ema-resumed", "--ema", "0.5") == 0
    plain, ema, resumed = (
        load_file(str(tmp_path / d / "model.safetensors")) for d in ("plain", "ema", "ema-resumed")
    )
    assert all((ema[k] == resumed[k]).all() for k in ema)  # the average is checkpointed with the run
    assert json.loads((tmp_path / "ema" / "config.json").read_text())["training"]["ema"] == 0.5
    assert "ema" not in json.loads((tmp_path / "plain" / "config.json").read_text())["training"]
    weights = [k for k in ema if k.endswith("weight")]
    assert any(
        not torch.equal(ema[k], plain[k]) for k in weights
    )  # the export is the average, not the last step


def test_unknown_model_and_option_are_errors(tmp_path, capsys):
    assert train_main(["no-such-model"]) == 2
    assert "mnist-denoise" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name,extra",
    [
        ("mnist-ae2d", []),
        ("nca-fmnist", ["--classifier-steps", "2", "--sync-steps", "2", "--finetune-steps", "2"]),
    ],
)
@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path, name, extra):
    env = dict(os.environ, ZOO_DDP_BACKEND="gloo", OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--standalone",
        "-m",
        "training.train",
        name,
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--limit",
        "32",
        "--run-dir",
        str(tmp_path / "runs"),
        "--out-dir",
        str(tmp_path / "out"),
        *extra,
    ]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "out" / "model.safetensors").is_file()
    assert "trained 3 steps" in out.stdout + out.stderr


def test_init_starts_from_given_weights_and_records_them(tmp_path):
    assert _train(tmp_path, "first", "a") == 0
    start = tmp_path / "a" / "model.safetensors"
    assert _train(tmp_path, "second", "b", "--init", str(start), "--lr", "1e-9") == 0
    a, b = load_file(str(start)), load_file(str(tmp_path / "b" / "model.safetensors"))
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)  # a 1e-9 learning rate barely moves them
    assert _train(tmp_path, "third", "c", "--lr", "1e-9") == 0  # without --init: a random start
    c = load_file(str(tmp_path / "c" / "model.safetensors"))
    assert not all(torch.allclose(a[k], c[k], atol=1e-6) for k in a)
    from zoo.hub import sha256_file

    recorded = json.loads((tmp_path / "b" / "config.json").read_text())["init"]
    assert recorded == {"file": "model.safetensors", "sha256": sha256_file(start)}


def test_init_with_wrong_or_missing_weights_is_a_clear_error(tmp_path):
    wrong = tmp_path / "wrong.safetensors"
    save_file({"w": torch.zeros(3)}, str(wrong))
    with pytest.raises(ValueError, match="do not fit mnist-ae2d"):
        _train(tmp_path, "w", "w", "--init", str(wrong))
    with pytest.raises(FileNotFoundError, match="no such file"):
        _train(tmp_path, "m", "m", "--init", str(tmp_path / "missing.safetensors"))


def test_init_new_lets_only_the_named_modules_be_missing(tmp_path):
    from training.common import load_init_weights
    from zoo.models.unet import UNet

    trained = UNet(in_channels=2)  # (B, 2, 28, 28) -> (B, 1, 28, 28)
    for p in trained.parameters():
        torch.nn.init.normal_(p, std=0.05)
    state = tmp_path / "trained.safetensors"
    save_file(trained.state_dict(), str(state))
    partial = tmp_path / "partial.safetensors"
    save_file({k: v for k, v in trained.state_dict().items() if not k.startswith("head")}, str(partial))
    grown = UNet(in_channels=2, context=32)
    with pytest.raises(ValueError, match="do not fit"):  # strict by default
        load_init_weights(grown, str(state), "mnist-masked", verbose=False)
    load_init_weights(grown, str(state), "mnist-masked", verbose=False, new="context")
    x = torch.rand(2, 2, 28, 28)
    assert torch.equal(grown(x), trained(x))  # the added block starts as the identity
    fresh = UNet(in_channels=2, context=32)
    with pytest.raises(ValueError, match="no module of that name"):
        load_init_weights(fresh, str(state), "mnist-masked", verbose=False, new="ctx")
    with pytest.raises(ValueError, match="do not fit"):  # a missing key outside the prefixes
        load_init_weights(fresh, str(partial), "mnist-masked", verbose=False, new="context")


def test_model_kwargs_are_parsed_as_json_values_and_bad_pairs_are_refused():
    from training.common import parse_model_kwargs

    assert parse_model_kwargs(["blocks=6", "hidden=[512, 64]", "act=relu", "on=true"]) == {
        "blocks": 6,
        "hidden": [512, 64],
        "act": "relu",
        "on": True,
    }
    with pytest.raises(SystemExit, match="expected KEY=VALUE, got 'blocks'"):
        parse_model_kwargs(["blocks"])


def test_model_kwargs_build_the_run_network_and_are_recorded(tmp_path):
    assert _train(tmp_path, "r", "o", "--model-kwargs", "hidden=[64,16]") == 0
    config = json.loads((tmp_path / "o" / "config.json").read_text())
    assert init_kwargs(config)["hidden"] == [64, 16]
    assert load_file(str(tmp_path / "o" / "model.safetensors"))["encoder.0.weight"].shape == (64, 784)
