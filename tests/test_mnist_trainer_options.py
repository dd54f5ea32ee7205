"""The MNIST trainers' own options: affine jitter, the mask mix, the SSIM term, and their record."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zoo.hub import init_kwargs
import torch

from training.train import main as train_main
from training.trainers.batches import affine_jitter
from training.trainers.mnist_family import denoise_loss, mixed_masks, parse_mix


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _digit() -> torch.Tensor:
    x = torch.zeros(1, 1, 28, 28)
    x[..., 6:22, 12:16] = 1.0  # a vertical bar, like a "1": (1, 1, 28, 28)
    return x


def test_affine_jitter_is_the_identity_when_off_and_moves_pixels_when_on():
    x = _digit().repeat(4, 1, 1, 1)
    assert affine_jitter(x, gen(0), 0, 0) is x
    y = affine_jitter(x, gen(0), 20, 0.2)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert all(not torch.allclose(y[i], x[i], atol=0.05) for i in range(4))  # each image changed
    assert not torch.allclose(y[0], y[1])  # per image, not one transform for the batch
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0 + 1e-6  # bilinear: stays in range


@pytest.mark.parametrize("seed", range(6))
def test_affine_jitter_rotates_a_bar_the_way_the_angle_says(seed):
    angle = abs(float(torch.empty(1).uniform_(-90, 90, generator=gen(seed))))  # the draw affine_jitter makes
    y = affine_jitter(_digit(), gen(seed), 90, 0)
    # a bar 4 columns wide turned by more than ~20 degrees spreads over more columns
    cols = (y[0, 0] > 0.5).any(dim=0).sum().item()
    if angle > 25 or angle < 10:
        assert (cols > 6) == (angle > 25), (angle, cols)


def test_parse_mix_normalises_and_names_what_is_wrong():
    assert parse_mix("1,1,0,0") == (0.5, 0.5, 0.0, 0.0)
    for bad in ("1,1,1", "a,b,c,d", "-1,1,1,1", "0,0,0,0"):
        with pytest.raises(ValueError, match="stripes, squares, pixels, strokes"):
            parse_mix(bad)


def test_mixed_masks_follow_the_shares():
    rng = gen(0)
    only_squares = mixed_masks(rng, 64, (0.0, 1.0, 0.0, 0.0)).numpy()
    # a square mask is one filled axis-aligned box: its bounding box is all missing
    for m in only_squares:
        ys, xs = np.nonzero(m)
        assert m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].all()
        assert (ys.max() - ys.min()) == (xs.max() - xs.min())
    only_stripes = mixed_masks(rng, 64, (1.0, 0.0, 0.0, 0.0)).numpy()
    full_rows = only_stripes.all(axis=1).any(axis=1) | only_stripes.all(axis=2).any(axis=1)
    assert full_rows.all()  # every stripe crosses the whole digit
    # the default is a quarter each
    assert torch.equal(mixed_masks(gen(3), 64), mixed_masks(gen(3), 64, (0.25,) * 4))
    kinds = mixed_masks(gen(3), 400).numpy()
    pixels = kinds.reshape(400, -1).mean(1)
    assert 0.5 < pixels.std() / pixels.mean() < 2  # a mixture of hole sizes, not one kind


class _Echo(torch.nn.Module):
    def forward(self, x):
        return x


def test_ssim_weight_adds_a_structural_term():
    images = torch.rand(16, 1, 28, 28)
    mse = denoise_loss(images, 8)(_Echo(), gen(0)).item()
    both = denoise_loss(images, 8, ssim_weight=0.5)(_Echo(), gen(0)).item()
    assert both > mse + 0.01  # noisy echo: SSIM < 1, so the term is positive


def test_options_reach_the_run_and_its_record(tmp_path):
    out = tmp_path / "out"
    args = ["--steps", "2", "--batch-size", "8", "--limit", "64", "--run-dir", str(tmp_path / "r")]
    code = train_main(
        ["mnist-masked", *args, "--out-dir", str(out), "--mix", "0,1,0,0", "--rotate", "5", "--zoom", "0.05"]
    )
    assert code == 0
    data = json.loads((out / "config.json").read_text())["data"]
    assert "squares 100%" in data and "rotation up to +-5 deg" in data
    with pytest.raises(ValueError, match="--mix"):
        train_main(["mnist-masked", *args, "--out-dir", str(tmp_path / "o2"), "--fresh", "--mix", "1,2"])


def test_screen_builds_each_denoise_candidate_from_its_config(tmp_path):
    """A grown copy of the shipped denoiser (context block added, still zero) scores exactly the same."""
    from safetensors.torch import load_file, save_file

    import zoo
    from training.screen import main as screen_main

    shipped = zoo.registry.WEIGHTS_DIR / "mnist-denoise"
    grown = tmp_path / "grown"
    grown.mkdir()
    config = json.loads((shipped / "config.json").read_text())
    config["context"] = 64
    (grown / "config.json").write_text(json.dumps(config))
    model = zoo.registry.get_entry("mnist-denoise").builder(**init_kwargs(config))
    model.load_state_dict(load_file(str(shipped / "model.safetensors")), strict=False)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(grown / "model.safetensors"))
    out = tmp_path / "report"
    args = ["mnist-denoise", str(shipped), str(grown), "--n", "8", "--out", str(out)]
    assert screen_main(args) == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert rows[1]["what"].startswith("context=64") and rows[0]["what"].startswith("registry network")
    assert rows[0]["psnr_sigma0.5"] == rows[1]["psnr_sigma0.5"] > 15


def test_hole_min_spends_stripes_and_squares_on_wide_holes():
    rng = gen(0)
    stripes = mixed_masks(rng, 200, (1.0, 0.0, 0.0, 0.0), hole_min=9).numpy()
    widths = [max(m.all(axis=0).sum(), m.all(axis=1).sum()) for m in stripes]  # full columns or full rows
    assert min(widths) >= 9 and max(widths) <= 21
    squares = mixed_masks(rng, 200, (0.0, 1.0, 0.0, 0.0), hole_min=9).numpy()
    sides = [np.sqrt(m.sum()) for m in squares]
    assert min(sides) >= 9
    narrow = mixed_masks(gen(0), 200, (1.0, 0.0, 0.0, 0.0)).numpy()
    assert min(m.sum() for m in narrow) < 9 * 28  # the default still draws narrow stripes
    for bad in (0, 22):
        with pytest.raises(ValueError, match="--hole-min"):
            mixed_masks(rng, 4, hole_min=bad)


def test_l1_weight_and_hole_min_reach_the_loss_and_the_record(tmp_path):
    from training.common import TrainConfig
    from training.trainers.mnist_family import build, option_defaults

    cfg = TrainConfig(steps=1, batch_size=8, limit=64)
    losses = {}
    for w in (0.0, 0.5):
        opts = option_defaults()
        opts.l1_weight = w
        _, loss_fn, note, _ = build("mnist-masked", cfg, opts)
        losses[w] = loss_fn(lambda x: torch.zeros_like(x[:, :1]), gen(0)).item()
        assert ("L1" in note) == bool(w)
    assert losses[0.5] > losses[0.0] > 0  # same batch and holes: the L1 term adds
    out = tmp_path / "out"
    args = ["--steps", "1", "--batch-size", "8", "--limit", "64", "--run-dir", str(tmp_path / "r")]
    options = ["--hole-min", "9", "--l1-weight", "0"]
    assert train_main(["mnist-masked", *args, "--out-dir", str(out), *options]) == 0
    data = json.loads((out / "config.json").read_text())["data"]
    assert "stripes 9-21 px, squares 9-21 px" in data and "loss MSE;" in data
    with pytest.raises(ValueError, match="--hole-min"):
        train_main(["mnist-masked", *args, "--out-dir", str(tmp_path / "o2"), "--fresh", "--hole-min", "30"])


def test_screen_scores_masked_candidates_on_the_trainers_validation_figure(tmp_path, capsys):
    import zoo
    from training.screen import main as screen_main

    shipped = zoo.registry.WEIGHTS_DIR / "mnist-masked"
    out = tmp_path / "report"
    assert screen_main(["mnist-masked", str(shipped), "--n", "16", "--out", str(out)]) == 0
    row = json.loads(out.with_suffix(".json").read_text())["rows"][0]
    assert 0 < row["mse"] < 0.1  # the shipped fill is far better than leaving holes
    with pytest.raises(SystemExit):
        screen_main(["mnist-masked", str(tmp_path), "--n", "8"])  # not a weights folder
    assert "needs model.safetensors and config.json" in capsys.readouterr().err
