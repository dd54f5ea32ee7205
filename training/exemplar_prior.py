"""How much of mnist-masked's gap to the source on wide holes is the source's two-class prior?

The source trained on 5s and 7s only; the zoo's model draws all ten digits. Exemplar inpainting (the
mean of the k training digits nearest on the visible pixels, k tuned on validation 5s and 7s) is run
twice on the protocol's test 5s and 7s: searching every training digit, and only the training 5s and 7s.

    python -m training.exemplar_prior --out reports/mnist-masked-exemplar-prior
"""

from __future__ import annotations

import argparse

import numpy as np
from tqdm.auto import tqdm

from zoo import data, metrics
from zoo.exemplars import ExemplarBank
from zoo.protocols.common import markdown_table, mean_metric
from zoo.protocols.mnist_masked import VAL_N, damaged_set, setting_label, source_mse
from zoo.splits import no_test_split

from .common import write_report

ROWS = (("vertical", 11), ("horizontal", 11), ("patch", 17))  # missed <= 0.5x
ROWS += (("vertical", 21), ("horizontal", 21), ("patch", 21))  # wide: missed <= 0.8x
K_GRID = (3, 10, 30)


@no_test_split("python -m training.exemplar_prior")
def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=None, help="first N validation 5s and 7s (default: all)")
    ap.add_argument("--out", default=None, help="write OUT.json and OUT.md")
    ap.add_argument("--data", default=None, help="MNIST IDX folder (default: the fetched full MNIST)")
    args = ap.parse_args(argv)
    source = "full" if args.data is None else "auto"
    xt, yt = data.load_mnist("validation", args.data, source=source)
    x = xt[np.isin(yt, (5, 7))][: args.n]
    tr, ty = data.load_mnist("train", args.data, source=source)
    pool, pool_y = tr[:-VAL_N], ty[:-VAL_N]  # as the protocol: k is tuned on digits never searched
    val = tr[-VAL_N:][np.isin(ty[-VAL_N:], (5, 7))]
    five_seven = pool[np.isin(pool_y, (5, 7))]
    banks = {"all ten classes": ExemplarBank(pool), "5s and 7s only": ExemplarBank(five_seven)}
    rows = []
    for kind, size in tqdm(ROWS, desc="rows"):
        damaged, masks = damaged_set(x, kind, size)
        vd, vm = damaged_set(val, kind, size, first=20_000)
        row = {"damage": setting_label(kind, size), "source": source_mse(kind, size)}
        for name, bank in banks.items():
            near = bank.nearest(vd, vm, max(K_GRID))
            k = min(K_GRID, key=lambda kk: mean_metric(metrics.mse, val, bank.fill(vd, vm, kk, nearest=near)))
            row[name] = {"k": k, "mse": mean_metric(metrics.mse, x, bank.fill(damaged, masks, k))}
        rows.append(row)
    table = []
    for r in rows:
        a, b = r["all ten classes"], r["5s and 7s only"]
        cells = [[f"{m['mse']:.4g} ({m['k']})", f"{m['mse'] / r['source']:.2f}x"] for m in (a, b)]
        table.append([r["damage"], r["source"], *cells[0], *cells[1], f"{b['mse'] / a['mse'] - 1:+.1%}"])
    headers = ["damage", "source MSE", "all ten classes MSE (k)", "/ source", "5s and 7s only MSE (k)"]
    text = (
        f"Exemplar inpainting on the first {len(x):,} test 5s and 7s, searching {len(pool):,} training "
        f"digits or their {len(five_seven):,} 5s and 7s (`python -m training.exemplar_prior`).\n\n"
        + markdown_table([*headers, "/ source", "change"], table)
        + "\n"
    )
    print(text)
    if args.out:
        write_report(args.out, text, rows)
    return rows


if __name__ == "__main__":
    main()
