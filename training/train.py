"""Rebuild a zoo model's shipped weights.

    python -m training.train mnist-denoise                 # defaults in the task's trainer
    python -m training.train mnist-masked --steps 200      # a quick run
    python -m training.train mnist-ae2d --data /path/to/mnist-idx
    torchrun --nproc_per_node=2 -m training.train nca-fmnist   # PyTorch DDP

The trainer is found by name among `training/trainers/*` (no list to keep here).
Resumes from runs/<name>/checkpoint.pt unless --fresh; writes
zoo/weights/<name>/{model.safetensors,config.json} and their hashes into
zoo/weights/manifest.json (or --out-dir, which leaves the manifest alone).
"""

from __future__ import annotations

import argparse
import sys

import torch
import torch.distributed as dist

import zoo

from zoo.lineage import command_line
from zoo.splits import no_test_split

from .common import add_common_args, config_from_args, export_weights
from .trainers import find_trainer


@no_test_split("python -m training.train")
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = [n for n in zoo.list_models() if find_trainer(n)]
    found = find_trainer(argv[0]) if argv and zoo.is_model(argv[0]) else None
    if found is None:
        print(
            f"usage: python -m training.train NAME [options]; NAME is one of {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    name, (module, key) = argv[0], found
    defaults = module.DEFAULTS[key]
    parser = argparse.ArgumentParser(prog=f"python -m training.train {name}")
    add_common_args(parser, defaults)
    module.add_args(parser)
    args = parser.parse_args(argv[1:])
    cfg = config_from_args(args, defaults)
    torch.manual_seed(cfg.seed)  # the initial weights are part of the seeded run
    trained = module.train(name, cfg, args)
    if trained is not None:  # None: stopped early by --stop-at; rerun to resume
        model, description, *rest = trained  # (model, data description[, the loop's record])
        export_weights(
            name,
            model,
            cfg,
            description,
            command=command_line("training.train", argv),
            record=rest[0] if rest else None,
        )
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
