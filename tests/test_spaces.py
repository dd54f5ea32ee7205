"""The repo is a Hugging Face Space as it stands: README front matter, pinned SDK, runtime apt packages."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _front_matter() -> dict:
    text = (ROOT / "README.md").read_text()
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with the Spaces YAML front matter"
    return yaml.safe_load(match.group(1))


def test_front_matter_names_a_gradio_space_pinned_to_requirements():
    import gradio

    meta = _front_matter()
    assert meta["sdk"] == "gradio" and meta["app_file"] == "hub_app.py"
    pins = re.findall(r"^gradio==([\w.]+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert pins == [str(meta["sdk_version"])], "sdk_version must equal the gradio pin in requirements.txt"
    assert gradio.__version__ == meta["sdk_version"], "the installed gradio is not the pinned one"
    assert re.fullmatch(r"3\.\d+", str(meta["python_version"]))
    assert (ROOT / meta["app_file"]).is_file()


def test_runtime_apt_packages_are_the_ones_install_sh_installs():
    packages = [line.strip() for line in (ROOT / "packages.txt").read_text().splitlines() if line.strip()]
    assert "dataset-fashion-mnist" in packages and "chromium" not in packages  # test-only tools stay out
    assert "packages.txt" in (ROOT / "install.sh").read_text()


def test_app_serves_bundled_weights_without_a_download(monkeypatch):
    """On a Space the weights ship in the repo: every model resolves with downloads switched off."""
    import zoo
    from zoo.hub import resolve

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in zoo.list_models():
        assert resolve(zoo.get_entry(name), allow_download=False).source == "package", name
