"""Candidate nca-fmnist weights side by side on the card's protocol, before a full evaluation.

    python -m training.screen_nca zoo/weights/nca-fmnist runs/nca-deep/out runs/nca-ctrl/out --n 2000

Each folder holds a model.safetensors and its config.json (a training run's --out-dir, or the shipped
folder); the network is built from that config's model_kwargs, so candidates with added blocks
(deep perception, ratio embedding) are scored as they were trained. Per mask ratio, on the first --n
Fashion-MNIST test images with the protocol's masks (image i's from default_rng(1000 + i)): the PSNR
of the automaton's 20-step repair and the accuracy of the candidate's own classifier on it.
The table goes to stdout and to --out (.md and .json); the card quotes it for levers not shipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from safetensors.torch import load_file
from tqdm.auto import tqdm

from zoo import data, metrics
from zoo.protocols.common import images_of, markdown_table, mean_metric
from zoo.protocols.nca_fmnist import damaged_set, repair
from zoo.registry import get_entry

NAME = "nca-fmnist"


def candidate(folder: Path):
    """The pipeline of the weights in `folder`, built from its own config.json."""
    config = json.loads((folder / "config.json").read_text())
    if config.get("name") != NAME:
        raise SystemExit(f"{folder}: config.json is for {config.get('name')!r}, not {NAME}")
    entry = dataclasses.replace(get_entry(NAME), model_kwargs=config["model_kwargs"])
    model = entry.builder(**entry.model_kwargs)
    model.load_state_dict(load_file(str(folder / "model.safetensors")))  # strict: the config's network
    return entry.pipeline_cls(entry, model, config=config), config


def describe(config: dict) -> str:
    """What distinguishes a candidate: its options beyond the shipped network, and its start."""
    shipped = get_entry(NAME).model_kwargs
    options = [f"{k}={v}" for k, v in config["model_kwargs"].items() if shipped.get(k) != v]
    init = config.get("init", {})
    start = f"from {init['file']} ({init['sha256'][:8]})" if init else "from scratch"
    new = f", new {init['new_modules']}" if init.get("new_modules") else ""
    return f"{', '.join(options) or 'shipped network'}; {start}{new}"


def screen(folders: list[Path], n: int, ratios: list[float]) -> list[dict]:
    x, y = data.load_fashion_mnist("test")
    x, y = x[:n], y[:n]
    sets = {r: damaged_set(x, r) for r in ratios}
    rows = []
    for folder in tqdm(folders, desc="candidates"):
        p, config = candidate(folder)
        row = {"weights": str(folder), "what": describe(config)}
        for r, (damaged, masks) in sets.items():
            repaired = images_of(repair(p, damaged, masks)[0])
            row[f"psnr_{r}"] = mean_metric(metrics.psnr, x, repaired)
            row[f"accuracy_{r}"] = float((p.classify_batch(repaired).argmax(1) == y).mean())
        row["accuracy_clean"] = float((p.classify_batch(x).argmax(1) == y).mean())
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.screen_nca", description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders with model.safetensors + config.json")
    parser.add_argument("--n", type=int, default=2000, help="first N test images")
    parser.add_argument("--ratios", default="0.4,0.6,0.8", help="comma-separated mask ratios")
    parser.add_argument("--out", type=Path, default=None, help="write OUT.md and OUT.json too")
    args = parser.parse_args(argv)
    for folder in args.folders:
        if not (folder / "model.safetensors").is_file() or not (folder / "config.json").is_file():
            parser.error(f"{folder}: needs model.safetensors and config.json (a training --out-dir)")
    ratios = [float(r) for r in args.ratios.split(",")]
    rows = screen(args.folders, args.n, ratios)
    headers = ["weights", "what", *(f"PSNR {r}" for r in ratios), *(f"acc {r}" for r in ratios), "acc clean"]
    keys = [*(f"psnr_{r}" for r in ratios), *(f"accuracy_{r}" for r in ratios), "accuracy_clean"]
    table = markdown_table(headers, [[row["weights"], row["what"], *(row[k] for k in keys)] for row in rows])
    text = f"First {args.n} Fashion-MNIST test images, protocol masks, 20 automaton steps.\n\n{table}\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps({"n": args.n, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
