"""A uniform "model soup": average the weights of runs that fine-tuned the same start.

    python -m training.soup mnist-masked runs/mm-soup/out runs/mm-mse/out runs/mm-wide/out
    python -m training.screen mnist-masked zoo/weights/mnist-masked runs/mm-soup/out --n 1920
    python -m training.promote mnist-masked runs/mm-soup/out

Averaging only makes sense for runs that began from the same weights (Wortsman et al. 2022, "Model
soups"): their minima lie in one basin, so the mean is a model too, often a slightly better one.
Each ingredient is checked as training.promote checks a candidate (same model, the registry's
network, tensors that load strictly) and must name the same --init file; anything else is refused
before OUT is written. Floating-point tensors are averaged; integer buffers (counters) are taken from
the first ingredient. OUT gets model.safetensors and a config.json copied from the first ingredient,
with "soup" listing every ingredient's folder, weight hash and training record.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from zoo.hub import file_record
from zoo.lineage import chain_before, command_line, lineage_for, new_run
from zoo.splits import no_test_split

from .promote import check_candidate


def soup(name: str, out: Path, folders: list[Path], command: str | None = None) -> Path:
    """Write the uniform average of `folders`' weights (>= 2 runs of `name`) into `out`; its lineage is
    one run (`command`) whose "ingredients" are the ingredients' recorded chains."""
    folders = [Path(f) for f in folders]
    if len(folders) < 2:
        raise ValueError("a soup needs at least two ingredient folders")
    configs = []
    for folder in folders:
        check_candidate(name, folder)
        configs.append(json.loads((folder / "config.json").read_text()))
    starts = {c.get("init", {}).get("sha256") for c in configs}
    if len(starts) != 1:
        raise ValueError(
            "the ingredients started from different weights (config.json 'init'); only runs "
            "fine-tuned from one start average into a working model"
        )
    if starts == {None}:  # from scratch: each run's random start is its own, whatever its seed
        raise ValueError("every ingredient must be a fine-tune (--init): runs from scratch share no start")
    states = [load_file(str(f / "model.safetensors")) for f in folders]
    averaged = {}
    for key, first in states[0].items():
        if first.is_floating_point():  # [shape of the tensor], averaged in float64, stored as trained
            stacked = torch.stack([s[key].double() for s in states])
            averaged[key] = stacked.mean(0).to(first.dtype).contiguous()
        else:
            averaged[key] = first.contiguous()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(averaged, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = dict(configs[0])
    config["soup"] = {
        "method": "uniform average of the ingredients' weights (python -m training.soup)",
        "ingredients": [
            {
                "folder": str(folder),
                "sha256": file_record(folder / "model.safetensors").sha256,
                "training": c.get("training"),
                "data": c.get("data"),
            }
            for folder, c in zip(folders, configs)
        ],
    }
    run = new_run(
        command=command,
        data=configs[0].get("lineage", {}).get("data"),
        device="cpu",
        steps=0,
        seed=0,
        init=None,
    )
    run["ingredients"] = [chain_before(folder / "model.safetensors") for folder in folders]
    config["lineage"] = lineage_for(run, [], out / "model.safetensors")
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return out


@no_test_split("python -m training.soup")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.soup", description=__doc__.split("\n")[0])
    parser.add_argument("name", help="registry name, e.g. mnist-masked")
    parser.add_argument("out", type=Path, help="folder for the averaged model.safetensors + config.json")
    parser.add_argument("folders", type=Path, nargs="+", help="two or more candidates' --out-dir folders")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    try:
        out = soup(args.name, args.out, args.folders, command_line("training.soup", argv))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"[{args.name}] averaged {len(args.folders)} runs -> {out}; screen it with training.screen")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
