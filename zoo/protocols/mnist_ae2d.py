"""mnist-ae2d's protocol: reconstruction MSE of MNIST test 5s and 7s through the 2-D bottleneck.

Beside the mean training 5/7 digit and the source's target (< 0.07); the full run also
draws the test digits' 2-D embedding into the card's folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import data, metrics
from ..cards import EvalReport, Metric
from .base import Protocol, register_protocol
from .common import CHECK_N, headline_row, images_of, markdown_table, mean_metric, round_check, timed

NAME = "mnist-ae2d"
SOURCE = {"mse_target": 0.07}
PLOT_NAME = "mnist-ae2d-embedding.png"


def _fives_and_sevens(split: str, data_path=None, source: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    x, y = data.load_mnist(split, data_path, source)
    keep = np.isin(y, (5, 7))
    return x[keep], y[keep]


def evaluate(
    limit: int | None = None, data_path: str | None = None, card_dir: Path | None = None, **extras
) -> EvalReport:
    import zoo

    p = zoo.load(NAME)
    x, y = _fives_and_sevens("test", data_path)
    x, y = (x[:limit], y[:limit]) if limit else (x, y)
    mean_img = _fives_and_sevens("train", data_path)[0].mean(axis=0)
    recon = images_of(p.batch(x, batch_size=512))
    model_mse = mean_metric(metrics.mse, x, recon)
    layers = "-".join(str(h) for h in p.entry.model_kwargs["hidden"])
    rows = [
        [f"mnist-ae2d (784-{layers}-2)", model_mse],
        ["mean training 5/7 digit", mean_metric(metrics.mse, x, [mean_img] * len(x))],
        ["source project target (784-2-784)", f"< {SOURCE['mse_target']}"],
    ]
    table = (
        markdown_table(["method", "reconstruction MSE"], rows) + f"\n\n{len(x):,} test digits (5s and 7s)."
    )
    if card_dir is not None:
        from ..plots import embedding_figure

        embedding_figure(p.encode_batch(x), y, Path(card_dir) / PLOT_NAME)
        table += f"\n\n![2-D embedding of the test digits]({PLOT_NAME})"
    dataset = f"{data.describe_mnist(data_path)}: test split, digits 5 and 7, {len(x):,} images"
    return EvalReport(
        "image-to-image",
        "mnist",
        dataset,
        "test",
        [Metric("mse", "reconstruction MSE", model_mse)],
        table,
        check(),
    )


def check() -> dict:
    import zoo

    x = _fives_and_sevens("test", source="sample")[0][:CHECK_N]
    out = images_of(zoo.load(NAME).batch(x))
    return {
        "n": len(x),
        "data": "MNIST test file, first 1,000 digits (shipped sample): its 5s and 7s",
        "metrics": round_check({"mse": mean_metric(metrics.mse, x, out)}),
    }


def headline(n: int) -> dict:
    import zoo

    p = zoo.load(NAME)
    x = _fives_and_sevens("test")[0][:n]
    mean_digit = _fives_and_sevens("train")[0].mean(axis=0)
    outs, secs = timed(lambda: [p(z).image for z in x])
    return headline_row(
        NAME,
        "reconstruction MSE (lower is better)",
        mean_metric(metrics.mse, x, outs),
        "the mean training digit",
        mean_metric(metrics.mse, x, [mean_digit] * len(x)),
        f"< {SOURCE['mse_target']} (target)",
        1000 * secs / len(x),
        0.0,
        len(x),
    )


register_protocol(
    Protocol(NAME, evaluate, check, headline, api_call=("/mnist-ae2d", (None, 2)), source=SOURCE)
)
