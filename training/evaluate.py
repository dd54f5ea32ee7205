"""Run a zoo model's evaluation protocol and rewrite its card's numbers.

    python -m training.evaluate mnist-denoise          # full protocol, rewrites the card
    python -m training.evaluate mnist-masked --limit 32 --no-write   # a quick look, card untouched
    python -m training.evaluate mnist-denoise --check-only   # only the card's zoo_check (its quick check)

The protocol comes from `zoo.protocols` by name; baselines it needs trained come from
the model's trainer (`evaluation_extras`), so no list of names is kept here.
"""

from __future__ import annotations

import argparse
import sys

import zoo
from zoo import protocols
from zoo.cards import write_attributions, write_check, write_results
from zoo import evaluation
from zoo.registry import get_entry

from .trainers import find_trainer


def run(name: str, limit: int | None = None, data_path: str | None = None):
    """The protocol's EvalReport (`zoo.evaluation.run`, with the trainer's extra baselines on a full run)."""
    extras = {}
    found = find_trainer(name)
    if not limit and found and hasattr(found[0], "evaluation_extras"):
        extras = found[0].evaluation_extras(name, data_path)
    return evaluation.run(name, limit, data_path, **extras)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate")
    parser.add_argument("name", choices=zoo.list_models())
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N test images")
    parser.add_argument("--data", default=None, help="dataset path (e.g. real MNIST IDX files)")
    parser.add_argument("--no-write", action="store_true", help="print the results, leave the card alone")
    parser.add_argument(
        "--check-only",
        action="store_true",
        help="recompute and write only the card's zoo_check (quick check)",
    )
    args = parser.parse_args(argv)
    if args.check_only:
        check = protocols.get_protocol(args.name).check()
        write_check(get_entry(args.name).card_path, check)
        print(f"wrote the zoo_check of {get_entry(args.name).card_path}: {check}")
        return 0
    report = run(args.name, args.limit, args.data)
    print(report.table_markdown)
    if args.limit or args.no_write:
        print("\n(card not rewritten: partial or --no-write run)")
        return 0
    write_results(get_entry(args.name).card_path, args.name, report)
    if "photos" in get_entry(args.name).tags:  # the credits the training photos' licences ask for
        from zoo.photo_corpus import attributions

        write_attributions(get_entry(args.name).card_path, attributions("train"))
    print(f"\nwrote {get_entry(args.name).card_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
