"""Ship a candidate run's weights: copy an `--out-dir` folder into the package and record its hashes.

    python -m training.train mnist-ae2d --init zoo/weights/mnist-ae2d/model.safetensors \\
        --rotate 6 --zoom 0.06 --out-dir runs/ae-aff/out      # a candidate, the package untouched
    python -m training.promote mnist-ae2d runs/ae-aff/out     # now the shipped weights
    python -m training.evaluate mnist-ae2d                    # and the card says what they score

The candidate must be a run of that very model: its config.json names it, its `model_kwargs`
equal the registry's, and its tensors load strictly into the model. Anything else is refused
before a file of the package changes. The previous shipped files stay in git.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file

from zoo.hub import ResolvedWeights, WeightsError, model_kwargs_from_config
from zoo.lineage import SELECTIONS
from zoo.registry import WEIGHTS_DIR, get_entry
from zoo.splits import no_test_split

from .common import SHIPPED_FILES, record_shipped


def check_candidate(name: str, folder: Path) -> None:
    """ValueError naming what is wrong unless `folder` holds weights + config of `name`."""
    entry = get_entry(name)
    missing = [f for f in SHIPPED_FILES if not (folder / f).is_file()]
    if missing:
        raise ValueError(
            f"{folder}: {', '.join(missing)} missing (an --out-dir of training.train holds both)"
        )
    config = json.loads((folder / "config.json").read_text())
    if config.get("name") != name:
        raise ValueError(f"{folder}/config.json is a run of {config.get('name')!r}, not {name!r}")
    try:  # the same check zoo.load makes on shipped weights (tuples compared as config.json stores them)
        candidate = ResolvedWeights("candidate", {"config.json": folder / "config.json"})
        model_kwargs_from_config(entry, config, candidate)
    except WeightsError as e:
        raise ValueError(
            f"{folder}/config.json: model_kwargs differ from the registry's; change the registry entry "
            f"first. {e}"
        ) from e
    try:
        entry.builder(**entry.model_kwargs).load_state_dict(load_file(str(folder / "model.safetensors")))
    except (RuntimeError, OSError, ValueError) as e:
        raise ValueError(f"{folder}/model.safetensors does not load into {name}: {str(e)[:300]}") from e


def promote(
    name: str,
    folder: Path,
    weights_dir: Path | None = None,
    manifest: Path | None = None,
    selected_on: str | None = None,
) -> Path:
    """Copy the candidate's files into <weights_dir>/<name>/ (default: the package's) and record them
    in the manifest. `selected_on` ("validation": it won a comparison on validation figures; "single
    run") is written into the lineage of the shipped config.json."""
    folder = Path(folder)
    check_candidate(name, folder)
    if selected_on is not None and selected_on not in SELECTIONS:
        raise ValueError(f"--selected-on must be one of {SELECTIONS}, got {selected_on!r}")
    target = Path(weights_dir if weights_dir is not None else WEIGHTS_DIR) / name
    if folder.resolve() != target.resolve():
        target.mkdir(parents=True, exist_ok=True)
        for f in SHIPPED_FILES:
            shutil.copyfile(folder / f, target / f)
    if selected_on is not None:
        config = json.loads((target / "config.json").read_text())
        if isinstance(config.get("lineage"), dict):
            config["lineage"]["selected_on"] = selected_on
            (target / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    record_shipped(name, weights_dir, manifest)
    return target


@no_test_split("python -m training.promote")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.promote", description=__doc__.split("\n")[0])
    parser.add_argument("name", help="registry name, e.g. mnist-ae2d")
    parser.add_argument("folder", type=Path, help="the candidate's --out-dir")
    parser.add_argument(
        "--selected-on",
        choices=SELECTIONS,
        default=None,
        help="how this candidate was chosen: 'validation' (it won on validation figures, e.g. "
        "training.screen) or 'single run'; recorded in the lineage",
    )
    args = parser.parse_args(argv)
    try:
        target = promote(args.name, args.folder, selected_on=args.selected_on)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"[{args.name}] shipped {args.folder} -> {target}; run `python -m training.evaluate {args.name}`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
