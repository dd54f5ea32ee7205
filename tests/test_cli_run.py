"""`zoo run`: folders mirrored, bad files skipped and reported, 16-bit kept, resume, masks, JSON summary."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest
from PIL import Image

import zoo
from training.hostile_probes import whole_png as _valid_png
from zoo.__main__ import main as cli


@pytest.fixture()
def inputs(tmp_path, digit):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    Image.fromarray((digit * 255).astype(np.uint8)).save(root / "a.png")
    Image.fromarray((digit[::-1] * 255).astype(np.uint8)).save(root / "sub" / "b.jpg")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


def run(capsys, *args) -> tuple[int, dict]:
    code = cli(["run", *args, "--json", "--quiet"])
    return code, json.loads(capsys.readouterr().out)


def test_folder_is_mirrored_bad_files_reported_and_outputs_match_the_api(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    code, summary = run(capsys, "mnist-denoise", str(inputs), "--recursive", "--out", str(out))
    assert code == 1  # one file failed
    assert [f["input"] for f in summary["failed"]] == [str(inputs / "broken.png")]
    assert "not an image file" in summary["failed"][0]["error"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["a.png", "sub/b.png"]
    want = zoo.load("mnist-denoise")(inputs / "sub" / "b.jpg").image
    got = np.asarray(Image.open(out / "sub" / "b.png"), dtype=np.float32) / 255
    assert np.abs(got - want).max() <= 0.5 / 255 + 1e-6
    code, summary = run(capsys, "mnist-denoise", str(inputs), "--out", str(out / "flat"))
    assert [p.name for p in (out / "flat").rglob("*.png")] == ["a.png"]  # no --recursive: top level only


def test_skip_existing_resumes_and_leaves_finished_outputs_alone(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"finished earlier")
    code, summary = run(
        capsys,
        "mnist-denoise",
        str(inputs / "a.png"),
        str(inputs / "sub" / "b.jpg"),
        "--out",
        str(out),
        "--skip-existing",
    )
    assert code == 0 and summary["skipped"] == [str(inputs / "a.png")]
    assert (out / "a.png").read_bytes() == b"finished earlier" and (out / "b.png").is_file()


def test_sixteen_bit_colour_in_gives_sixteen_bit_out_at_full_size(tmp_path, capsys):
    rng = np.random.default_rng(0)
    src = tmp_path / "deep.png"
    cv2.imwrite(str(src), rng.integers(0, 65536, (40, 48, 3), dtype=np.uint16))
    code, _ = run(
        capsys,
        "cifar10-blocks",
        str(src),
        "--corrupt",
        "--damage",
        "n_blocks=10",
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 0
    restored = cv2.imread(str(tmp_path / "out" / "deep.png"), cv2.IMREAD_UNCHANGED)
    assert restored.dtype == np.uint16 and restored.shape == (40, 48, 3)
    assert (tmp_path / "out" / "deep.damaged.png").is_file()
    code, _ = run(capsys, "mnist-denoise", str(src), "--out", str(tmp_path / "grey"))
    assert Image.open(tmp_path / "grey" / "deep.png").mode == "L"  # 28x28 out: not the input's size, 8-bit


def test_masked_task_takes_a_mask_file_and_reports_a_wrong_size(inputs, tmp_path, capsys, digit):
    mask = np.zeros((28, 28), bool)
    mask[:, 10:16] = True
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    code, summary = run(
        capsys,
        "mnist-masked",
        str(inputs / "a.png"),
        "--mask",
        str(tmp_path / "mask.png"),
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 0
    want = zoo.load("mnist-masked")(inputs / "a.png", mask=mask).image
    got = np.asarray(Image.open(tmp_path / "out" / "a.png"), dtype=np.float32) / 255
    assert np.abs(got - want).max() <= 0.5 / 255 + 1e-6
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "small.png")
    code, summary = run(
        capsys,
        "mnist-masked",
        str(inputs / "a.png"),
        "--mask",
        str(tmp_path / "small.png"),
        "--out",
        str(tmp_path / "out2"),
    )
    assert code == 1 and "mask has shape (20, 20)" in summary["failed"][0]["error"]
    assert cli(["run", "mnist-masked", str(inputs / "a.png"), "--out", str(tmp_path / "o3")]) == 1
    assert "--mask FILE" in capsys.readouterr().err


def test_classifier_labels_in_the_summary_and_bad_options_are_clear(inputs, tmp_path, capsys):
    code, summary = run(
        capsys,
        "nca-fmnist",
        str(inputs / "a.png"),
        "--corrupt",
        "--damage",
        "mask_ratio=0.5",
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 0 and summary["ok"][0]["label_name"] in zoo.load("nca-fmnist").class_names
    assert (
        cli(["run", "nca-fmnist", str(inputs), "--corrupt", "--damage", "nope=1", "--out", str(tmp_path)])
        == 1
    )
    assert "KEY one of mask_ratio" in capsys.readouterr().err
    code, summary = run(capsys, "mnist-denoise", str(tmp_path / "missing*.png"), "--out", str(tmp_path / "o"))
    assert code == 1 and "no image file" in summary["failed"][0]["error"]


# ------------------------------------------------------------------ files are never lost or half-written


def test_a_non_utf8_name_on_a_sixteen_bit_colour_png_is_restored(tmp_path, capsys):
    """It segfaulted in cv2.imread before: now every file is decoded from its bytes in zoo.decode."""
    import os

    src = tmp_path / "in"
    src.mkdir()
    deep = np.random.default_rng(0).integers(0, 65535, (40, 48, 3), dtype=np.uint16)
    name = os.fsdecode(b"caf\xe9_16bit.png")
    ok, buf = cv2.imencode(".png", deep)
    (src / name).write_bytes(buf.tobytes())
    Image.new("RGB", (40, 48)).save(src / "plain.png")
    code, summary = run(capsys, "feature-recon-s16", str(src), "--out", str(tmp_path / "out"))
    assert code == 0 and len(summary["ok"]) == 2


def test_out_onto_the_inputs_is_refused_before_anything_runs(inputs, capsys):
    before = {p: p.read_bytes() for p in inputs.rglob("*") if p.is_file()}
    for out in (inputs, inputs / "sub"):
        assert (
            cli(
                ["run", "mnist-denoise", str(inputs / "a.png"), str(inputs / "sub" / "b.jpg"), str(out)]
                + ["--out", str(out), "--quiet"]
            )
            == 1
        )
        assert "input" in capsys.readouterr().err
    assert cli(["run", "mnist-denoise", str(inputs / "a.png"), "--out", str(inputs), "--quiet"]) == 1
    assert "over an input file" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in inputs.rglob("*") if p.is_file()} == before


def test_write_failures_are_reported_and_a_full_disk_stops_with_a_summary(
    inputs, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "out"
    (out / "a.png").mkdir(parents=True)  # a folder where an output should go
    code, summary = run(
        capsys, "mnist-denoise", str(inputs / "a.png"), str(inputs / "sub" / "b.jpg"), "--out", str(out)
    )
    assert code == 1 and [f["error"] for f in summary["failed"]] == [
        f"cannot write {out / 'a.png'}: a folder of that name is in the way"
    ]
    assert _valid_png(out / "b.png")

    import errno

    from zoo import cli_run

    def full(data, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cli_run, "write_atomic", full)
    code, summary = run(capsys, "mnist-denoise", str(inputs), "--recursive", "--out", str(tmp_path / "o2"))
    assert code == 1 and "no space left" in summary["stopped"]
    assert (
        len(summary["failed"]) == 2 and summary["not_done"] == 1
    )  # broken.png failed to decode, then the disk


def test_a_read_only_output_folder_is_a_reported_failure(inputs, tmp_path, capsys, monkeypatch):
    from zoo import cli_run

    def read_only(data, path):  # what a read-only folder gives a user who is not root
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cli_run, "write_atomic", read_only)
    code, summary = run(capsys, "mnist-denoise", str(inputs / "a.png"), "--out", str(tmp_path / "ro"))
    assert code == 1 and "permission denied" in summary["failed"][0]["error"]


def test_a_symlink_loop_does_not_repeat_files(inputs, tmp_path, capsys):
    (inputs / "sub" / "loop").symlink_to(inputs, target_is_directory=True)
    code, summary = run(
        capsys, "mnist-denoise", str(inputs / "**" / "*.png"), "--recursive", "--out", str(tmp_path / "o")
    )
    inputs_seen = sorted(f["input"] for f in summary["ok"] + summary["failed"])
    assert len(inputs_seen) == 2  # a.png and broken.png, each once
    code, summary = run(capsys, "mnist-denoise", str(inputs), "--recursive", "--out", str(tmp_path / "o2"))
    assert len(summary["ok"]) + len(summary["failed"]) == 3  # a.png, sub/b.jpg, broken.png


@pytest.mark.slow
def test_killed_mid_write_then_skip_existing_leaves_no_broken_output():
    """kill -9 at random moments of a run (the reliability report's probe, 3 kills instead of 100): every
    file at an output path is a whole PNG, and --skip-existing then finishes the folder."""
    from training.hostile_probes import kill_during_run

    result = kill_during_run(kills=3, images=200, delay=(5.0, 8.0))  # (start-up takes 3-5 s)
    assert result["broken"] == 0 and result["finished_after"], result
    assert result["outputs_checked"] > 0  # the kills landed while outputs were being written
