"""training.soup: the mean of runs from one start, refused for runs that do not share it."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from training.soup import main as soup_main
from training.soup import soup
from training.train import main as train_main
from zoo.hub import sha256_file
from zoo.registry import WEIGHTS_DIR

SHIPPED = WEIGHTS_DIR / "mnist-ae2d" / "model.safetensors"


def run(tmp_path, tag: str, seed: int, init: bool = True):
    out = tmp_path / tag
    argv = ["mnist-ae2d", "--steps", "2", "--batch-size", "8", "--limit", "32", "--seed", str(seed)]
    argv += ["--init", str(SHIPPED)] if init else []
    assert train_main([*argv, "--run-dir", str(tmp_path / f"run-{tag}"), "--out-dir", str(out)]) == 0
    return out


def test_soup_is_the_mean_and_records_its_ingredients(tmp_path):
    a, b = run(tmp_path, "a", 1), run(tmp_path, "b", 2)
    out = soup("mnist-ae2d", tmp_path / "soup", [a, b])
    sa, sb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    mixed = load_file(str(out / "model.safetensors"))
    assert mixed.keys() == sa.keys()
    differing = [k for k in sa if sa[k].is_floating_point() and not torch.equal(sa[k], sb[k])]
    assert differing  # the two seeds trained apart, so the mean is not either of them
    for k in sa:
        expected = (sa[k].double() + sb[k].double()) / 2 if sa[k].is_floating_point() else sa[k]
        torch.testing.assert_close(mixed[k], expected.to(sa[k].dtype))
    config = json.loads((out / "config.json").read_text())
    assert [i["sha256"] for i in config["soup"]["ingredients"]] == [
        sha256_file(a / "model.safetensors"),
        sha256_file(b / "model.safetensors"),
    ]
    assert [i["training"]["seed"] for i in config["soup"]["ingredients"]] == [1, 2]
    assert config["name"] == "mnist-ae2d" and config["init"]["sha256"] == sha256_file(SHIPPED)


def test_soup_refuses_runs_from_different_starts_and_writes_nothing(tmp_path, capsys):
    a, scratch = run(tmp_path, "a", 1), run(tmp_path, "scratch", 2, init=False)
    with pytest.raises(ValueError, match="different weights"):
        soup("mnist-ae2d", tmp_path / "soup", [a, scratch])
    assert not (tmp_path / "soup").exists()
    with pytest.raises(ValueError, match="must be a fine-tune"):
        soup("mnist-ae2d", tmp_path / "soup", [scratch, scratch])
    assert not (tmp_path / "soup").exists()
    assert soup_main(["mnist-ae2d", str(tmp_path / "soup"), str(a)]) == 2
    assert "at least two" in capsys.readouterr().err
    with pytest.raises(ValueError, match="run of 'mnist-ae2d', not 'mnist-denoise'"):
        soup("mnist-denoise", tmp_path / "soup", [a, a])
