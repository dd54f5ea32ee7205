"""cifar10-blocks' protocol: blanked 2x2 / 4x4 blocks in 32x32 crops of held-out photos.

Test crops (fixed, seeded): every held-out photo shrunk (antialiased) to short sides 32 and
64 px, two 32x32 crops at each. Reported apart: in-domain (the corpus' held-out photos of
the training sources, plus the bundled held-out photos) and out-of-domain (OpenCV's test
images, a source never trained on); without the fetched corpus, the bundled set only.
N in 10 / 50 / 100 blocks of 2x2 (the source's setting) and of 4x4, at uniform random
positions (seeded per crop). Whole-image SSIM and PSNR and PSNR inside the holes, for the
model, OpenCV Telea and Navier-Stokes and scikit-image biharmonic on the same masks.
"""

from __future__ import annotations

import numpy as np

from .. import baselines, corruptions, data, images, metrics
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

NAME = "cifar10-blocks"
COUNTS = (10, 50, 100)
SIZES = (2, 4)
SOURCE = {"ssim_2x2": {10: 0.995, 50: 0.977, 100: 0.953}}
SHORT_SIDES = (32, 64)
CROP = 32
METHODS = {
    "Telea (OpenCV)": baselines.inpaint_telea,
    "Navier-Stokes (OpenCV)": baselines.inpaint_ns,
    "biharmonic (scikit-image)": baselines.inpaint_biharmonic_,
}


def crops_of(photos: dict[str, np.ndarray], seed: int = 0) -> np.ndarray:
    """Two fixed 32x32 crops of each photo at each short side in SHORT_SIDES: (N, 32, 32, 3)."""
    rng = np.random.default_rng(seed)
    out = []
    for name in sorted(photos):
        pil = images.to_pil_rgb(photos[name])
        for side in SHORT_SIDES:
            small = images.short_side_resized(pil, side, CROP).astype(np.float32) / 255.0
            for _ in range(2):
                y, x = rng.integers(0, small.shape[0] - CROP + 1), rng.integers(0, small.shape[1] - CROP + 1)
                out.append(small[y : y + CROP, x : x + CROP])
    return np.stack(out)


def bundled_crops() -> np.ndarray:
    return crops_of(data.photo_split("test"))


def test_sets(limit: int | None = None) -> dict[str, np.ndarray]:
    from ..photo_corpus import DatasetNotFoundError, load_photos

    try:  # the permissively licensed photos, the ones the model trains on
        sets = {
            "in-domain": crops_of(load_photos("test", max_side=512)),
            "out-of-domain": crops_of(load_photos("ood", max_side=512, bundled=False)),
        }
    except DatasetNotFoundError:
        sets = {"bundled": bundled_crops()}
    return {k: v[:limit] if limit else v for k, v in sets.items()}


def damaged_set(x: np.ndarray, count: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    return damage_each(corruptions.random_blocks, x, count, size)


def scores(x: np.ndarray, out, masks: np.ndarray) -> tuple[float, float, float]:
    """(whole-image SSIM, whole-image PSNR, PSNR inside the holes)."""
    return (
        mean_metric(metrics.ssim, x, out),
        mean_metric(metrics.psnr, x, out),
        mean_metric(metrics.hole_psnr, x, out, masks),
    )


def evaluate(limit: int | None = None, data_path: str | None = None, **extras) -> EvalReport:
    import zoo

    p = zoo.load(NAME)
    sets = test_sets(limit)
    found, tables = [], []
    for set_name, x in sets.items():
        rows = []
        for size in SIZES:
            for count in COUNTS:
                damaged, masks = damaged_set(x, count, size)
                model = scores(x, images_of(p.batch(damaged, masks, batch_size=256)), masks)
                classical = {
                    m: scores(x, [fn(d, k) for d, k in zip(damaged, masks)], masks)
                    for m, fn in METHODS.items()
                }
                best_name, best = max(classical.items(), key=lambda kv: kv[1][2])
                src = SOURCE["ssim_2x2"].get(count) if size == 2 else None
                rows.append(
                    [
                        f"{count} x {size}x{size}",
                        *model,
                        *classical["biharmonic (scikit-image)"][:1],
                        *[v[2] for v in classical.values()],
                        f"{model[2] - best[2]:+.2f}",
                        "-" if src is None else src,
                    ]
                )
                found += [
                    Metric(
                        "ssim", f"SSIM {set_name}, {count} blocks {size}x{size}", model[0], f"{count}x{size}"
                    ),
                    Metric(
                        "psnr",
                        f"hole PSNR {set_name}, {count} blocks {size}x{size}",
                        model[2],
                        f"{count}x{size}",
                    ),
                ]
        headers = [
            "blocks",
            "**model** SSIM",
            "model PSNR",
            "**model hole PSNR**",
            "biharmonic SSIM",
            *[f"{m} hole PSNR" for m in METHODS],
            "margin over best classical (dB, holes)",
            "source SSIM",
        ]
        tables.append(f"**{set_name}** ({len(x)} crops of 32x32):\n\n" + markdown_table(headers, rows))
    table = "\n\n".join(tables) + (
        "\n\nPSNR in dB; *hole PSNR* counts only the blanked pixels. The source project's "
        "SSIM is on CIFAR-10's test set, which is not available here."
    )
    dataset = "32x32 crops of held-out photos: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items())
    return EvalReport("image-to-image", "natural-photos", dataset, "test", found, table, check())


def check() -> dict:
    import zoo

    x = bundled_crops()[:CHECK_N]
    damaged, masks = damaged_set(x, 50, 2)
    out = images_of(zoo.load(NAME).batch(damaged, masks))
    ssim, psnr, hole = scores(x, out, masks)
    return {
        "n": len(x),
        "data": "bundled held-out photos, 32x32 crops",
        "metrics": round_check({"ssim_50x2": ssim, "hole_psnr_50x2": hole}),
    }


def headline(n: int) -> dict:
    import zoo

    p = zoo.load(NAME)
    x = next(iter(test_sets().values()))[:n]
    damaged, masks = damaged_set(x, 50, 2)
    outs, secs = timed(lambda: [p(d, mask=m).image for d, m in zip(damaged, masks)])
    bih, bsecs = timed(lambda: [baselines.inpaint_biharmonic_(d, m) for d, m in zip(damaged, masks)])
    return headline_row(
        NAME,
        "PSNR dB inside the holes, 50 blocks of 2x2",
        mean_metric(metrics.hole_psnr, x, outs, masks),
        "biharmonic inpainting",
        mean_metric(metrics.hole_psnr, x, bih, masks),
        "not published",
        1000 * secs / len(x),
        1000 * bsecs / len(x),
        len(x),
    )


register_protocol(
    Protocol(
        NAME,
        evaluate,
        check,
        headline,
        api_call=("/cifar10-blocks", (None, "held-out crop #0", 50, "2", 0, None)),
        source=SOURCE,
    )
)
