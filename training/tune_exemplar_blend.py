"""Choose mnist-masked's exemplar blend (k neighbours, the U-Net's share of each hole) on validation digits.

    python -m training.tune_exemplar_blend --out reports/mnist-masked-exemplar-blend --write

Validation: the first --n digits of the full MNIST's validation split (all ten classes), damaged with
every hole of the card's table; the exemplar bank is the training split, as the pipeline's is, so no
digit finds itself. The U-Net's weight is chosen per band of the hole's share of the image (small holes need
the exemplars less), minimising the squared error of the digits in that band; k is the one whose
blend has the lowest geometric mean, over the 22 holes, of its MSE over the U-Net's alone. The test
digits are never read. With --write the result goes into `zoo/pipelines/mnist_masked_blend.json`,
which `zoo.pipelines.mnist_masked` reads (EXEMPLAR_K, EXEMPLAR_WEIGHTS). The shipped U-Net was trained on all 60,000 digits, these included, so on them it
does better than on new digits: the weights chosen lean towards the U-Net (the cautious side).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import zoo
from tqdm.auto import tqdm

from zoo import data
from zoo.exemplars import ExemplarBank
from zoo.protocols.common import images_of, markdown_table
from zoo.pipelines.mnist_masked import BLEND_FILE
from zoo.pipelines.mnist_masked import EXEMPLAR_BANDS as BANDS
from zoo.pipelines.mnist_masked import hole_band
from zoo.protocols.mnist_masked import SETTINGS, damaged_set
from zoo.splits import no_test_split

from .common import write_report

K_GRID = (3, 10, 30)
WEIGHT_GRID = tuple(round(float(w), 2) for w in np.arange(0.3, 1.0001, 0.05))


def tune(n: int = 1000, data_path: str | None = None) -> dict:
    p = zoo.load("mnist-masked")
    # a given path wins over the cache; the bank searches the training split, as the pipeline's does
    val = data.load_mnist("validation", data_path, source="full")[0][:n]
    bank = ExemplarBank(data.load_mnist("train", data_path, source="full")[0])
    holes, band, unet_err = [], [], []
    err = {(k, w): [] for k in K_GRID for w in WEIGHT_GRID}  # per-image squared error, hole after hole
    for kind, size in tqdm(SETTINGS, desc="holes"):
        damaged, masks = damaged_set(val, kind, size, first=50_000)  # seeds apart from the test digits'
        unet = np.stack(images_of(p.batch(damaged, masks, batch_size=256)))  # (n, 28, 28)
        holes.append(f"{kind} {size}")
        band.append(hole_band(masks))
        unet_err.append(((unet - val) ** 2).mean((1, 2)))
        nearest = bank.nearest(damaged, masks, max(K_GRID))
        for k in K_GRID:
            fill = bank.fill(damaged, masks, k, nearest=nearest)
            for w in WEIGHT_GRID:
                err[(k, w)].append((((w * unet + (1 - w) * fill) - val) ** 2).mean((1, 2)))
    band_all = np.concatenate(band)
    best = {}
    for k in K_GRID:  # per band, the weight with the least squared error; then this k's score
        weights = [
            (
                min(WEIGHT_GRID, key=lambda w: float(np.concatenate(err[(k, w)])[band_all == b].sum()))
                if (band_all == b).any()
                else 1.0
            )
            for b in range(len(BANDS))
        ]
        per_hole = [
            float(np.choose(band[h], [err[(k, w)][h] for w in weights]).mean() / unet_err[h].mean())
            for h in range(len(holes))
        ]
        best[k] = (float(np.exp(np.mean(np.log(per_hole)))), weights, per_hole)
    k = min(best, key=lambda kk: best[kk][0])
    score, weights, ratios = best[k]
    return dict(
        n=n,
        bank=len(bank),
        k=k,
        weights=list(zip(BANDS, weights)),
        score=score,
        scores={kk: best[kk][0] for kk in K_GRID},
        holes=[dict(hole=h, unet_mse=float(u.mean()), ratio=r) for h, u, r in zip(holes, unet_err, ratios)],
    )


def report(r: dict) -> str:
    rows = [[h["hole"], h["unet_mse"], h["unet_mse"] * h["ratio"], h["ratio"]] for h in r["holes"]]
    bands = ", ".join(f"<= {b:.0%} of the pixels: {w}" for b, w in r["weights"])
    return (
        f"# mnist-masked: the exemplar blend, chosen on validation digits\n\n"
        f"`python -m training.tune_exemplar_blend`: {r['n']:,} digits of the full MNIST's validation split "
        f"(all ten classes), the {r['bank']:,} training digits as the exemplar bank. "
        f"Chosen: **k = {r['k']}**; the U-Net's weight by the hole's share of the image: {bands}. "
        f"Geometric mean of the blend's MSE over the U-Net's alone, over the 22 holes: "
        f"{r['score']:.4f} (k 3, 10, 30: {', '.join(f'{s:.4f}' for s in r['scores'].values())}). "
        "The U-Net was trained on these digits too, so it does better on them than on new ones: the "
        "weights lean towards the U-Net.\n\n"
        + markdown_table(["hole (validation digits)", "U-Net MSE", "blend MSE", "blend / U-Net"], rows)
        + "\n"
    )


def write_blend(r: dict, path: Path = BLEND_FILE) -> None:
    """The chosen k and per-band weights into the file the pipeline reads (its provenance kept)."""
    blend = json.loads(path.read_text())
    bands, weights = zip(*r["weights"])
    blend.update(k=int(r["k"]), bands=[float(b) for b in bands], weights=[float(w) for w in weights])
    path.write_text(json.dumps(blend, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path}")


@no_test_split("python -m training.tune_exemplar_blend")
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="validation digits")
    parser.add_argument("--data", default=None, help="an MNIST IDX folder (default: the fetched full MNIST)")
    parser.add_argument("--out", default=None, help="write OUT.md and OUT.json")
    parser.add_argument("--write", action="store_true", help=f"write the chosen blend into {BLEND_FILE.name}")
    args = parser.parse_args(argv)
    record = tune(args.n, args.data)
    text = report(record)
    print(text)
    if args.out:
        write_report(args.out, text, record)
    if args.write:
        write_blend(record)
    return record


if __name__ == "__main__":
    main()
