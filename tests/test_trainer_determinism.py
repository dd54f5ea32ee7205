"""One trainer per model, the same code on any device: on the CPU a short run with a fixed seed repeats
bit for bit, and a run interrupted with --stop-at resumes to the very same weights."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from PIL import Image

from training.train import main as train_main
from zoo.lineage import sha256_of


def photo_folder(root):
    folder = root / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):  # a tenth held out for validation, a tenth for test
        Image.fromarray(rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)).save(folder / f"p{i}.png")
    return folder


def cifar_folder(root):
    folder = root / "cifar"
    folder.mkdir()
    rng = np.random.default_rng(0)
    batch = {b"data": rng.integers(0, 256, (40, 3072), dtype=np.uint8), b"labels": list(range(40))}
    (folder / "data_batch_1").write_bytes(pickle.dumps(batch))
    return folder


RUNS = {  # name: (options beyond steps/seed/folders, the data a run needs)
    "mnist-masked": (["--batch-size", "8", "--limit", "64"], None),
    "mnist-denoise": (["--batch-size", "8", "--limit", "64", "--ssim-weight", "0.03", "--rotate", "4"], None),
    "feature-recon-s16": (
        ["--batch-size", "2", "--crop", "64", "--pool", "8", "--refresh-every", "1"],
        photo_folder,
    ),
    "cifar10-blocks": (["--batch-size", "4"], cifar_folder),
    "nca-fmnist": (
        [
            "--batch-size",
            "4",
            "--limit",
            "64",
            "--classifier-steps",
            "4",
            "--sync-steps",
            "0",
            "--finetune-steps",
            "0",
            "--phases",
            "classifier,nca",
        ],
        None,
    ),
}


def run(tmp_path, name, tag, *extra):
    options, make_data = RUNS[name]
    data = []
    if make_data is not None:
        folder = tmp_path / "data"
        if not folder.exists():
            folder.mkdir()
            make_data(folder)
        data = ["--data", str(next(folder.iterdir()))]
    argv = [name, "--steps", "4", "--ckpt-every", "2", *options, *data]
    argv += ["--run-dir", str(tmp_path / f"run-{tag}"), "--out-dir", str(tmp_path / tag), *extra]
    return train_main(argv)


SLOW = {"nca-fmnist", "cifar10-blocks"}  # 10-25 s each: in the full run, not the quick set


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(RUNS)]
)
def test_a_run_repeats_and_resumes_bit_for_bit(tmp_path, name):
    if name == "nca-fmnist":
        pytest.importorskip("zoo.data").fashion_mnist_dir()  # Debian's dataset-fashion-mnist (CI installs it)
    assert run(tmp_path, name, "a") == 0
    assert run(tmp_path, name, "b") == 0  # the same command again
    assert sha256_of(tmp_path / "a" / "model.safetensors") == sha256_of(tmp_path / "b" / "model.safetensors")
    assert run(tmp_path, name, "c", "--stop-at", "2") == 0  # interrupted: nothing exported
    assert not (tmp_path / "c").exists()
    assert run(tmp_path, name, "c") == 0  # the same command resumes from the step-2 checkpoint
    assert sha256_of(tmp_path / "c" / "model.safetensors") == sha256_of(tmp_path / "a" / "model.safetensors")
    assert run(tmp_path, name, "d", "--seed", "1") == 0  # the comparison can fail
    assert sha256_of(tmp_path / "d" / "model.safetensors") != sha256_of(tmp_path / "a" / "model.safetensors")
    record = json.loads((tmp_path / "a" / "record.json").read_text())
    if name != "nca-fmnist":  # (its record holds one per phase, and the pipeline's figures at the end)
        assert record["steps"] == 4 and [v["step"] for v in record["validation"]] == [2, 4]
    resumed = json.loads((tmp_path / "c" / "record.json").read_text())
    assert resumed["validation"] == record["validation"]  # the figures survive the interruption too


def test_a_clocked_run_records_the_steps_it_reached(tmp_path):
    assert run(tmp_path, "mnist-masked", "clock", "--minutes", "0.02") == 0
    config = json.loads((tmp_path / "clock" / "config.json").read_text())
    reached = config["training"]["steps"]
    assert reached >= 1 and config["lineage"]["runs"][-1]["minutes"] == 0.02
    assert config["lineage"]["runs"][-1]["steps"] == reached  # `--steps <reached>` repeats it without a clock
