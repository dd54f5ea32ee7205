"""How a weights file was made: the `lineage` object of every `config.json`.

A weights file is the end of a chain of runs: a run from scratch, then runs that start from the
previous run's weights (`--init`). Each run appends itself to the chain of the file it started from,
so the last `config.json` holds the whole chain:

    "lineage": {
      "commit": "6c50428...",           # the code the last run ran ("+dirty": uncommitted changes)
      "command": ["python -m training.train mnist-ae2d --steps 3", "... --init ..."],  # in order
      "init": null,                     # sha256 of the chain's starting file (null: from scratch)
      "data": {"description": "...", "images": 55000, "split": "train"},
      "device": "cpu", "steps": 6, "seed": 0,   # the last run's device and seed; steps: all runs
      "selected_on": "single run",      # or "validation": how this file was chosen among candidates
      "weights": "ab12...",             # sha256 of the model.safetensors this lineage describes
      "complete": true,                 # every run of the chain is recorded: `training.rebuild` replays it
      "runs": [{"command": ..., "commit": ..., "init": ..., "device": ..., "steps": ..., "seed": ...,
                "data": ..., "weights": ...}, ...]
    }
"""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

SELECTIONS = ("single run", "validation")
LEGACY_SELECTION = "test"  # weights chosen on a test split before validation splits existed (see the card)
REQUIRED = ("commit", "command", "init", "data", "device", "steps", "seed", "selected_on")


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_commit(cwd: str | Path | None = None) -> str | None:
    """The checkout's commit, with "+dirty" when tracked files have uncommitted changes; None outside git."""
    where = str(cwd or Path(__file__).resolve().parent)
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def command_line(module: str, argv: list[str]) -> str:
    """The shell command that ran `python -m module argv...`, quoted so that it can be pasted back."""
    return shlex.join(["python", "-m", module, *argv])


def lineage_of(weights: str | Path) -> dict[str, Any] | None:
    """The lineage recorded for this weights file by the `config.json` beside it, or None when there is
    none or it describes other weights (the file was replaced after the config was written)."""
    weights = Path(weights)
    config = weights.with_name("config.json")
    if not config.is_file():
        return None
    try:
        lineage = json.loads(config.read_text()).get("lineage")
    except (OSError, ValueError):
        return None
    if not isinstance(lineage, dict) or lineage.get("weights") != sha256_of(weights):
        return None
    return lineage


def unrecorded_run(sha256: str) -> dict[str, Any]:
    """The stand-in for a starting file whose own chain is not recorded."""
    return {"command": None, "weights": sha256, "note": "weights whose making is not recorded"}


def new_run(
    *,
    command: str,
    data: dict[str, Any],
    device: str,
    steps: int,
    seed: int,
    init: str | Path | None,
    commit: str | None = None,
) -> dict[str, Any]:
    """One run's record (its `weights` is filled in by `lineage_for` once the file exists)."""
    return {
        "command": command,
        "commit": commit if commit is not None else current_commit(),
        "init": sha256_of(init) if init else None,
        "data": data,
        "device": device,
        "steps": int(steps),
        "seed": int(seed),
    }


def chain_before(init: str | Path | None) -> list[dict[str, Any]]:
    """The recorded runs that made the starting file `init` ([] from scratch)."""
    if not init:
        return []
    parent = lineage_of(init)
    if parent is None:
        return [unrecorded_run(sha256_of(init))]
    return list(parent["runs"])


def lineage_for(
    run: dict[str, Any], earlier: list[dict[str, Any]], weights: str | Path, selected_on: str = "single run"
) -> dict[str, Any]:
    """The lineage of `weights`, made by `run` after the chain `earlier`."""
    if selected_on not in SELECTIONS:
        raise ValueError(f"selected_on must be one of {SELECTIONS}, got {selected_on!r}")
    runs = [*earlier, {**run, "weights": sha256_of(weights)}]
    return summarise(runs, selected_on)


def summarise(runs: list[dict[str, Any]], selected_on: str) -> dict[str, Any]:
    """The lineage object of a chain of run records (the last one made the weights)."""
    last = runs[-1]
    first = runs[0]
    return {
        "commit": last.get("commit"),
        "command": [r.get("command") for r in runs],
        # a chain that begins with an unrecorded file began from that file
        "init": first["weights"] if first.get("command") is None and len(runs) > 1 else first.get("init"),
        "data": last.get("data"),
        "device": last.get("device"),
        "steps": sum(int(r.get("steps") or 0) for r in runs),
        "seed": last.get("seed"),
        "selected_on": selected_on,
        "weights": last["weights"],
        "complete": all(run_complete(r) for r in runs),
        "runs": runs,
    }


def run_complete(run: dict[str, Any]) -> bool:
    """A run is replayable when its command is recorded, and so are its soup ingredients' chains."""
    return bool(run.get("command")) and all(
        run_complete(r) for chain in run.get("ingredients", []) for r in chain
    )


def check(lineage: Any) -> list[str]:
    """What is missing or malformed in a lineage object ([] when it is whole)."""
    if not isinstance(lineage, dict):
        return ["no lineage object"]
    problems = [f"no {key!r}" for key in REQUIRED if key not in lineage]
    if not isinstance(lineage.get("command"), list) or not lineage.get("command"):
        problems.append("'command' must list the chain's runs in order")
    if lineage.get("selected_on") not in (*SELECTIONS, LEGACY_SELECTION):
        problems.append(f"'selected_on' must be one of {SELECTIONS}")
    if len(lineage.get("runs") or []) != len(lineage.get("command") or []):
        problems.append("'runs' and 'command' disagree")
    return problems
