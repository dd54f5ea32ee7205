"""The GPU trainers (training.fmnist_gpu, training.mnist_denoise_gpu), run on the CPU with tiny data:
their batches, their outputs, and how the zoo takes them in (--init-classifier, the committed baseline)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import zoo
from zoo.pipelines.nca_fmnist import build_classifier

from .conftest import write_idx


def test_gpu_augment_crops_flips_and_erases_per_image():
    from training.fmnist_gpu import gpu_augment

    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28)
    plain = gpu_augment(x, pad=0, erase_p=0.0)  # no crop, no erasing: each image or its mirror
    same = (plain == x).flatten(1).all(1)
    mirrored = (plain == x.flip(-1)).flatten(1).all(1)
    assert plain.shape == x.shape and bool((same | mirrored).all())
    assert 0 < int(mirrored.sum()) < 64  # flips drawn per image
    erased = gpu_augment(torch.ones(64, 1, 28, 28), erase_p=1.0)
    zeros = (erased == 0).flatten(1).float().mean(1)
    assert bool((zeros > 0).all()) and zeros.max() < 0.6  # every image has a hole, none is wiped out


@pytest.mark.parametrize("kind", ["classifier", "masked-cnn"])
def test_fmnist_gpu_writes_the_registry_classifier_and_its_record(tmp_path, kind):
    from training.fmnist_gpu import main

    kwargs = zoo.registry.get_entry("nca-fmnist").model_kwargs
    arch, width = kwargs["classifier"], kwargs["width"]
    args = ["--kind", kind, "--arch", arch, "--width", str(width), "--steps", "3", "--batch", "16"]
    record = main([*args, "--limit", "64", "--bank-rounds", "1", "--device", "cpu", "--out", str(tmp_path)])
    name = f"{kind}-{arch}{width}"
    net = build_classifier(arch, width)
    net.load_state_dict(load_file(str(tmp_path / f"{name}.safetensors")))  # strict: the same network
    saved = json.loads((tmp_path / f"{name}.json").read_text())
    assert saved == json.loads(json.dumps(record)) and saved["steps"] == 3
    assert set(saved["validation_accuracy"]) == {"clean", "ratio0.4", "ratio0.8"}
    assert all(0 <= a <= 1 for a in saved["validation_accuracy"].values())


def test_init_classifier_ships_a_gpu_trained_classifier_beside_the_shipped_automaton(tmp_path):
    from training.fmnist_gpu import main as gpu_main
    from training.train import main as train_main
    from training.trainers.nca_fmnist import SHIPPED_WEIGHTS

    kwargs = zoo.registry.get_entry("nca-fmnist").model_kwargs
    arch, width = kwargs["classifier"], kwargs["width"]
    gpu_main(
        [
            "--kind",
            "classifier",
            "--arch",
            arch,
            "--width",
            str(width),
            "--steps",
            "2",
            "--batch",
            "8",
            "--limit",
            "32",
            "--bank-rounds",
            "1",
            "--device",
            "cpu",
            "--out",
            str(tmp_path),
        ]
    )
    trained = tmp_path / f"classifier-{arch}{width}.safetensors"
    out = tmp_path / "out"
    flags = ["--phases", "", "--sync-steps", "0", "--finetune-steps", "0", "--run-dir", str(tmp_path / "r")]
    assert (
        train_main(
            [
                "nca-fmnist",
                "--init-nca",
                str(SHIPPED_WEIGHTS),
                "--init-classifier",
                str(trained),
                *flags,
                "--out-dir",
                str(out),
            ]
        )
        == 0
    )
    shipped, new, bare = (load_file(str(p)) for p in (SHIPPED_WEIGHTS, out / "model.safetensors", trained))
    assert all(torch.equal(new[f"classifier.{k}"], v) for k, v in bare.items())
    assert all(torch.equal(new[k], v) for k, v in shipped.items() if k.startswith("nca."))
    assert "training.fmnist_gpu --kind classifier: 2 steps" in (out / "config.json").read_text()


def test_the_evaluation_uses_the_committed_masked_cnn_only_when_it_fits(tmp_path):
    from training.trainers.nca_fmnist import MASKED_CNN_WEIGHTS, masked_cnn_baseline

    assert MASKED_CNN_WEIGHTS.is_file()  # committed: the card's baseline column is reproducible
    net = masked_cnn_baseline()
    committed = load_file(str(MASKED_CNN_WEIGHTS))
    assert net is not None and all(torch.equal(v, committed[k]) for k, v in net.state_dict().items())
    other = tmp_path / "cnn.safetensors"
    save_file(build_classifier("cnn", 8).state_dict(), str(other))
    assert masked_cnn_baseline(other) is None  # another architecture: the CPU fallback trains one
    assert masked_cnn_baseline(tmp_path / "absent.safetensors") is None


def test_mnist_denoise_gpu_continues_the_shipped_unet(tmp_path):
    from training.mnist_denoise_gpu import main, psnr_on_validation

    rng = np.random.default_rng(0)
    digits = np.zeros((24, 28, 28))
    digits[:, 8:20, 12:16] = 255 * rng.uniform(0.5, 1, (24, 1, 1))  # bars: a digit-like stroke
    for split in ("train", "t10k"):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte", digits)
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte", np.ones(24))
    shipped = zoo.registry.WEIGHTS_DIR / "mnist-denoise" / "model.safetensors"
    flags = ["--data", str(tmp_path), "--steps", "2", "--batch", "8", "--device", "cpu"]
    flags += ["--out", str(tmp_path)]
    record = main([*flags, "--init", str(shipped), "--lr", "1e-6"])
    saved = load_file(str(tmp_path / "denoise-b32-init.safetensors"))
    entry = zoo.registry.get_entry("mnist-denoise")
    net = entry.builder(**entry.model_kwargs)
    net.load_state_dict(load_file(str(shipped)))
    before = psnr_on_validation(net.eval(), str(tmp_path), "cpu")
    assert record["steps"] == 2 and record["validation_psnr_sigma0.5"] == pytest.approx(before, abs=0.05)
    assert set(saved) == set(net.state_dict())


def test_feature_recon_gpu_packs_trains_and_makes_a_promotable_candidate(tmp_path):
    from PIL import Image

    from training.feature_recon_gpu import main
    from training.gpu_candidate import candidate
    from training.promote import check_candidate

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):
        Image.fromarray(rng.integers(0, 256, (180, 240, 3), dtype=np.uint8)).save(photos / f"p{i}.png")
    packed = tmp_path / "pack"
    index = main(["pack", str(packed), "--data", str(photos)])
    assert (
        len(index["photos"]) == 8 and "image folder" in index["description"]
    )  # a tenth test, a tenth validation
    name = "feature-recon-s16"
    shipped = zoo.registry.WEIGHTS_DIR / name / "model.safetensors"
    flags = ["--steps", "2", "--batch", "2", "--crop", "64", "--device", "cpu", "--out", str(tmp_path)]
    record = main(["train", name, "--pack", str(packed), "--init", str(shipped), "--loss", "mse", *flags])
    assert record["steps"] == 2 and "training.feature_recon_gpu" in record["data"]
    cand = candidate(tmp_path / f"{name}.safetensors", tmp_path / "cand")
    check_candidate(name, cand)  # what training.promote requires before it ships anything
    config = json.loads((cand / "config.json").read_text())
    assert config["training"]["steps"] == 2 and config["init"]["file"] == "model.safetensors"
    (packed / "encoder.safetensors").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="sha256"):
        main(["train", name, "--pack", str(packed), *flags])


def test_mnist_masked_gpu_continues_the_shipped_unet_on_a_bank_of_masks(tmp_path):
    from training.mnist_masked_gpu import main, mask_bank, mse_on_validation, random_masks

    bank = mask_bank(300, (0.35, 0.35, 0.15, 0.15), 1, 0, "cpu")
    drawn = random_masks(bank, 500)
    counts = set(bank.flatten(1).sum(1).tolist())
    # mirrored and transposed, not made anew: every drawn mask hides as many pixels as one in the bank
    assert drawn.shape == (500, 1, 28, 28) and set(drawn.flatten(1).sum(1).tolist()) <= counts
    digits = np.zeros((24, 28, 28))
    digits[:, 6:22, 12:16] = 255
    for split in ("train", "t10k"):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte", digits)
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte", np.ones(24))
    shipped = zoo.registry.WEIGHTS_DIR / "mnist-masked" / "model.safetensors"
    flags = ["--data", str(tmp_path), "--steps", "2", "--batch", "8", "--mask-bank", "64", "--device", "cpu"]
    record = main([*flags, "--init", str(shipped), "--lr", "1e-7", "--out", str(tmp_path)])
    entry = zoo.registry.get_entry("mnist-masked")
    net = entry.builder(**entry.model_kwargs)
    net.load_state_dict(load_file(str(shipped)))
    before = mse_on_validation(net.eval(), str(tmp_path), (0.35, 0.35, 0.15, 0.15), 1, "cpu")
    assert record["steps"] == 2 and record["validation_mse_first2000"] == pytest.approx(before, rel=0.02)
    assert "training.mnist_masked_gpu" in record["data"]


def test_mnist_masked_gpu_elastic_distortion_moves_strokes_smoothly_and_only_the_share_asked():
    from training.mnist_masked_gpu import elastic

    torch.manual_seed(0)
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 4:24, 12:16] = 1.0  # a vertical bar
    assert torch.equal(elastic(x, 2.0, 0.0), x)  # share 0: nothing changes
    out = elastic(x, 2.0, 1.0)
    moved = (out - x).abs().flatten(1).amax(1) > 0.1
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1 and moved.float().mean() > 0.9
    # at most ~2 px of displacement: nothing appears far from the bar, and the ink is roughly kept
    assert out[..., :, :9].abs().max() == 0 and out[..., :, 19:].abs().max() == 0
    assert out.sum((1, 2, 3)).div(x.sum((1, 2, 3))).sub(1).abs().max() < 0.5
    half = elastic(x, 2.0, 0.5)
    changed = (half - x).abs().flatten(1).amax(1) > 0
    assert 0.2 < changed.float().mean() < 0.8  # about half the digits, the rest exactly as they were
