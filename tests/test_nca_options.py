"""The automaton's optional blocks (deep perception, mask-ratio embedding): they start as no-ops on a
trained automaton, then do what they are for; the trainer adds them to shipped weights with --init-new."""

from __future__ import annotations

import json

import pytest

from zoo.hub import init_kwargs
import torch
from safetensors.torch import load_file

import zoo
from zoo.models.nca import NCA

SHIPPED = zoo.registry.WEIGHTS_DIR / "nca-fmnist" / "model.safetensors"


def _automaton(state: dict, **options) -> NCA:
    nca = NCA(16, 64, **options).eval()
    missing, unexpected = nca.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith(("perceive2.", "ratio.")) for k in missing)
    return nca


def test_added_blocks_leave_a_trained_automaton_unchanged():
    shipped = {k[4:]: v for k, v in load_file(str(SHIPPED)).items() if k.startswith("nca.")}
    before = {k: v for k, v in shipped.items() if not k.startswith("perceive2.")}  # before it grew
    torch.manual_seed(0)
    x = torch.rand(4, 1, 28, 28)
    known = (torch.rand_like(x) > 0.7).float()
    plain = _automaton(before)(x * known, known)
    grown = _automaton(before, deep_perception=True, ratio_embedding=True)(x * known, known)
    assert torch.equal(plain, grown)
    as_shipped = _automaton(shipped, deep_perception=True)(x * known, known)
    with_ratio = _automaton(shipped, deep_perception=True, ratio_embedding=True)(x * known, known)
    assert torch.equal(as_shipped, with_ratio)
    assert not torch.equal(plain, as_shipped)  # the shipped second perception conv is trained, not zero


def test_deep_perception_sees_two_pixels_away_in_one_step():
    torch.manual_seed(0)
    known = torch.zeros(1, 1, 28, 28)  # every pixel missing: the state is free to move
    moved = {}
    for deep in (False, True):
        nca = NCA(16, 64, deep_perception=deep).eval()
        for p in nca.parameters():  # as after training: no zero-initialised layer left
            torch.nn.init.normal_(p, std=0.3)
        a = torch.zeros(1, 16, 28, 28)
        b = a.clone()
        b[0, 3, 10, 10] = 1.0  # one hidden value of one cell
        with torch.no_grad():
            diff = (nca.step(b, a[:, :1], known) - nca.step(a, a[:, :1], known))[0, 0]
        moved[deep] = diff[10, 12].abs().item()  # the image value two cells to the right
    assert moved[False] == 0 and moved[True] > 1e-4


def test_ratio_embedding_makes_the_update_depend_on_how_much_is_missing():
    torch.manual_seed(0)
    nca = NCA(16, 64, ratio_embedding=True).eval()
    for p in nca.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.rand(1, 1, 28, 28)
    sparse, dense = torch.ones_like(x), torch.ones_like(x)
    sparse[..., 14, 14] = 0  # one pixel missing
    dense[..., :, :20] = 0  # 71% missing, pixel (14, 14) among them and its 3x3 view the same as above
    dense[..., 13:16, 13:16] = sparse[..., 13:16, 13:16]
    with torch.no_grad():
        a = nca(x * sparse, sparse, steps=1)[0, 0, 14, 14]
        b = nca(x * dense, dense, steps=1)[0, 0, 14, 14]
    assert (a - b).abs().item() > 1e-4
    nca.ratio = None  # without the embedding the same cell, seeing the same 3x3, updates the same way
    with torch.no_grad():
        a, b = (nca(x * m, m, steps=1)[0, 0, 14, 14] for m in (sparse, dense))
    assert torch.equal(a, b)


def test_trainer_grows_the_shipped_automaton_with_init_new(tmp_path, monkeypatch):
    from training.train import main as train_main

    monkeypatch.setitem(zoo.registry.get_entry("nca-fmnist").model_kwargs, "ratio_embedding", True)
    out = tmp_path / "out"
    args = ["nca-fmnist", "--init", str(SHIPPED), "--phases", "nca-sync", "--sync-steps", "2"]
    args += ["--finetune-steps", "0", "--limit", "64", "--run-dir", str(tmp_path / "run")]
    args += ["--out-dir", str(out)]
    with pytest.raises(ValueError, match="do not fit"):  # the shipped file lacks nca.ratio.*
        train_main(args)
    assert train_main([*args, "--init-new", "nca.ratio", "--run-dir", str(tmp_path / "run2")]) == 0
    config = json.loads((out / "config.json").read_text())
    assert init_kwargs(config)["ratio_embedding"] is True and config["init"]["new_modules"] == "nca.ratio"
    trained = load_file(str(out / "model.safetensors"))
    assert trained["nca.ratio.weight"].abs().max() > 0  # two steps moved the block off zero
    shipped = load_file(str(SHIPPED))
    classifier = [k for k in shipped if k.startswith("classifier.")]
    assert classifier and all(torch.equal(trained[k], shipped[k]) for k in classifier)  # untouched


def test_screen_scores_candidates_built_from_their_own_config(tmp_path, capsys):
    from safetensors.torch import save_file

    from training.screen import main as screen_main

    shipped_dir = SHIPPED.parent
    grown = tmp_path / "grown"
    grown.mkdir()
    config = json.loads((shipped_dir / "config.json").read_text())
    config["ratio_embedding"] = True
    config["init"] = {"file": "model.safetensors", "sha256": "ab" * 32, "new_modules": "nca.ratio"}
    (grown / "config.json").write_text(json.dumps(config))
    model = zoo.registry.get_entry("nca-fmnist").builder(**init_kwargs(config))
    model.load_state_dict(load_file(str(SHIPPED)), strict=False)  # the new block stays zero
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(grown / "model.safetensors"))
    out = tmp_path / "report"
    args = ["nca-fmnist", str(shipped_dir), str(grown), "--n", "16", "--out", str(out)]
    assert screen_main(args) == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert rows[1]["what"].startswith("ratio_embedding=True") and "new nca.ratio" in rows[1]["what"]
    same = (
        rows[0]["missing_mse_ratio0.4"] == rows[1]["missing_mse_ratio0.4"] < 0.1
    )  # a zero block: same repairs
    assert same and rows[0]["accuracy_ratio0.4"] == rows[1]["accuracy_ratio0.4"] > 0.5
    assert "| accuracy_ratio0.4 |" in capsys.readouterr().out
    config["name"] = "mnist-masked"
    (grown / "config.json").write_text(json.dumps(config))
    with pytest.raises(SystemExit, match="not nca-fmnist"):
        screen_main(["nca-fmnist", str(grown), "--n", "4"])


def test_flip_tta_averages_the_classifier_over_the_mirror_image():
    from zoo.pipelines.nca_fmnist import NCAWithClassifier

    torch.manual_seed(0)
    plain = NCAWithClassifier(width=8).eval()
    flipped = NCAWithClassifier(width=8, flip_tta=True).eval()
    flipped.load_state_dict(plain.state_dict())  # same weights: the option adds no parameters
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        one, mirror = plain.classify(x), plain.classify(x.flip(-1))
        averaged = flipped.classify(x)
        assert not torch.allclose(one, mirror)  # the plain classifier tells an image from its mirror
        torch.testing.assert_close(averaged, (one + mirror) / 2)
        torch.testing.assert_close(flipped.classify(x.flip(-1)), averaged)  # mirror-invariant
        known = (torch.rand_like(x) > 0.5).float()
        _, logits = flipped(x * known, known, steps=2)  # the forward pass classifies the same way
        repaired = flipped.nca(x * known, known, steps=2).clamp(0, 1)
        torch.testing.assert_close(logits, flipped.classify(repaired))
