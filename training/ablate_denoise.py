"""Which lever moves mnist-denoise at sigma 0.5? Short training probes side by side.

    python -m training.ablate_denoise                 # 4 probes x 1,500 steps, ~35 min on 2 CPU cores
    python -m training.ablate_denoise --steps 300 --n 100 --variants recipe,fixed-sigma

Each probe trains the shipped recipe with one change (same seed, same batches, same
step budget) and is scored with the card's protocol (clip(x + 0.5 N(0,1)), noise seed
1000 + i) on the first --n validation digits, beside the shipped weights on the same digits
and on the first --n training digits (a gap between the two would mean overfitting).
Probes checkpoint to runs/ablate-denoise/<variant>-<steps> and resume when rerun. Results go to
reports/mnist-denoise-ablation.{md,json}; the card's Limitations quote them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import zoo
from zoo import data, metrics
from zoo.registry import get_entry
from zoo.splits import no_test_split

from .common import RUNS_DIR, TrainConfig, train_loop, write_report
from zoo.protocols.common import markdown_table, mean_metric
from zoo.protocols.mnist_denoise import noisy_digits

from .trainers.mnist_family import DEFAULTS, denoise_loss, training_digits

# variant -> (what changes, U-Net kwargs over the shipped ones, denoise_loss kwargs)
VARIANTS = {
    "recipe": ("the shipped recipe: base 32, sigma ~ U(0.1, 0.8), MSE", {}, {}),
    "fixed-sigma": ("noise sigma fixed at 0.5 (the protocol's)", {}, {"sigmas": (0.5, 0.5)}),
    "wide": ("U-Net base 48 (2.2x the parameters)", {"base_channels": 48}, {}),
    "psnr-loss": ("loss = mean per-image -PSNR instead of MSE", {}, {"psnr_loss": True}),
}
REPORT = Path("reports/mnist-denoise-ablation")


def score(model: torch.nn.Module, clean: np.ndarray, noisy: np.ndarray) -> tuple[float, float]:
    """Mean PSNR and SSIM of the denoised `noisy` against `clean`, both (N, 28, 28)."""
    with torch.inference_mode():  # a probe, not a shipped model: no pipeline wraps it
        out = model.eval()(torch.from_numpy(noisy[:, None])).clamp(0, 1).numpy()[:, 0]
    return mean_metric(metrics.psnr, clean, out), mean_metric(metrics.ssim, clean, out)


@no_test_split("python -m training.ablate_denoise")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.ablate_denoise", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--steps", type=int, default=1500, help="optimiser steps per probe")
    parser.add_argument("--n", type=int, default=500, help="validation digits scored")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated, from {', '.join(VARIANTS)}"
    )
    parser.add_argument("--out", default=str(REPORT), help="report path without extension")
    args = parser.parse_args(argv)
    chosen = args.variants.split(",")
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    clean, _ = data.load_mnist("validation")
    clean = clean[: args.n]
    noisy = noisy_digits(clean, 0.5)  # the card's noise seeds, shared by every row
    seen, _ = data.load_mnist("train")
    seen = seen[: args.n]
    shipped, net = DEFAULTS["mnist-denoise"], zoo.load("mnist-denoise").model
    # The shipped weights on validation digits and on as many of the digits they were trained on (overfitting?).
    results = {
        "shipped": dict(
            zip(("psnr", "ssim"), score(net, clean, noisy)), steps=shipped.steps, change="the shipped weights"
        ),
        "shipped-on-train": dict(
            zip(("psnr", "ssim"), score(net, seen, noisy_digits(seen, 0.5))),
            steps=shipped.steps,
            change="the shipped weights, scored on training digits instead",
        ),
    }
    entry = get_entry("mnist-denoise")
    digits = training_digits(TrainConfig())  # (4000, 1, 28, 28), the shipped recipe's training digits
    for variant in chosen:
        change, model_kwargs, loss_kwargs = VARIANTS[variant]
        cfg = TrainConfig(
            steps=args.steps,
            batch_size=shipped.batch_size,
            lr=shipped.lr,
            run_dir=str(RUNS_DIR / "ablate-denoise" / f"{variant}-{args.steps}"),
        )
        torch.manual_seed(cfg.seed)  # same initial weights for every probe of one width
        model = entry.builder(
            **{**entry.model_kwargs, **model_kwargs}
        )  # the shipped architecture, one kwarg changed
        model = train_loop(
            f"ablate {variant}", model, denoise_loss(digits, cfg.batch_size, **loss_kwargs), cfg
        )
        psnr, ssim = score(model, clean, noisy)
        results[variant] = {
            "psnr": psnr,
            "ssim": ssim,
            "steps": args.steps,
            "change": change,
            "parameters": sum(p.numel() for p in model.parameters()),
        }
        print(f"{variant}: PSNR {psnr:.2f} dB, SSIM {ssim:.4f}", flush=True)
    base = results.get("recipe")
    rows = [
        [
            name,
            r["change"],
            r["steps"],
            r["psnr"],
            r["ssim"],
            (
                ""
                if base is None or name in ("shipped", "shipped-on-train", "recipe")
                else f"{r['psnr'] - base['psnr']:+.2f}"
            ),
        ]
        for name, r in results.items()
    ]
    table = markdown_table(["probe", "change", "steps", "PSNR (dB)", "SSIM", "PSNR vs recipe probe"], rows)
    text = (
        f"# mnist-denoise: what moves PSNR at sigma 0.5\n\n{table}\n\nFirst {len(clean)} validation digits, the "
        f"card's noise seeds. Rerun: `python -m training.ablate_denoise --steps {args.steps} --n {args.n}`.\n"
    )
    write_report(Path(args.out), text, results)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
