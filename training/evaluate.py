"""Run a zoo model's evaluation protocol and rewrite its card's numbers.

    python -m training.evaluate mnist-denoise          # full protocol, rewrites cards/mnist-denoise.md
    python -m training.evaluate mnist-masked --limit 32 --no-write   # a quick look, card untouched
"""
from __future__ import annotations

import argparse
import sys

from zoo.cards import write_results
from zoo.registry import CARDS_DIR, get_entry

from . import eval_feature_recon, eval_mnist, eval_nca

EVALUATORS = {
    **{name: (lambda name: lambda limit=None, data_path=None: eval_feature_recon.evaluate(name, limit, data_path))(name)
       for name in eval_feature_recon.FEATURE_NAMES},
    "nca-fmnist": lambda limit=None, data_path=None: eval_nca.evaluate(limit, data_path, with_baselines=not limit),
    "mnist-denoise": eval_mnist.evaluate_denoise,
    "mnist-masked": eval_mnist.evaluate_masked,
    "mnist-ae2d": lambda limit=None, data_path=None: eval_mnist.evaluate_ae2d(
        limit, data_path, plot_path=None if limit else CARDS_DIR / "mnist-ae2d-embedding.png"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate")
    parser.add_argument("name", choices=sorted(EVALUATORS))
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N test images")
    parser.add_argument("--data", default=None, help="dataset path (e.g. real MNIST IDX files)")
    parser.add_argument("--no-write", action="store_true", help="print the results, leave the card alone")
    args = parser.parse_args(argv)
    report = EVALUATORS[args.name](limit=args.limit, data_path=args.data)
    print(report.table_markdown)
    if args.limit or args.no_write:
        print("\n(card not rewritten: partial or --no-write run)")
        return 0
    write_results(get_entry(args.name).card_path, args.name, report)
    print(f"\nwrote {get_entry(args.name).card_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
