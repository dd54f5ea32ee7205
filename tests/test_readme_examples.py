"""The README's Python examples and its "library alone" commands, run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import write_idx
from .hf_server import HubServer

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def example_files(folder: Path) -> dict[str, str]:
    """digit.png and photo.jpg where the examples read them, and a tiny MNIST ($ZOO_MNIST) for the
    exemplar bank, so the examples need no fetched data."""
    import zoo

    digits, labels = zoo.data.load_mnist("test")
    Image.fromarray((digits[0] * 255).astype(np.uint8)).save(folder / "digit.png")
    photo = next(iter(zoo.data.natural_photos().values()))
    Image.fromarray((photo[:200, :240] * 255).astype(np.uint8)).save(folder / "photo.jpg")
    mnist = folder / "mnist"
    mnist.mkdir()
    write_idx(mnist / "train-images-idx3-ubyte", (digits[:200] * 255).round())
    write_idx(mnist / "train-labels-idx1-ubyte", labels[:200])
    return {"ZOO_MNIST": str(mnist)}


@pytest.mark.slow
def test_the_python_examples_run_as_written(tmp_path):
    code = blocks(section("Python"), "python")
    assert len(code) >= 2 and "push_to_hub" in code[1] and "hf-hub:" in code[1]
    env = {**os.environ, **example_files(tmp_path), "HF_TOKEN": "hf_test_token", "PYTHONPATH": str(ROOT)}
    with HubServer() as server:
        env["HF_ENDPOINT"] = server.url
        for i, block in enumerate(code):
            run = subprocess.run(
                [sys.executable, "-c", block],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, f"README Python block {i + 1} failed:\n{block}\n{run.stderr[-2000:]}"
        assert server.state.commits, "the push_to_hub example reached the Hub"
    assert (tmp_path / "my-denoiser" / "config.json").is_file()


@pytest.mark.slow
def test_the_library_alone_section_in_a_fresh_virtual_environment(tmp_path):
    """A fresh venv gets `pip install .` (dependencies taken from this environment instead of PyPI, so
    the test runs offline), then the section's commands run from outside the checkout."""
    commands = [
        line.split("#")[0].strip()
        for block in blocks(section("Installing the library alone"), "bash")
        for line in block.splitlines()
        if line.strip()
    ]
    venv = tmp_path / "venv"
    # --without-pip: pip and setuptools (the build backend) come from this environment too (deps.pth)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch & co, not from PyPI
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    work = tmp_path / "elsewhere"
    work.mkdir()
    for command in commands:
        if command.startswith("zoo data fetch"):
            continue  # needs the network; tests/test_fetch.py runs the fetcher with fake clients
        if command.startswith("pip install"):
            extra = re.search(r'"\.(\[\w+\])"', command)
            command = f"python -m pip install -q --no-deps --no-build-isolation {ROOT}{extra.group(1) if extra else ''}"
        run = subprocess.run(
            command, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        assert run.returncode == 0, f"{command}\n{run.stdout[-1500:]}\n{run.stderr[-1500:]}"
        if command.startswith("zoo list"):
            assert "mnist-denoise" in run.stdout
    installed = subprocess.run(
        ["python", "-c", "import zoo; print(zoo.__file__, zoo.__version__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(venv) in installed and "0." in installed  # the installed package, not the checkout
    # The README's open-zoo example (folder, push_to_hub, hf-hub:, tensors) with the installed package.
    example = blocks(section("Python"), "python")[1]
    with HubServer() as server:
        env.update(HF_ENDPOINT=server.url, HF_TOKEN="hf_test_token")
        run = subprocess.run(["python", "-c", example], cwd=work, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr[-2000:]
        assert "hf-hub:me/my-denoiser@" in run.stdout and server.state.commits


def test_the_gradio_client_example_runs_against_a_hub_without_fetched_data(monkeypatch, tmp_path):
    """The README's client call, as written (only the port differs), against a hub started with an empty
    $ZOO_DATA: its example names must exist without the full MNIST."""
    import hub_app

    monkeypatch.setenv("ZOO_DATA", str(tmp_path / "empty"))
    (example,) = [b for b in blocks(README.split("## Python", 1)[0], "python") if "gradio_client" in b]
    _, url, _ = hub_app.launch(server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        code = example.replace("http://127.0.0.1:7860", url.rstrip("/")) + "\nprint(len(gallery), picker)\n"
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
    finally:
        hub_app.demo.close()
