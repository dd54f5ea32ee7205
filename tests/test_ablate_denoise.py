"""The mnist-denoise objective and its ablation script (a few steps on tiny data)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from training import ablate_denoise
from training.trainers.mnist_family import denoise_loss


class _Echo(torch.nn.Module):
    """Returns its input: the loss is then the error of the noisy image itself."""

    def forward(self, x):
        return x


def test_psnr_loss_is_a_negative_mean_of_per_image_psnr():
    images = torch.rand(16, 1, 28, 28)
    rng = lambda: np.random.default_rng(3)  # noqa: E731 - the same batch and noise for both losses
    mse = denoise_loss(images, 8)(_Echo(), rng()).item()
    neg_psnr = denoise_loss(images, 8, psnr_loss=True)(_Echo(), rng()).item()
    assert mse > 0
    assert -neg_psnr > 10 * np.log10(1 / mse) - 1e-3  # mean of logs >= log of the mean (Jensen)
    assert neg_psnr < 0


def test_fixed_sigma_zero_leaves_the_digits_clean():
    images = torch.rand(16, 1, 28, 28)
    assert denoise_loss(images, 8, sigmas=(0.0, 0.0))(_Echo(), np.random.default_rng(0)).item() == 0.0


def test_ablation_writes_its_report(tmp_path, monkeypatch):
    monkeypatch.setattr(ablate_denoise, "RUNS_DIR", tmp_path / "runs")
    out = tmp_path / "ablation"
    assert (
        ablate_denoise.main(
            ["--steps", "2", "--n", "4", "--variants", "recipe,fixed-sigma", "--out", str(out)]
        )
        == 0
    )
    results = json.loads(out.with_suffix(".json").read_text())
    assert set(results) == {"shipped", "shipped-on-train", "recipe", "fixed-sigma"}
    assert all(0 < r["psnr"] < 60 and 0 < r["ssim"] <= 1 for r in results.values())
    assert "| fixed-sigma |" in out.with_suffix(".md").read_text()


def test_ablation_rejects_an_unknown_variant(capsys):
    with pytest.raises(SystemExit):
        ablate_denoise.main(["--variants", "recipe,nope"])
    assert "nope" in capsys.readouterr().err
