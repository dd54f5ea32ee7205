"""mnist-masked's protocol: MNIST test 5s and 7s (the source's subset), one hole per digit.

Vertical / horizontal stripes of width 3-21 and squares of side 5-21 at a random position
(seeded per image); whole-image MSE per setting beside the source's table, biharmonic
inpainting, zero fill, exemplar inpainting (k nearest training digits on the visible pixels,
k tuned on validation digits) and the oracle exemplar (a reference that sees the hole).
A second table covers all ten test classes (users draw any digit).
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from .. import baselines, data, metrics
from ..cards import EvalReport, Metric
from ..pipelines.mnist_masked import mnist_damage as damage
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
from ..exemplars import ExemplarBank
from .exemplar import oracle_exemplar_mse

NAME = "mnist-masked"
STRIPES = (3, 5, 7, 9, 11, 15, 21)
PATCHES = (5, 7, 9, 11, 13, 15, 17, 21)
SOURCE = {
    "vertical": (0.0128, 0.0156, 0.0183, 0.0224, 0.0271, 0.0416, 0.0603),
    "horizontal": (0.0134, 0.0160, 0.0188, 0.0221, 0.0256, 0.0350, 0.0536),
    "patch": (0.0114, 0.0131, 0.0154, 0.0184, 0.0228, 0.0287, 0.0371, 0.0522),
}
SETTINGS = (
    [("vertical", w) for w in STRIPES]
    + [("horizontal", w) for w in STRIPES]
    + [("patch", s) for s in PATCHES]
)
K_GRID = (1, 3, 10, 30)
ORACLE_POOL = 4000  # training digits the oracle searches (x 25 shifts): its cost grows with both
VAL_N = 200


def damaged_set(x: np.ndarray, kind: str, size: float, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return damage_each(damage, x, kind, size, first=first)


def source_mse(kind: str, size: int) -> float:
    return SOURCE[kind][(STRIPES if kind != "patch" else PATCHES).index(size)]


def setting_label(kind: str, size: int) -> str:
    return f"{kind} {'stripe width' if kind != 'patch' else 'square side'} {size}"


def evaluate(limit: int | None = None, data_path: str | None = None, **extras) -> EvalReport:
    import zoo

    p = zoo.load(NAME)
    x_all, y_all = data.load_mnist("test", data_path)
    x = x_all[np.isin(y_all, (5, 7))][:limit] if limit else x_all[np.isin(y_all, (5, 7))]
    train, _ = data.load_mnist("train", data_path)
    val, pool = train[-VAL_N:], train[:-VAL_N]  # k is tuned on digits the exemplar search never sees
    blended = p.with_exemplars(pool)  # the pipeline's option, searching the same digits as the baseline
    bank = blended.exemplars  # the exemplar baseline's bank: that same one, built once for every row and k
    rows, found = [], []
    for kind, size in tqdm(SETTINGS, desc="mnist-masked settings"):
        damaged, masks = damaged_set(x, kind, size)
        restored = images_of(p.batch(damaged, masks, batch_size=256))
        vd, vm = damaged_set(val, kind, size, first=20_000)
        near = bank.nearest(vd, vm, max(K_GRID))  # one search serves every k of the grid
        k = min(K_GRID, key=lambda kk: mean_metric(metrics.mse, val, bank.fill(vd, vm, kk, nearest=near)))
        model_mse = mean_metric(metrics.mse, x, restored)
        blend_mse = mean_metric(metrics.mse, x, images_of(blended.batch(damaged, masks, batch_size=256)))
        exemplar_mse = mean_metric(metrics.mse, x, bank.fill(damaged, masks, k))
        bih_mse = mean_metric(
            metrics.mse, x, [baselines.inpaint_biharmonic_(d, m) for d, m in zip(damaged, masks)]
        )
        oracle = float(oracle_exemplar_mse(x, masks, pool[:ORACLE_POOL]).mean())
        src = source_mse(kind, size)
        rows.append(
            [
                setting_label(kind, size),
                model_mse,
                exemplar_mse,
                k,
                bih_mse,
                mean_metric(metrics.mse, x, damaged),
                src,
                model_mse / src,
                "yes" if model_mse < exemplar_mse else "NO",
                blend_mse,
                blend_mse / src,
                "yes" if blend_mse < exemplar_mse else "NO",
                oracle,
            ]
        )
        found.append(Metric("mse", f"MSE {kind} {size}", model_mse, f"{kind}={size}"))
    table = markdown_table(
        [
            "damage",
            "mnist-masked MSE",
            "exemplar MSE",
            "exemplar k",
            "biharmonic MSE",
            "zero-fill MSE",
            "source MSE",
            "model / source",
            "below exemplar",
            "+ exemplar blend MSE",
            "blend / source",
            "blend below exemplar",
            "oracle exemplar MSE",
        ],
        rows,
    )
    table += (
        f"\n\nWhole-image MSE over {len(x):,} test digits (5s and 7s). *Exemplar*: the mean of the k "
        f"training digits (of {len(pool):,}) nearest on the visible pixels fills the hole, k chosen per row "
        f"on {VAL_N} validation digits. *+ exemplar blend*: the pipeline's option `with_exemplars` "
        "searching the same digits (each hole a weighted mean of the U-Net's fill and the mean of the "
        f"{blended.exemplar_k} nearest digits, the weight by the hole's size, chosen on validation digits "
        "by `python -m training.tune_exemplar_blend`). *Oracle exemplar*: each hole filled from the one "
        "training digit (of "
        f"the first {ORACLE_POOL:,}, each shifted by up to 2 px) that best matches the hidden pixels; it "
        "sees the answer, so it is a reference, not a method."
    )
    table += "\n\n" + _all_classes_table(p, x_all[: limit or 1000], bank)
    dataset = f"{data.describe_mnist(data_path)}: test split, digits 5 and 7, {len(x):,} images"
    return EvalReport("image-to-image", "mnist", dataset, "test", found, table, check())


def _all_classes_table(p, x: np.ndarray, bank: ExemplarBank) -> str:
    rows = []
    for kind, size in tqdm(SETTINGS, desc="all ten classes", leave=False):
        damaged, masks = damaged_set(x, kind, size)
        restored = images_of(p.batch(damaged, masks, batch_size=256))
        rows.append(
            [
                setting_label(kind, size),
                mean_metric(metrics.mse, x, restored),
                mean_metric(metrics.mse, x, bank.fill(damaged, masks, 10)),
                mean_metric(
                    metrics.mse, x, [baselines.inpaint_biharmonic_(d, m) for d, m in zip(damaged, masks)]
                ),
            ]
        )
    return f"All ten classes (the first {len(x):,} test digits):\n\n" + markdown_table(
        ["damage", "mnist-masked MSE", "exemplar MSE (k 10)", "biharmonic MSE"], rows
    )


def check() -> dict:
    """MSE at vertical stripe 7 on the first CHECK_N real MNIST test 5s/7s shipped with the zoo (on every
    machine)."""
    import zoo

    x, y = data.load_mnist("test", source="sample")
    x = x[np.isin(y, (5, 7))][:CHECK_N]
    damaged, masks = damaged_set(x, "vertical", 7)
    out = images_of(zoo.load(NAME).batch(damaged, masks))
    return {
        "n": len(x),
        "data": "MNIST test file, first 1,000 digits (shipped sample): its 5s and 7s",
        "metrics": round_check({"mse_vertical7": mean_metric(metrics.mse, x, out)}),
    }


def headline(n: int) -> dict:
    import zoo

    p = zoo.load(NAME)
    x, y = data.load_mnist("test")
    x = x[np.isin(y, (5, 7))][:n]
    damaged, masks = damaged_set(x, "vertical", 7)
    outs, secs = timed(lambda: [p(d, mask=m).image for d, m in zip(damaged, masks)])
    bih, bsecs = timed(lambda: [baselines.inpaint_biharmonic_(d, m) for d, m in zip(damaged, masks)])
    return headline_row(
        NAME,
        "MSE, vertical stripe 7 px (lower is better)",
        mean_metric(metrics.mse, x, outs),
        "biharmonic inpainting",
        mean_metric(metrics.mse, x, bih),
        source_mse("vertical", 7),
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
        api_call=("/mnist-masked", (None, 1, "patch", 9, 3, None)),
        source=SOURCE,
    )
)
