"""Rebuild a weights file by replaying the chain of runs its `config.json` lineage records.

    python -m training.rebuild cifar10-blocks                     # the shipped weights' chain
    python -m training.rebuild mnist-ae2d --from runs/ae/out      # a candidate folder's chain
    python -m training.rebuild mnist-ae2d --dry-run               # print the commands only
    python -m training.rebuild mnist-ae2d --from F --steps 2 --limit 64   # the chain in miniature

Each recorded run (`python -m training.train ...`, `python -m training.soup ...`) runs again, in
order, into `--out-dir` (default runs/rebuild/NAME/): its own output and checkpoint folders replace
the recorded ones, and a run that started from the previous run's weights starts from the rebuilt
ones. `--steps`, `--limit` and `--data` override every run (a quick replay; the result then differs
from the recorded weights). At the end the rebuilt file's sha256 is compared with the recorded one:
on the same device, torch version and data, a CPU chain rebuilds bit-identically.

A chain with an unrecorded run (weights made before lineage existed) cannot be replayed: the
command says which runs are missing and exits with 2.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from zoo.lineage import run_complete, sha256_of
from zoo.registry import WEIGHTS_DIR
from zoo.splits import no_test_split

from .common import RUNS_DIR

REPLACED = {
    "--out-dir": 1,
    "--run-dir": 1,
    "--init": 1,
    "--fresh": 0,
    "--stop-at": 1,
    "--minutes": 1,
}  # option: values
CLOCKED = (
    "a clocked run (--minutes) is replayed by the steps it reached (--steps); its learning-rate schedule "
    "followed the clock, so the replay is the same recipe, not the same bits"
)


def recorded_lineage(folder: Path) -> dict[str, Any]:
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{folder} has no config.json: give the folder of a trained model (--from)")
    lineage = json.loads(config_path.read_text()).get("lineage")
    if not isinstance(lineage, dict) or not lineage.get("runs"):
        raise ValueError(f"{config_path} records no lineage: its weights were made before lineage existed")
    return lineage


def without_replaced(argv: list[str]) -> list[str]:
    """The recorded arguments less the ones a replay sets itself (output, checkpoint, start)."""
    out, skip = [], 0
    for arg in argv:
        if skip:
            skip -= 1
            continue
        key = arg.split("=", 1)[0]
        if key in REPLACED:
            skip = REPLACED[key] if "=" not in arg else 0
            continue
        out.append(arg)
    return out


def replay_plan(runs: list[dict[str, Any]], out: Path, overrides: list[str]) -> list[tuple[str, list[str]]]:
    """[(module, argv)] that rebuild the chain `runs` into out/run-1, out/run-2, ...; the last run's
    folder holds the result. Soup ingredients are rebuilt first, each into its own folder."""
    plan: list[tuple[str, list[str]]] = []
    previous: Path | None = None
    for i, run in enumerate(runs, 1):
        words = shlex.split(run["command"])
        if words[:2] != ["python", "-m"] or len(words) < 4:
            raise ValueError(f"run {i} was not a `python -m training...` command: {run['command']!r}")
        module, argv = words[2], words[3:]
        target = out / f"run-{i}"
        if module == "training.train":
            argv = without_replaced(argv) + ["--out-dir", str(target), "--run-dir", str(target / "ckpt")]
            if run.get("minutes"):  # CLOCKED
                argv += ["--steps", str(run["steps"])]
            argv += ["--fresh", *overrides]
            if run.get("init"):
                if previous is None:
                    raise ValueError(f"run {i} started from weights that no earlier run of the chain made")
                argv += ["--init", str(previous / "model.safetensors")]
        elif module == "training.soup":
            folders = []
            for j, chain in enumerate(run.get("ingredients", []), 1):
                folder = out / f"run-{i}-ingredient-{j}"
                plan += replay_plan(chain, folder, overrides)
                folders.append(str(folder / f"run-{len(chain)}"))
            argv = [argv[0], str(target), *folders]
        else:
            raise ValueError(f"run {i}: cannot replay {module} (only training.train and training.soup)")
        plan.append((module, argv))
        previous = target
    return plan


def run_step(module: str, argv: list[str]) -> int:
    """Run one replayed command in this process (the trainers seed everything from their --seed)."""
    if module == "training.train":
        from .train import main
    else:
        from .soup import main
    return main(argv)


def missing_runs(runs: list[dict[str, Any]]) -> list[int]:
    return [i for i, r in enumerate(runs, 1) if not run_complete(r)]


@no_test_split("python -m training.rebuild")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.rebuild",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("name", help="registry name, e.g. cifar10-blocks")
    parser.add_argument("--from", dest="source", type=Path, default=None, help="folder (default: shipped)")
    parser.add_argument("--out-dir", type=Path, default=None, help="default runs/rebuild/NAME")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--steps", type=int, default=None, help="override every run's steps")
    parser.add_argument("--limit", type=int, default=None, help="override: first N training images")
    parser.add_argument("--data", default=None, help="override every run's dataset path")
    args = parser.parse_args(argv)
    source = args.source or WEIGHTS_DIR / args.name
    out = args.out_dir or RUNS_DIR / "rebuild" / args.name
    try:
        lineage = recorded_lineage(source)
        runs = lineage["runs"]
        missing = missing_runs(runs)
        if missing:
            raise ValueError(
                f"{source}: run(s) {', '.join(map(str, missing))} of {len(runs)} in the chain are not recorded "
                f"({runs[missing[0] - 1].get('note', 'no command')}); this chain cannot be replayed. "
                f"Train a new chain with `python -m training.train {args.name}`: it records itself."
            )
        overrides = [
            *(["--steps", str(args.steps)] if args.steps else []),
            *(["--limit", str(args.limit)] if args.limit else []),
            *(["--data", args.data] if args.data else []),
        ]
        plan = replay_plan(runs, out, overrides)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    clocked = any(r.get("minutes") for r in runs)
    if clocked:
        print(f"note: {CLOCKED}")
    for i, (module, step_argv) in enumerate(plan, 1):
        print(f"[{i}/{len(plan)}] {shlex.join(['python', '-m', module, *step_argv])}", flush=True)
        if not args.dry_run and run_step(module, step_argv) != 0:
            print(f"error: step {i} failed; the steps before it are in {out}", file=sys.stderr)
            return 1
    if args.dry_run:
        return 0
    result = out / f"run-{len(runs)}" / "model.safetensors"
    got, recorded = sha256_of(result), lineage["weights"]
    same = "identical to" if got == recorded else "differs from"
    print(f"[{args.name}] rebuilt {result}: sha256 {got[:12]} {same} the recorded {recorded[:12]}")
    if clocked:
        print(f"  ({CLOCKED})")
    elif got != recorded and not overrides:
        print("  (a different device, torch version or dataset changes the bits; compare their figures)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
