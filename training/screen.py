"""Candidate weights side by side on their trainer's validation figures, before a full evaluation.

    python -m training.screen nca-fmnist zoo/weights/nca-fmnist runs/nca-deep/out --n 2000
    python -m training.screen mnist-denoise zoo/weights/mnist-denoise runs/dn-ctx/out --n 2000
    python -m training.screen feature-recon zoo/weights/feature-recon runs/fr/out --out reports/fr-screen

Each folder holds a model.safetensors and its config.json (a training run's --out-dir, or the shipped
folder); the network is built from that config's model_kwargs, so candidates with added blocks are
scored as they were trained. The scores are the figures the model's trainer reports at its
checkpoints (`validator(name, cfg, args, n)` of `training/trainers/<task>.py`), on the first --n images
of the validation split, never the test split. The table goes to stdout and, with --out, to OUT.md and
OUT.json; `training.promote NAME FOLDER --selected-on validation` then ships the winner.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from tqdm.auto import tqdm

from zoo import list_models
from zoo.hub import init_kwargs
from zoo.protocols.common import markdown_table
from zoo.registry import get_entry
from zoo.splits import no_test_split

from .common import SHIPPED_FILES, TrainConfig, write_report
from .trainers import find_trainer


def candidate(name: str, folder: Path) -> tuple[torch.nn.Module, dict]:
    """The network of the weights in `folder`, built from its own config.json, in eval mode."""
    config = json.loads((folder / "config.json").read_text())
    if config.get("name") != name:
        raise SystemExit(f"{folder}: config.json is for {config.get('name')!r}, not {name}")
    entry = dataclasses.replace(get_entry(name), model_kwargs=init_kwargs(config))
    model = entry.builder(**entry.model_kwargs)
    model.load_state_dict(load_file(str(folder / "model.safetensors")))  # strict: the config's network
    return model.eval(), config


def describe(name: str, config: dict) -> str:
    """What distinguishes a candidate: its options beyond the registry's network, and its start."""
    registry = json.loads(json.dumps(get_entry(name).model_kwargs))  # tuples as config.json stores them
    options = [f"{k}={v}" for k, v in init_kwargs(config).items() if registry.get(k) != v]
    init = config.get("init", {})
    start = f"from {init['file']} ({init['sha256'][:8]})" if init else "from scratch"
    new = f", new {init['new_modules']}" if init.get("new_modules") else ""
    return f"{', '.join(options) or 'registry network'}; {start}{new}"


def screen(
    name: str, folders: list[Path], n: int, data: str | None = None, device: str = "cpu"
) -> list[dict]:
    module, _ = find_trainer(name)
    validate = module.validator(name, TrainConfig(data=data, device=device), None, n)
    if validate is None:
        raise SystemExit(f"{name}: no validation images to screen on (see the message above)")
    rows = []
    for folder in tqdm(folders, desc="candidates"):
        model, config = candidate(name, folder)
        with torch.no_grad():
            scores = validate(model.to(device))
        rows.append({"weights": str(folder), "what": describe(name, config), **scores})
    return rows


@no_test_split("python -m training.screen")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.screen", description=__doc__.split("\n")[0])
    names = [n for n in list_models() if find_trainer(n)]
    parser.add_argument("name", choices=names, help="the model whose candidates are compared")
    parser.add_argument("folders", nargs="+", type=Path, help="folders with model.safetensors + config.json")
    parser.add_argument("--n", type=int, default=2000, help="first N validation images")
    parser.add_argument("--data", default=None, help="the dataset path the trainer takes (--data)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None, help="write OUT.md and OUT.json too")
    args = parser.parse_args(argv)
    for folder in args.folders:
        if not all((folder / f).is_file() for f in SHIPPED_FILES):
            parser.error(f"{folder}: needs model.safetensors and config.json (a training --out-dir)")
    rows = screen(args.name, args.folders, args.n, args.data, args.device)
    table = markdown_table(list(rows[0]), [list(row.values()) for row in rows])
    text = (
        f"{args.name}: the trainer's validation figures on the first {args.n} validation images.\n\n{table}\n"
    )
    print(text)
    if args.out:
        write_report(args.out, text, {"n": args.n, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
