from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _zoo(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "zoo", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.slow
def test_list_info_verify():
    out = _zoo("list")
    assert out.returncode == 0 and "mnist-denoise" in out.stdout
    out = _zoo("info", "mnist-ae2d")
    assert out.returncode == 0 and "package" in out.stdout and "reconstruction MSE" in out.stdout
    out = _zoo("verify")
    assert out.returncode == 0 and "0 failure(s)" in out.stdout
    out = _zoo("info", "nope")
    assert out.returncode == 1 and "Known models" in out.stderr


def test_verify_fails_on_a_tampered_copy(tmp_path):
    import os

    home = tmp_path / "home" / "mnist-ae2d"
    shutil.copytree(ROOT / "zoo" / "weights" / "mnist-ae2d", home)
    data = bytearray((home / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (home / "model.safetensors").write_bytes(bytes(data))
    env = dict(os.environ, ZOO_HOME=str(tmp_path / "home"))
    out = _zoo("verify", "mnist-ae2d", env=env)
    assert out.returncode == 1 and "FAIL" in out.stdout and "ZOO_HOME" in out.stdout


def test_download_through_the_cli_against_the_local_hub(tiny_entry, hub_server, capsys):
    from zoo.__main__ import main

    assert main(["download", "tiny-denoise"]) == 0
    assert "downloaded and verified" in capsys.readouterr().out
    assert main(["download", "tiny-denoise", "--revision", "c" * 40]) == 1  # a revision the server lacks
    assert "could not download" in capsys.readouterr().err
