"""Candidate weights side by side on a model's protocol, on its first validation images, before a full
evaluation (and for the levers that were measured but not shipped, which the cards quote).

    python -m training.screen nca-fmnist zoo/weights/nca-fmnist runs/nca-deep/out --n 2000
    python -m training.screen mnist-denoise zoo/weights/mnist-denoise runs/dn-ctx/out --n 2000
    python -m training.screen mnist-masked zoo/weights/mnist-masked runs/mm-mse/out --n 1920

Each folder holds a model.safetensors and its config.json (a training run's --out-dir, or the shipped
folder); the network is built from that config's model_kwargs, so candidates with added blocks are
scored as they were trained. Scored with the card's damage and seeds (image i's from
default_rng(1000 + i)) on the first --n validation images:
  nca-fmnist: per mask ratio, the PSNR of the 20-step repair and the candidate's own classifier's
    accuracy on it, and its clean accuracy;
  mnist-denoise: per noise sigma, PSNR and SSIM;
  mnist-masked: per hole (kind:size, e.g. vertical:15), the whole-image MSE on the test 5s and 7s.
The table goes to stdout and, with --out, to OUT.md and OUT.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Callable

from safetensors.torch import load_file
from tqdm.auto import tqdm

from zoo import data, metrics
from zoo.protocols import mnist_denoise, mnist_masked, nca_fmnist
from zoo.protocols.common import images_of, markdown_table, mean_metric
from zoo.registry import get_entry
from zoo.splits import no_test_split

from .common import SHIPPED_FILES, write_report


def candidate(name: str, folder: Path):
    """The pipeline of the weights in `folder`, built from its own config.json."""
    config = json.loads((folder / "config.json").read_text())
    if config.get("name") != name:
        raise SystemExit(f"{folder}: config.json is for {config.get('name')!r}, not {name}")
    entry = dataclasses.replace(get_entry(name), model_kwargs=config["model_kwargs"])
    model = entry.builder(**entry.model_kwargs)
    model.load_state_dict(load_file(str(folder / "model.safetensors")))  # strict: the config's network
    return entry.pipeline_cls(entry, model, config=config), config


def describe(name: str, config: dict) -> str:
    """What distinguishes a candidate: its options beyond the registry's network, and its start."""
    registry = json.loads(json.dumps(get_entry(name).model_kwargs))  # tuples as config.json stores them
    options = [f"{k}={v}" for k, v in config["model_kwargs"].items() if registry.get(k) != v]
    init = config.get("init", {})
    start = f"from {init['file']} ({init['sha256'][:8]})" if init else "from scratch"
    new = f", new {init['new_modules']}" if init.get("new_modules") else ""
    return f"{', '.join(options) or 'registry network'}; {start}{new}"


def nca_scorer(n: int, ratios: list[float]) -> Callable:
    x, y = data.load_fashion_mnist("validation")
    x, y = x[:n], y[:n]
    sets = {r: nca_fmnist.damaged_set(x, r) for r in ratios}

    def score(p) -> dict[str, float]:
        row = {}
        for r, (damaged, masks) in sets.items():
            repaired = images_of(nca_fmnist.repair(p, damaged, masks)[0])
            row[f"PSNR {r}"] = mean_metric(metrics.psnr, x, repaired)
            row[f"acc {r}"] = float((p.classify_batch(repaired).argmax(1) == y).mean())
        return {**row, "acc clean": float((p.classify_batch(x).argmax(1) == y).mean())}

    return score


def denoise_scorer(n: int, sigmas: list[float]) -> Callable:
    x = data.load_mnist("validation")[0][:n]
    noisy = {s: mnist_denoise.noisy_digits(x, s) for s in sigmas}

    def score(p) -> dict[str, float]:
        row = {}
        for s, batch in noisy.items():
            out = images_of(p.batch(batch, batch_size=256))
            row[f"PSNR {s}"] = mean_metric(metrics.psnr, x, out)
            row[f"SSIM {s}"] = mean_metric(metrics.ssim, x, out)
        return row

    return score


def masked_scorer(n: int, holes: list[tuple[str, int]]) -> Callable:
    x, y = data.load_mnist("validation")
    x = x[(y == 5) | (y == 7)][:n]
    sets = {(kind, size): mnist_masked.damaged_set(x, kind, size) for kind, size in holes}

    def score(p) -> dict[str, float]:
        row = {}
        for (kind, size), (damaged, masks) in sets.items():
            restored = images_of(p.batch(damaged, masks, batch_size=256))
            row[f"MSE {kind} {size}"] = mean_metric(metrics.mse, x, restored)
        return row

    return score


def parse_holes(text: str) -> list[tuple[str, int]]:
    """'vertical:15,patch:21' -> [("vertical", 15), ("patch", 21)]."""
    holes = []
    for item in text.split(","):
        kind, _, size = item.partition(":")
        if (kind, int(size or 0)) not in mnist_masked.SETTINGS:
            raise ValueError(f"{item!r} is not one of the protocol's holes (kind:size, e.g. vertical:15)")
        holes.append((kind, int(size)))
    return holes


def parse_floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


# name -> (scorer factory, what --levels means, its default, its parser)
SCORERS = {
    "nca-fmnist": (nca_scorer, "mask ratios", "0.4,0.6,0.8", parse_floats),
    "mnist-denoise": (denoise_scorer, "noise sigmas", ",".join(map(str, mnist_denoise.SIGMAS)), parse_floats),
    "mnist-masked": (
        masked_scorer,
        "holes",
        ",".join(f"{k}:{s}" for k, s in mnist_masked.SETTINGS),
        parse_holes,
    ),
}


def screen(name: str, folders: list[Path], n: int, levels: list[float]) -> list[dict]:
    score = SCORERS[name][0](n, levels)
    rows = []
    for folder in tqdm(folders, desc="candidates"):
        p, config = candidate(name, folder)
        rows.append({"weights": str(folder), "what": describe(name, config), **score(p)})
    return rows


@no_test_split("python -m training.screen")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.screen", description=__doc__.split("\n")[0])
    parser.add_argument("name", choices=sorted(SCORERS), help="the model whose candidates are compared")
    parser.add_argument("folders", nargs="+", type=Path, help="folders with model.safetensors + config.json")
    parser.add_argument("--n", type=int, default=2000, help="first N validation images")
    parser.add_argument(
        "--levels",
        default=None,
        help="comma-separated: nca-fmnist's mask ratios (0.4,0.6,0.8), mnist-denoise's sigmas (0.3,0.5,0.7), "
        "mnist-masked's holes (vertical:15,horizontal:21,patch:21; default all 22)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write OUT.md and OUT.json too")
    args = parser.parse_args(argv)
    for folder in args.folders:
        if not all((folder / f).is_file() for f in SHIPPED_FILES):
            parser.error(f"{folder}: needs model.safetensors and config.json (a training --out-dir)")
    _, what, default, parse = SCORERS[args.name]
    try:
        levels = parse(args.levels or default)
    except ValueError as err:
        parser.error(f"--levels: {err}")
    rows = screen(args.name, args.folders, args.n, levels)
    table = markdown_table(list(rows[0]), [list(row.values()) for row in rows])
    text = f"{args.name}: first {args.n} validation images, the protocol's damage and seeds ({what}).\n\n{table}\n"
    print(text)
    if args.out:
        write_report(args.out, text, {"n": args.n, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
