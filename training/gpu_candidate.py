"""A GPU run's weights as a candidate folder that `training.promote` and `training.screen` take: the
registry's network loaded strictly from RUN.safetensors, written with its config.json by the same
`export_weights` as the CPU trainers, the run's record (RUN.json beside it) giving the data line and
the training fields.

    python -m training.gpu_candidate runs/fg/feature-recon.safetensors --out runs/fg/cand
    python -m training.promote feature-recon runs/fg/cand

The record needs "model", "data", "steps" and "recipe" (batch, lr, seed, ema, init), as
training.feature_recon_gpu writes it. "init" names the file the run started from, which must be
here too (its sha256 goes into config.json); give --init to point at where it is now.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from safetensors.torch import load_file

from zoo.registry import get_entry
from zoo.splits import no_test_split

from .common import TrainConfig, export_weights


def candidate(run: Path, out: Path, init: str | None = None) -> Path:
    record = json.loads(run.with_suffix(".json").read_text())
    missing = [k for k in ("model", "data", "steps", "recipe") if k not in record]
    if missing:
        raise ValueError(f"{run.with_suffix('.json')} lacks {', '.join(missing)}: not a GPU run's record")
    name, recipe = record["model"], record["recipe"]
    entry = get_entry(name)
    model = entry.builder(**entry.model_kwargs)
    try:
        model.load_state_dict(load_file(str(run)))
    except RuntimeError as e:
        raise ValueError(f"{run} does not fit the registry's {name}: {e}") from e
    init = init or recipe.get("init")
    if init and not Path(init).is_file():
        raise FileNotFoundError(f"the run started from {init}, which is not here: pass --init PATH")
    cfg = TrainConfig(
        steps=record["steps"],
        batch_size=recipe["batch"],
        lr=recipe["lr"],
        seed=recipe["seed"],
        ema=recipe.get("ema"),
        init=init,
        out_dir=str(out),
    )
    return export_weights(name, model.eval(), cfg, record["data"], command=record.get("command"))


@no_test_split("python -m training.gpu_candidate")
def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="RUN.safetensors written by a GPU trainer (RUN.json beside it)")
    ap.add_argument("--out", type=Path, required=True, help="the candidate folder to write")
    ap.add_argument("--init", default=None, help="where the file the run started from is now")
    args = ap.parse_args(argv)
    return candidate(args.run, args.out, args.init)


if __name__ == "__main__":
    main()
