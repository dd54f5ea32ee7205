"""mnist-denoise's protocol: MNIST test digits, noisy = clip(x + sigma * N(0,1), 0, 1).

PSNR / SSIM of the denoised digit at sigma 0.3 / 0.5 / 0.7 (0.5 is the source's setting),
beside the noisy input and scikit-image TV and non-local means at their best parameter
(tuned on 100 validation digits from the training split, never the test file).
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from .. import baselines, corruptions, data, metrics
from ..cards import EvalReport, Metric
from .base import Protocol, register_protocol
from .common import (
    damage_each,
    CHECK_N,
    headline_row,
    images_of,
    markdown_table,
    mean_metric,
    round_check,
    timed,
)

NAME = "mnist-denoise"
SIGMAS = (0.3, 0.5, 0.7)
SOURCE = {"psnr": 20.96, "ssim": 0.8371}  # the source project's figures at sigma 0.5
TV_WEIGHTS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6)
NLM_H = (0.1, 0.2, 0.3, 0.4, 0.6, 0.8)


def noisy_digits(clean: np.ndarray, sigma: float, first_index: int = 0) -> np.ndarray:
    """The protocol's noisy copies of clean (N, 28, 28): image i gets the noise of seed_for(first_index +
    i)."""
    return damage_each(corruptions.gaussian_noise, clean, sigma, first=first_index)[0]


def best_param(fn, grid, clean: np.ndarray, noisy: np.ndarray) -> float:
    scores = [mean_metric(metrics.psnr, clean, [fn(n, g) for n in noisy]) for g in grid]
    return float(grid[int(np.argmax(scores))])


def _validation(data_path, source: str = "auto") -> np.ndarray:
    return data.load_mnist("train", data_path, source)[0][-100:]


def evaluate(limit: int | None = None, data_path: str | None = None, **extras) -> EvalReport:
    import zoo

    p = zoo.load(NAME)
    x, _ = data.load_mnist("test", data_path)
    x = x[:limit] if limit else x
    val = _validation(data_path)
    rows, found = [], []
    for sigma in SIGMAS:
        noisy = noisy_digits(x, sigma)
        vnoisy = noisy_digits(val, sigma, first_index=10_000)
        tv_w = best_param(baselines.denoise_tv, TV_WEIGHTS, val, vnoisy)
        nlm_h = best_param(baselines.denoise_nlm, NLM_H, val, vnoisy)
        candidates = {
            "mnist-denoise (U-Net)": images_of(p.batch(noisy, batch_size=256)),
            "noisy input": noisy,
            f"TV Chambolle (weight {tv_w})": np.stack(
                [baselines.denoise_tv(n, tv_w) for n in tqdm(noisy, desc=f"TV s={sigma}", leave=False)]
            ),
            f"non-local means (h {nlm_h})": np.stack(
                [baselines.denoise_nlm(n, nlm_h) for n in tqdm(noisy, desc=f"NLM s={sigma}", leave=False)]
            ),
        }
        for method, out in candidates.items():
            psnr, ssim = mean_metric(metrics.psnr, x, out), mean_metric(metrics.ssim, x, out)
            rows.append([f"{sigma:g}", method, psnr, ssim])
            if method.startswith(NAME):
                found += [
                    Metric("psnr", f"PSNR sigma={sigma}", psnr, f"sigma={sigma}"),
                    Metric("ssim", f"SSIM sigma={sigma}", ssim, f"sigma={sigma}"),
                ]
        if sigma == 0.5:
            rows.append([f"{sigma:g}", "source project (U-Net autoencoder)", SOURCE["psnr"], SOURCE["ssim"]])
    table = markdown_table(["sigma", "method", "PSNR (dB)", "SSIM"], rows)
    table += f"\n\n{len(x):,} test images; baselines' parameters tuned on 100 validation digits per sigma."
    dataset = f"{data.describe_mnist(data_path)}: test split, {len(x):,} images"
    return EvalReport("image-to-image", "mnist", dataset, "test", found, table, check())


def check() -> dict:
    """PSNR / SSIM at sigma 0.5 on the first CHECK_N real MNIST test digits shipped with the zoo (on every
    machine)."""
    import zoo

    x = data.load_mnist("test", source="sample")[0][:CHECK_N]
    out = images_of(zoo.load(NAME).batch(noisy_digits(x, 0.5)))
    return {
        "n": len(x),
        "data": "MNIST test file, first 1,000 digits (shipped sample)",
        "metrics": round_check(
            {
                "psnr_sigma0.5": mean_metric(metrics.psnr, x, out),
                "ssim_sigma0.5": mean_metric(metrics.ssim, x, out),
            }
        ),
    }


def headline(n: int) -> dict:
    import zoo

    p = zoo.load(NAME)
    x = data.load_mnist("test")[0][:n]
    val = _validation(None)
    noisy = noisy_digits(x, 0.5)
    weight = best_param(baselines.denoise_tv, TV_WEIGHTS, val, noisy_digits(val, 0.5, first_index=10_000))
    outs, secs = timed(lambda: [p(z).image for z in noisy])
    tv, bsecs = timed(lambda: [baselines.denoise_tv(z, weight) for z in noisy])
    return headline_row(
        NAME,
        "PSNR dB, sigma 0.5",
        mean_metric(metrics.psnr, x, outs),
        f"TV denoising (weight {weight}, tuned)",
        mean_metric(metrics.psnr, x, tv),
        SOURCE["psnr"],
        1000 * secs / len(x),
        1000 * bsecs / len(x),
        len(x),
    )


register_protocol(
    Protocol(NAME, evaluate, check, headline, api_call=("/mnist-denoise", (None, 3, 0.5, 0)), source=SOURCE)
)
