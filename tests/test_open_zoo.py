"""Weights from anywhere: folders, hf-hub: ids, save_pretrained / push_to_hub against a Hub-compatible
server on 127.0.0.1 (the real huggingface_hub client on both ends), tensor batches, devices and dtypes."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import zoo
from zoo.pipelines.base import DTYPE_TOLERANCE

from .hf_server import HubServer


@pytest.fixture
def denoiser():
    return zoo.load("mnist-denoise")


@pytest.fixture
def digits():
    return zoo.data.load_mnist("test")[0][:6]


def test_save_pretrained_writes_a_mixin_config_and_loads_back(denoiser, digits, tmp_path):
    folder = denoiser.save_pretrained(tmp_path / "copy")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert "model_kwargs" not in config and config["base_channels"] == 32  # init arguments at the top
    assert (config["architecture"], config["task"], config["name"]) == ("unet", "denoising", "mnist-denoise")
    assert config["lineage"]["weights"] == denoiser.config["lineage"]["weights"]  # its making travels along
    back = zoo.load(str(folder))
    assert (
        "not the registry's weights" in back.weights_source and str(folder.resolve()) in back.weights_source
    )
    ours = [r.image for r in back.batch(digits)]
    assert all(np.array_equal(a, r.image) for a, r in zip(ours, denoiser.batch(digits)))


def test_the_config_is_what_pytorch_model_hub_mixin_reads(denoiser, tmp_path):
    from huggingface_hub import PyTorchModelHubMixin

    from zoo.models.unet import UNet

    folder = denoiser.save_pretrained(tmp_path / "copy")

    class MixinUNet(UNet, PyTorchModelHubMixin):
        pass

    net = MixinUNet.from_pretrained(str(folder))  # the mixin's own reader: init arguments from config.json
    got = net(torch.zeros(1, 1, 28, 28))
    torch.testing.assert_close(got, denoiser.model(torch.zeros(1, 1, 28, 28)))


def test_a_fine_tuned_copy_of_a_registered_model_loads_from_its_folder(denoiser, digits, tmp_path):
    folder = denoiser.save_pretrained(tmp_path / "tuned")
    state = load_file(str(folder / "model.safetensors"))
    key = next(k for k, v in state.items() if v.is_floating_point() and v.ndim == 4)
    state[key] = state[key] * 1.05  # a "fine-tune": these are no longer the registry's bytes
    save_file(state, str(folder / "model.safetensors"))
    tuned = zoo.load(folder)  # a Path works too
    assert type(tuned) is type(denoiser) and tuned.name == "mnist-denoise"
    assert not np.array_equal(tuned(digits[0]).image, denoiser(digits[0]).image)


def test_bad_sources_say_what_is_wrong(tmp_path, denoiser):
    with pytest.raises(ValueError, match="not a registry name.*not a folder.*hf-hub:ORG/NAME"):
        zoo.load("no-such-model")
    with pytest.raises(zoo.WeightsNotFoundError, match="holds no model.safetensors / config.json"):
        zoo.load(str(tmp_path))
    folder = denoiser.save_pretrained(tmp_path / "odd")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "name": "mine", "architecture": "resnet"}))
    with pytest.raises(zoo.WeightsError, match="architecture 'resnet'.*known architectures"):
        zoo.load(str(folder))
    (folder / "config.json").write_text(json.dumps({**config, "base_channels": 8}))
    with pytest.raises(zoo.WeightsError, match="does not fit unet"):
        zoo.load(str(folder))
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(zoo.WeightsIntegrityError, match="not a readable safetensors file"):
        zoo.load(str(folder))


def test_push_to_hub_then_load_the_commit_with_hf_hub_ids(denoiser, digits, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        commit = denoiser.push_to_hub("me/my-denoiser")
        assert re.fullmatch(r"[0-9a-f]{40}", commit)
        assert server.state.commits[-1]["paths"] == ["README.md", "config.json", "model.safetensors"]
        pinned = zoo.load(f"hf-hub:me/my-denoiser@{commit}")
        assert pinned.weights_source.startswith(f"hf-hub:me/my-denoiser@{commit}")
        assert "not the registry's weights" in pinned.weights_source
        latest = zoo.load("hf-hub:me/my-denoiser")  # main resolves to that same commit
        assert commit in latest.weights_source
        want = [r.image for r in denoiser.batch(digits)]
        assert all(np.array_equal(a, r.image) for a, r in zip(want, pinned.batch(digits)))
        assert denoiser.push_to_hub("me/my-denoiser", revision="v2") != ""  # a branch, created
        assert server.state.commits[-1]["branch"] == "v2"
    with pytest.raises(ValueError, match="hf-hub:ORG/NAME"):
        zoo.load("hf-hub:not a repo")


def test_a_hub_file_that_differs_from_its_etag_is_refused(denoiser, monkeypatch, tmp_path):
    from zoo.pretrained import check_against_etag, git_blob_sha1

    body = b"some bytes"
    check_against_etag(body, git_blob_sha1(body), "x")  # a regular (non-LFS) file: git's blob hash
    with pytest.raises(zoo.WeightsIntegrityError, match="differs from the Hub's"):
        check_against_etag(body + b"!", '"' + git_blob_sha1(body) + '"', "x")
    with pytest.raises(zoo.WeightsIntegrityError, match="no content hash"):
        check_against_etag(body, "W/abc", "x")
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        commit = denoiser.push_to_hub("me/tampered")
        files = server.state.files[("me/tampered", commit)]
        files["model.safetensors"] = files["model.safetensors"][:-1] + b"\x01"  # the server now lies
        monkeypatch.setattr("huggingface_hub.get_hf_file_metadata", _stale_etag(denoiser, tmp_path))
        with pytest.raises(zoo.WeightsIntegrityError, match="differs from the Hub's"):
            zoo.load(f"hf-hub:me/tampered@{commit}")


def _stale_etag(denoiser, tmp_path):
    """The metadata the Hub gave when the file was uploaded (the original bytes' sha256)."""
    import hashlib
    from types import SimpleNamespace

    original = (denoiser.save_pretrained(tmp_path / "orig") / "model.safetensors").read_bytes()
    config = (tmp_path / "orig" / "config.json").read_bytes()
    card = (tmp_path / "orig" / "README.md").read_bytes()
    etags = {
        n: hashlib.sha256(b).hexdigest()
        for n, b in (("model.safetensors", original), ("config.json", config), ("README.md", card))
    }
    return lambda url, **kw: SimpleNamespace(etag=etags[url.rsplit("/", 1)[-1]])


def test_a_tensor_batch_goes_through_the_task_steps(denoiser, digits):
    x = torch.from_numpy(digits)[:, None]  # (6, 1, 28, 28)
    out = denoiser.batch(x)
    assert isinstance(out, torch.Tensor) and out.shape == x.shape and out.dtype == torch.float32
    want = np.stack([r.image for r in denoiser.batch(list(digits))])
    np.testing.assert_array_equal(out[:, 0].numpy(), want)
    masked = zoo.load("mnist-masked")
    holes = torch.zeros(6, 1, 28, 28, dtype=torch.bool)
    holes[..., 10:18, :] = True
    filled = masked.batch(x, holes)
    assert filled.shape == x.shape
    assert torch.equal(filled[~holes], x[~holes])  # known pixels pasted back, as for images
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        denoiser.batch(torch.zeros(28, 28))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        masked.batch(x, holes[:, 0])


def example_inputs(p) -> tuple[list, list | None]:
    """A few inputs of the model's kind, damaged by its own `corrupt` (masks where the task has them)."""
    if getattr(p, "image_size", None) == 28:
        clean = list(zoo.data.load_mnist("test")[0][:4])
    else:
        photo = next(iter(zoo.data.natural_photos().values()))
        clean = [photo[:96, :96], photo[100:164, 50:114]]
    if not p.needs_mask and p.task != "denoising":
        return clean, None
    damaged = [p.corrupt(img, seed=i) for i, img in enumerate(clean)]
    if p.needs_mask:
        return [d for d, _ in damaged], [m for _, m in damaged]
    return [d for d, _ in damaged], None


@pytest.mark.parametrize("name", zoo.list_models())
def test_lower_precisions_stay_close_to_float32_or_are_refused(name):
    p = zoo.load(name)
    images, masks = example_inputs(p)
    ref = [r.image for r in p.batch(images, masks)]
    for dtype in ("float16", "bfloat16"):
        if dtype not in p.supported_dtypes:
            with pytest.raises(ValueError, match="supported: float32"):
                zoo.load(name, dtype=dtype)
            continue
        low = zoo.load(name, dtype=dtype)
        assert all(m.dtype == getattr(torch, dtype) for m in [next(low.model.parameters())])
        got = [r.image for r in low.batch(images, masks)]
        assert all(g.dtype == np.float32 for g in got)
        diff = np.mean([np.abs(a - b).mean() for a, b in zip(got, ref)])
        assert diff <= DTYPE_TOLERANCE, (name, dtype, diff)


def test_to_moves_every_part(monkeypatch):
    p = zoo.load("feature-recon-s16")
    p.to(dtype="bfloat16")
    assert next(p.encoder.parameters()).dtype == torch.bfloat16  # the frozen encoder too
    p.to(dtype="float32")
    assert next(p.encoder.parameters()).dtype == torch.float32 and not p._cast_hooks
    with pytest.raises(ValueError, match="supported"):
        p.to(dtype="int8")


# ---------------------------------------------------------------- metadata, registration, the light CLI
def test_list_models_filters_and_the_entries_metadata():
    photos = zoo.list_models(tags="photos")
    assert photos and all("photos" in zoo.get_entry(n).tags for n in photos)
    assert zoo.list_models(tags=["photos", "webcam"]) == [
        n for n in photos if "webcam" in zoo.get_entry(n).tags
    ]
    assert set(zoo.list_models(task="inpainting*")) >= {"mnist-masked", "cifar10-blocks"}
    mit = zoo.list_models(license="mit")
    assert mit and all(zoo.get_entry(n).license == "mit" for n in mit)
    for name in zoo.list_models():
        meta = zoo.get_entry(name).metadata()
        assert json.loads(json.dumps(meta)) == meta  # plain JSON
        config = meta["data_config"]
        assert config["channels"] in (1, 3) and config["value_range"] == [0, 1], name
    assert zoo.get_entry("feature-recon").data_config["stride"] == 8


def test_the_committed_index_is_the_registry(capsys):
    """`zoo list` reads zoo/models.json (no torch); it must say what the registry says."""
    from zoo.__main__ import main as cli
    from zoo.registry import INDEX_PATH

    assert cli(["list", "--live", "--json"]) == 0
    live = json.loads(capsys.readouterr().out)
    assert (
        json.loads(INDEX_PATH.read_text()) == live
    ), "regenerate: python -m zoo list --live --json > zoo/models.json"


def test_zoo_list_json_and_columns(capsys):
    from zoo.__main__ import main as cli

    assert cli(["list", "--json", "--license", "mit"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["license"] for r in rows} == {"mit"} and all("data_config" in r for r in rows)
    assert cli(["list", "--tag", "photos"]) == 0
    lines = capsys.readouterr().out.splitlines()
    starts = {line.index(line.split()[2]) for line in lines[1:]}  # the licence column lines up
    assert len(starts) == 1 and lines[0].split()[:3] == ["name", "task", "license"]
    assert cli(["list", "nothing-*"]) == 1


def test_register_model_as_a_decorator_like_timm():
    from zoo.models.unet import UNet
    from zoo.pipelines.mnist_denoise import DenoisePipeline

    @zoo.register_model(
        "third-party-denoiser",
        task="denoising",
        summary="a user's own model",
        pipeline_cls=DenoisePipeline,
        model_kwargs=dict(in_channels=1, out_channels=1, base_channels=4, depth=1),
        tags=("mine",),
        license="apache-2.0",
    )
    def tiny_unet(**kwargs):
        return UNet(**kwargs)

    try:
        assert tiny_unet(in_channels=1, out_channels=1, base_channels=4, depth=1) is not None  # still itself
        assert zoo.list_models(tags="mine") == ["third-party-denoiser"]
        assert zoo.get_entry("third-party-denoiser").builder is tiny_unet
    finally:
        zoo.registry.unregister_model("third-party-denoiser")


def test_the_command_line_answers_help_and_list_without_torch():
    import subprocess
    import sys

    code = (
        "import sys, runpy; sys.argv = ['zoo', '{}']\n"
        "try:\n    runpy.run_module('zoo', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'LIGHT')"
    )
    for command in ("--help", "list"):
        out = subprocess.run([sys.executable, "-c", code.format(command)], capture_output=True, text=True)
        assert out.stdout.strip().endswith("LIGHT"), (command, out.stdout[-300:], out.stderr[-300:])
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", zoo.__version__)
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert zoo.__version__ == pyproject["project"]["version"]
    assert (Path(zoo.__file__).parent / "py.typed").is_file()


def test_positional_arguments_have_help(capsys):
    from zoo.__main__ import main as cli

    for command in ("info", "download", "push", "evaluate", "data", "run", "export"):
        with pytest.raises(SystemExit):
            cli([command, "--help"])
        text = capsys.readouterr().out
        positional = text.split("positional arguments:")[1].split("options:")[0]
        entries = [line for line in positional.splitlines() if re.match(r"  \S", line)]
        assert entries, (command, text)
        bare = [line.strip() for line in entries if len(line.split(None, 1)) < 2]
        assert not bare, f"zoo {command}: {bare} have no help text"
    with pytest.raises(SystemExit):
        cli(["run", "--help"])
    damage_help = capsys.readouterr().out.split("--damage KEY=VALUE", 1)[1]
    assert "mnist-masked: kind, size" in " ".join(damage_help.split())  # each model's damage keys


def test_evaluate_and_data_commands_work_from_the_package(capsys):
    from zoo.__main__ import main as cli

    assert cli(["evaluate", "mnist-denoise", "--limit", "8"]) == 0  # the shipped test sample: no fetch
    assert "| " in capsys.readouterr().out
    assert cli(["data", "verify", "mnist"]) == 1  # nothing fetched in this test's $ZOO_DATA
    assert "missing" in capsys.readouterr().err
