"""`zoo run --engine ray`: on a local Ray cluster the tests start, the same outputs byte for byte as the
local engine (a grey and a colour model), bad files reported with a non-zero exit, --skip-existing after
an interrupted run, and clear errors when Ray is missing or an address does not answer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.__main__ import main as cli

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    yield
    ray.shutdown()


@pytest.fixture()
def folder(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(21):  # two chunks of 16 and 5, and two sizes inside a chunk
        side = 48 if i % 7 else 64
        Image.fromarray(rng.integers(0, 255, (side, side + 8, 3), dtype=np.uint8)).save(
            src / "sub" / f"{i:02d}.png"
        )
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return src


def run(capsys, *args) -> tuple[int, dict]:
    code = cli(["run", *args, "--json", "--quiet"])
    return code, json.loads(capsys.readouterr().out)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


@pytest.mark.parametrize("name", ["mnist-denoise", "feature-recon-s16"])  # grey and colour
def test_ray_writes_the_local_engines_bytes_and_reports_bad_files(cluster, folder, tmp_path, capsys, name):
    local, remote = tmp_path / "local", tmp_path / "ray"
    code_local, summary_local = run(capsys, name, str(folder), "--recursive", "--out", str(local))
    code_ray, summary_ray = run(
        capsys, name, str(folder), "--recursive", "--out", str(remote), "--engine", "ray"
    )
    assert code_local == code_ray == 1  # broken.png
    assert [f["input"] for f in summary_ray["failed"]] == [str(folder / "broken.png")]
    assert len(summary_ray["ok"]) == len(summary_local["ok"]) == 21
    assert tree(remote) == tree(local)


def test_skip_existing_after_an_interrupted_run(cluster, folder, tmp_path, capsys):
    out = tmp_path / "out"
    run(capsys, "feature-recon-s16", str(folder / "sub"), "--out", str(out), "--engine", "ray")
    whole = tree(out)
    for name in list(whole)[:8]:  # as if the run had been killed before these were written
        (out / name).unlink()
    (out / ".10.png.zoo-partial-123").write_bytes(b"cut short")  # what a killed write leaves
    code, summary = run(
        capsys,
        "feature-recon-s16",
        str(folder / "sub"),
        "--out",
        str(out),
        "--engine",
        "ray",
        "--skip-existing",
    )
    assert code == 0 and len(summary["skipped"]) == 13 and len(summary["ok"]) == 8
    assert tree(out) == whole


def test_a_missing_ray_or_a_silent_address_is_a_clear_error(folder, tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    assert cli(["run", "mnist-denoise", str(folder), "--out", str(tmp_path / "o"), "--engine", "ray"]) == 1
    assert "pip install 'restoration-zoo[ray]'" in capsys.readouterr().err
    monkeypatch.setattr(builtins, "__import__", real_import)
    if ray.is_initialized():
        ray.shutdown()
    start = time.perf_counter()
    args = ["run", "mnist-denoise", str(folder), "--out", str(tmp_path / "o"), "--engine", "ray"]
    assert cli([*args, "--address", "127.0.0.1:9", "--quiet"]) == 1
    assert "no Ray cluster answers at 127.0.0.1:9" in capsys.readouterr().err
    import socket

    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("RAY_ADDRESS", address)
        assert cli([*args, "--quiet"]) == 1
    assert f"no Ray cluster answers at {address}: it accepts connections but gave no gRPC answer" in (
        capsys.readouterr().err
    )
    assert time.perf_counter() - start < 30  # ray.init alone would wait without end
    assert not any(Path(tmp_path / "o").rglob("*.png"))
