"""Rebuild a zoo model's shipped weights.

    python -m training.train mnist-denoise                 # defaults in the task's trainer
    python -m training.train mnist-masked --steps 200      # a quick run
    python -m training.train mnist-ae2d --data /path/to/mnist-idx
    torchrun --nproc_per_node=2 -m training.train nca-fmnist   # PyTorch DDP

Resumes from runs/<name>/checkpoint.pt unless --fresh; writes
zoo/weights/<name>/{model.safetensors,config.json} and their hashes into
zoo/weights/manifest.json (or --out-dir, which leaves the manifest alone).
"""
from __future__ import annotations

import argparse
import sys

from . import mnist_family
from .common import add_common_args, config_from_args, export_weights, train_loop

TRAINERS = {name: mnist_family for name in mnist_family.DEFAULTS}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = sorted(TRAINERS)
    if not argv or argv[0] not in TRAINERS:
        print(f"usage: python -m training.train NAME [options]; NAME is one of {', '.join(names)}", file=sys.stderr)
        return 2
    name, module = argv[0], TRAINERS[argv[0]]
    defaults = module.DEFAULTS[name]
    parser = argparse.ArgumentParser(prog=f"python -m training.train {name}")
    add_common_args(parser, defaults)
    cfg = config_from_args(parser.parse_args(argv[1:]), defaults)
    model, loss_fn, data_description = module.build(name, cfg)
    model = train_loop(name, model, loss_fn, cfg)
    export_weights(name, model, cfg, data_description)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
