"""nca-fmnist: the automaton's contract (known pixels, frames, probabilities, bad inputs)."""

from __future__ import annotations

import numpy as np
import pytest

import zoo


@pytest.fixture(scope="module")
def nca():
    return zoo.load("nca-fmnist")


@pytest.fixture(scope="module")
def garment():
    from zoo.data import load_fashion_mnist

    x, y = load_fashion_mnist("test")
    return x[0], int(y[0])


def test_repair_contract(nca, garment):
    img, _ = garment
    damaged, mask = nca.corrupt(img, mask_ratio=0.4, seed=0)
    out = nca(damaged, mask=mask, steps=12)
    assert out.image.shape == (28, 28) and out.image.dtype == np.float32
    assert 0 <= out.image.min() and out.image.max() <= 1
    assert np.array_equal(out.image[~mask], damaged[~mask])  # known pixels are never changed
    assert len(out.frames) == 13 and np.array_equal(out.frames[0], damaged)
    assert out.probs.shape == (10,) and out.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert out.label == int(np.argmax(out.probs)) and out.label_name in nca.class_names
    again = nca(damaged, mask=mask, steps=12)
    assert np.array_equal(again.image, out.image)  # eval mode: deterministic
    assert np.mean((out.image - img)[mask] ** 2) < np.mean((damaged - img)[mask] ** 2)


def test_same_seed_same_damage(nca, garment):
    a = nca.corrupt(garment[0], mask_ratio=0.4, seed=5)
    b = nca.corrupt(garment[0], mask_ratio=0.4, seed=5)
    c = nca.corrupt(garment[0], mask_ratio=0.4, seed=6)
    assert np.array_equal(a[1], b[1]) and not np.array_equal(a[1], c[1])


def test_zero_steps_returns_the_damaged_image(nca, garment):
    damaged, mask = nca.corrupt(garment[0], mask_ratio=0.4, seed=0)
    assert np.array_equal(nca(damaged, mask=mask, steps=0).image, damaged)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((1, 2, 3, 4)),
        np.full((28, 28), np.nan),
        np.zeros((0, 28)),
        np.zeros((3, 28, 28)),
        "missing.png",
        {"an": "dict"},
    ],
)
def test_bad_inputs(nca, bad):
    with pytest.raises(ValueError):
        nca(bad, mask=np.zeros((28, 28), bool))


def test_non_image_file_and_bad_steps(nca, tmp_path, garment):
    (tmp_path / "x.jpg").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="not an image"):
        nca(str(tmp_path / "x.jpg"), mask=np.zeros((28, 28), bool))
    damaged, mask = nca.corrupt(garment[0], seed=0)
    with pytest.raises(ValueError, match="steps"):
        nca(damaged, mask=mask, steps=10_000)


def test_uploads_of_any_size_and_mode(nca):
    photo = np.full((120, 90, 3), 240, np.uint8)  # a dark garment photographed on white
    photo[30:90, 25:65] = 40
    damaged, mask = nca.corrupt(photo, mask_ratio=0.3, seed=1)
    out = nca(damaged, mask=mask)
    assert out.image.shape == (28, 28) and damaged[0, 0] < 0.2  # inverted onto a dark background


def test_automaton_is_stable_past_the_steps_it_is_run(nca):
    """The hub's slider runs up to 60 steps: the repair must hold, not drift (an automaton
    trained only with stochastic updates overshoots when every cell fires and loses dB)."""
    from zoo import metrics
    from zoo.protocols.common import images_of, mean_metric
    from zoo.protocols.nca_fmnist import repair
    from zoo.data import load_fashion_mnist

    x = load_fashion_mnist("test")[0][:64]
    pairs = [nca.corrupt(img, mask_ratio=0.4, seed=i) for i, img in enumerate(x)]
    damaged, masks = np.stack([d for d, _ in pairs]), np.stack([m for _, m in pairs])

    def psnr(steps):
        return mean_metric(metrics.psnr, x, images_of(repair(nca, damaged, masks, steps)[0]))

    at_20, at_60 = psnr(20), psnr(60)
    assert at_20 > psnr(0) + 5  # it repairs at all
    assert at_60 > at_20 - 1.0, (at_20, at_60)


def test_classifier_augmentation_crops_flips_and_erases_per_image():
    import torch

    from training.trainers.fmnist_batches import augment_strong, mask_ratios

    def gen(seed):
        return torch.Generator().manual_seed(seed)

    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0  # a centred square: shifts move it, erasing cuts holes in it
    out = augment_strong(x, gen(0), erase_p=0.0)
    assert out.shape == x.shape
    assert out.sum((1, 2, 3)).eq(64).all()  # a 2-pixel crop never cuts the square off
    centres = {tuple(torch.nonzero(o[0]).float().mean(0).tolist()) for o in out}
    assert len(centres) > 5  # shifted per image, not one shift per batch
    ones = torch.ones(256, 1, 28, 28)
    kept = augment_strong(ones, gen(1), erase_p=0.0)  # the same crops, nothing erased
    erased = augment_strong(ones, gen(1), erase_p=1.0)
    holes = (kept - erased).mean((1, 2, 3))
    assert ((holes >= 0.005) & (holes <= 0.26)).all()  # 2-25% of the area (rounded to whole pixels)
    r = mask_ratios(gen(0), 20000).numpy()
    assert r.min() >= 0.1 and r.max() <= 0.9
    assert (r > 0.5).mean() > 0.6  # density rising towards 0.9: more examples where more is missing


@pytest.mark.slow
def test_phases_run_apart_then_export_together(tmp_path):
    import torch
    from safetensors.torch import save_file

    from training.train import main as train_main
    from training.trainers.nca_fmnist import load_nca_init

    run, out = tmp_path / "run", tmp_path / "out"
    common = ["--classifier-steps", "2", "--steps", "2", "--sync-steps", "2", "--finetune-steps", "2"]
    common += ["--limit", "64", "--run-dir", str(run), "--out-dir", str(out)]
    assert train_main(["nca-fmnist", "--phases", "classifier", *common]) == 0
    assert (run / "classifier" / "checkpoint.pt").is_file() and not out.exists()  # one phase: no export
    with pytest.raises(SystemExit, match="unknown phase"):
        train_main(["nca-fmnist", "--phases", "classifer", *common])
    shipped = zoo.registry.WEIGHTS_DIR / "nca-fmnist" / "model.safetensors"
    assert (
        train_main(
            [
                "nca-fmnist",
                "--phases",
                "classifier,nca-sync,classifier-ft",
                "--init-nca",
                str(shipped),
                *common,
            ]
        )
        == 0
    )
    assert (out / "model.safetensors").is_file()
    assert "automaton started from model.safetensors" in (out / "config.json").read_text()
    wrong = tmp_path / "wrong.safetensors"
    save_file({"nca.perceive.weight": torch.zeros(1)}, str(wrong))
    with pytest.raises(ValueError, match="do not fit"):
        load_nca_init(
            zoo.registry.get_entry("nca-fmnist").builder(**zoo.registry.get_entry("nca-fmnist").model_kwargs),
            str(wrong),
        )


@pytest.mark.slow
def test_init_fine_tunes_the_whole_model_without_the_first_phases(tmp_path):
    from safetensors.torch import load_file

    from training.train import main as train_main

    shipped = zoo.registry.WEIGHTS_DIR / "nca-fmnist" / "model.safetensors"
    run, out = tmp_path / "run", tmp_path / "out"
    args = [
        "nca-fmnist",
        "--init",
        str(shipped),
        "--sync-steps",
        "2",
        "--finetune-steps",
        "2",
        "--limit",
        "64",
    ]
    args += ["--run-dir", str(run), "--out-dir", str(out)]
    # without --init, skipping the classifier and nca phases exports nothing; with it they come from the file
    assert train_main([*args, "--phases", "nca-sync,classifier-ft"]) == 0
    assert not (run / "classifier").exists() and not (run / "nca").exists()
    before, after = load_file(str(shipped)), load_file(str(out / "model.safetensors"))
    assert before.keys() == after.keys()
    changed = {k.split(".")[0] for k in before if not (before[k] == after[k]).all()}
    assert changed == {"nca", "classifier"}  # both fine-tuned from the shipped weights, not from scratch
    near = [k for k in before if before[k].dtype.is_floating_point and "running_" not in k]  # BN stats move
    assert max((before[k] - after[k]).abs().max().item() for k in near) < 0.1  # 2 steps: still the shipped
    assert "started from model.safetensors" in (out / "config.json").read_text()


def test_masked_cnn_baseline_starts_from_the_shipped_classifier(tmp_path):
    from safetensors.torch import load_file

    from training.common import TrainConfig
    from training.trainers.nca_fmnist import SHIPPED_WEIGHTS, train_masked_cnn

    shipped = {
        k[len("classifier.") :]: v for k, v in load_file(str(SHIPPED_WEIGHTS)).items() if "classifier." in k
    }
    runs = {}
    for init in (SHIPPED_WEIGHTS, None):
        cfg = TrainConfig(limit=64, run_dir=str(tmp_path / str(bool(init))))
        runs[bool(init)] = train_masked_cnn(cfg, steps=1, finetune_steps=0, init=init).state_dict()
    key = next(k for k in shipped if k.endswith("weight") and shipped[k].dim() == 4)
    gap = {i: (sd[key] - shipped[key]).abs().mean().item() for i, sd in runs.items()}
    assert gap[True] < 0.1 * gap[False], gap  # one step from the shipped weights, not from a random init
