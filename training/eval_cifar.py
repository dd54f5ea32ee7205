"""Evaluation protocol of cifar10-blocks (see its card).

Held-out 32x32 images: 600 crops (seeded, no augmentation) of the photos held out by
name in `zoo.data.HELDOUT_PHOTOS`, or the CIFAR-10 test batch with --data. N in
{10, 50, 100} blocks of 2x2 (the source's setting) and of 4x4, damage of image i from
default_rng(1000 + i). Whole-image SSIM and PSNR, hole-only PSNR; baselines in the
same run: OpenCV Telea and Navier-Stokes, scikit-image biharmonic.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import zoo
from zoo import baselines, corruptions, data, metrics
from zoo.cards import EvalReport, Metric

from .cifar10_blocks import CROP_SCALES
from .eval_common import CHECK_N, markdown_table, round_check, run_batched, seed_for

N_TEST_CROPS = 600
SETTINGS = [(n, s) for s in (2, 4) for n in (10, 50, 100)]
SOURCE_SSIM = {10: 0.995, 50: 0.977, 100: 0.953}  # the source project's whole-image SSIM (2x2 blocks)


def test_images(data_path: str | None = None) -> tuple[np.ndarray, str]:
    if data_path and (Path(data_path) / "test_batch").is_file():
        x, _ = data.load_cifar10(data_path, "test")
        return x, f"CIFAR-10 test batch at {data_path} ({len(x):,} images)"
    photos = data.photo_split("test", data_path)
    x = data.random_crops(photos, N_TEST_CROPS, 32, seed=12345, scales=CROP_SCALES, augment=False)
    return x, f"{len(x)} 32x32 crops of {len(photos)} held-out photos ({', '.join(sorted(photos))})"


def _scores(clean, restored, masks):
    return (float(np.mean([metrics.ssim(c, r) for c, r in zip(clean, restored)])),
            float(np.mean([metrics.psnr(c, r) for c, r in zip(clean, restored)])),
            float(np.mean([metrics.hole_psnr(c, r, m) for c, r, m in zip(clean, restored, masks)])))


def evaluate(limit: int | None = None, data_path: str | None = None, with_baselines: bool = True) -> EvalReport:
    p = zoo.load("cifar10-blocks")
    x, dataset_name = test_images(data_path)
    x = x[:limit] if limit else x
    rows, found, check = [], [], {}
    for n_blocks, size in tqdm(SETTINGS, desc="cifar10-blocks settings"):
        pairs = [corruptions.random_blocks(img, n_blocks, size, seed_for(i)) for i, img in enumerate(x)]
        damaged = np.stack([d for d, _ in pairs])
        masks = np.stack([m for _, m in pairs])
        inp = np.concatenate([damaged.transpose(0, 3, 1, 2), masks[:, None].astype(np.float32)], axis=1)
        pred = run_batched(p.model, inp).transpose(0, 2, 3, 1)
        restored = np.where(masks[..., None], pred, damaged)
        results = {"cifar10-blocks": _scores(x, restored, masks)}
        if with_baselines:
            for method, fn in baselines.INPAINTERS.items():
                results[method] = _scores(x, np.stack([fn(d, m) for d, m in zip(damaged, masks)]), masks)
        best_classical = max((v[2] for k, v in results.items() if k != "cifar10-blocks"), default=float("nan"))
        for method, (ssim, psnr, hole) in results.items():
            source = SOURCE_SSIM.get(n_blocks, "-") if (size == 2 and method == "cifar10-blocks") else "-"
            margin = hole - best_classical if method == "cifar10-blocks" else "-"
            rows.append([f"{n_blocks} x {size}x{size}", method, ssim, psnr, hole, margin, source])
        ssim, psnr, hole = results["cifar10-blocks"]
        cfg = f"blocks={n_blocks},size={size}"
        found += [Metric("ssim", f"SSIM {n_blocks} blocks {size}x{size}", ssim, cfg),
                  Metric("psnr", f"PSNR {n_blocks} blocks {size}x{size}", psnr, cfg),
                  Metric("psnr", f"hole PSNR {n_blocks} blocks {size}x{size}", hole, cfg)]
        if (n_blocks, size) == (50, 2):
            n = min(CHECK_N, len(x))
            s, ps, h = _scores(x[:n], restored[:n], masks[:n])
            check = {"n": n, "metrics": round_check({"ssim_50x2": s, "psnr_50x2": ps, "hole_psnr_50x2": h})}
    table = markdown_table(["damage", "method", "SSIM", "PSNR (dB)", "hole PSNR (dB)",
                            "hole PSNR - best classical", "source SSIM"], rows)
    table += f"\n\nTest set: {dataset_name}."
    return EvalReport("image-to-image", "cifar10", dataset_name, "test", found, table, check)
