"""Where fetched training data lives, and the sha256 lists it is checked against.

The fetcher (`zoo data fetch NAME`, `zoo.fetch`) fills `$ZOO_DATA/<name>/`; the loaders in
`zoo.data` read from there but never fetch by themselves. Each dataset is a folder
whose files are listed (name -> sha256, size) in `zoo/datasets/<name>.json`, kept with
the code so a tampered or truncated file is an error, never silently trained on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .hub import sha256_file

LISTS_DIR = Path(__file__).resolve().parent / "datasets"


def data_home() -> Path:
    """`$ZOO_DATA`, default `~/.cache/restoration-zoo/data`."""
    return Path(os.environ.get("ZOO_DATA", Path.home() / ".cache" / "restoration-zoo" / "data")).expanduser()


def file_list(name: str) -> dict[str, dict]:
    """The dataset's committed file list: {relative path: {"sha256", "size", ...}}."""
    path = LISTS_DIR / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in LISTS_DIR.glob("*.json"))
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(known)}")
    return json.loads(path.read_text())["files"]


def verify_folder(name: str, folder: Path | None = None) -> list[str]:
    """Problems with a fetched dataset folder (missing, wrong size, wrong sha256); [] when it is intact."""
    folder = folder or data_home() / name
    problems = []
    for rel, meta in file_list(name).items():
        path = folder / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif path.stat().st_size != int(meta["size"]):  # size first: no hashing a wrong file in full
            problems.append(f"{rel}: {path.stat().st_size} bytes, expected {meta['size']}")
        elif sha256_file(path) != meta["sha256"]:
            problems.append(f"{rel}: sha256 differs from the committed list")
    return problems


def fetched_folder(name: str) -> Path | None:
    """The dataset's folder when it has been fetched (every listed file present), else None.

    Only presence is checked here (cheap, at every load); `zoo data fetch NAME`
    and `zoo data verify NAME` check every sha256.
    """
    folder = data_home() / name
    files = file_list(name)
    if folder.is_dir() and all((folder / rel).is_file() for rel in files):
        return folder
    return None


def fetch_hint(name: str) -> str:
    return f"fetch it with `zoo data fetch {name}` (about a minute), or pass --data PATH"
