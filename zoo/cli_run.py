"""`zoo run NAME INPUT... --out DIR`: restore every image in files, folders and glob patterns.

    zoo run feature-recon photos/ --recursive --out recon/
    zoo run mnist-masked digits/*.png --mask stripe.png --out restored/
    zoo run mnist-denoise digits/ --corrupt --damage sigma=0.7 --out demo/   # damage, then restore
    zoo run mnist-masked digits/ --mask hole.png --exemplars --out restored/  # + nearest training digits

Outputs mirror the input folders and are PNGs (16-bit where a 16-bit PNG came in and the
output has the input's size). A file that cannot be read, restored or written is reported and
skipped; the run goes on, prints a summary, and exits 1 if any file failed. Each output is
written to a temporary name and renamed into place, so a file at an output path is always
whole (killed mid-write, `--skip-existing` then redoes that file). An --out that would write
over an input is refused before anything runs; a full disk stops the run with its summary.
Files are decoded by `zoo.decode` (bounded memory and time, each real file once).
"""

from __future__ import annotations

import argparse
import errno
import glob
import inspect
import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import IMAGE_SUFFIXES as FOLDER_IMAGE_SUFFIXES

IMAGE_SUFFIXES = FOLDER_IMAGE_SUFFIXES | {".pgm", ".ppm"}


def _walk(folder: Path, recursive: bool):
    """Files under `folder` (sub-folders when `recursive`), without following links to folders: a link
    loop cannot make a file appear twice or the walk run forever."""
    if not recursive:
        yield from (f for f in folder.iterdir() if f.is_file())
        return
    for root, _, files in os.walk(folder, followlinks=False):
        yield from (Path(root) / name for name in files)


def _identity(path: Path) -> tuple[int, int] | Path:
    """The same real file has the same identity, whatever link or glob reached it."""
    try:
        st = path.stat()
        return st.st_dev, st.st_ino
    except OSError:
        return path


def collect_inputs(patterns: list[str], recursive: bool) -> list[tuple[Path, Path]]:
    """(input file, output path relative to --out, without suffix) for each file, folder or glob; each
    real file once (a symlink loop under `**` matches one file many times)."""
    found: list[tuple[Path, Path]] = []
    seen: set = set()

    def add(src: Path, rel: Path) -> None:
        key = _identity(src)
        if key not in seen:
            seen.add(key)
            found.append((src, rel))

    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            files = _walk(path, recursive)
            for f in sorted(f for f in files if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES):
                add(f, f.relative_to(path).with_suffix(""))
        elif path.is_file():
            add(path, Path(path.stem))
        else:
            matches = sorted(Path(m) for m in glob.glob(pattern, recursive=recursive) if Path(m).is_file())
            if not matches:
                found.append((path, Path(path.stem)))  # reported as a failure: no such file
            for m in matches:
                add(m, Path(m.stem))
    return found


def check_outputs_spare_inputs(patterns: list[str], items: list[tuple[Path, Path]], out_dir: Path) -> None:
    """Refuse, before anything runs, an --out that would write over an input: the input folder itself,
    or any output path that is one of the inputs."""
    out_real = out_dir.resolve()
    for pattern in patterns:
        if Path(pattern).is_dir() and Path(pattern).resolve() == out_real:
            raise ValueError(
                f"--out {out_dir} is the input folder {pattern}: the outputs would replace the originals. "
                "Choose another output folder."
            )
    inputs = {_identity(src) for src, _ in items}
    for src, rel in items:
        dst = out_dir / rel.with_suffix(".png")
        if dst.exists() and _identity(dst) in inputs:
            raise ValueError(
                f"--out {out_dir} would write {dst} over an input file ({src} reads it). Choose an output "
                "folder apart from the inputs; nothing was written."
            )


def png_bit_depth(path: Path) -> int:
    """8 or 16 for a PNG (its IHDR header), 8 for anything else."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(25)
    except OSError:
        return 8
    return head[24] if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) == 25 and head[24] == 16 else 8


def encode_png(image: np.ndarray, sixteen_bit: bool) -> bytes:
    """image HxW or HxWx3 float in [0, 1] -> PNG bytes, 16-bit if asked."""
    import cv2
    from PIL import Image

    img = np.clip(image, 0, 1)
    if sixteen_bit:
        arr = (img * 65535 + 0.5).astype(np.uint16)
        ok, buf = cv2.imencode(".png", arr if arr.ndim == 2 else arr[..., ::-1])
        if not ok:
            raise ValueError("OpenCV could not encode the 16-bit PNG")
        return buf.tobytes()
    out = io.BytesIO()
    Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


TMP_MARK = ".zoo-partial-"


def write_atomic(data: bytes, path: Path) -> None:
    """Write to a temporary name in the same folder, then rename into place: a file at `path` is always
    whole, even when the process is killed mid-write (the temporary file is what is left then)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class DiskFull(Exception):
    """No space (or quota) left: the run stops, nothing later could be written either."""


def _write_error(exc: OSError, dst: Path) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"cannot write {dst}: no space left on the device holding {dst.parent}"
    if isinstance(exc, IsADirectoryError) or dst.is_dir():
        return f"cannot write {dst}: a folder of that name is in the way"
    if isinstance(exc, PermissionError):
        return f"cannot write {dst}: permission denied (is {dst.parent} read-only?)"
    return f"cannot write {dst}: {exc.strerror or exc}"


def parse_damage(p, pairs: list[str]) -> dict:
    """KEY=VALUE pairs -> keyword arguments of p.corrupt, typed like its defaults."""
    params = inspect.signature(p.corrupt).parameters
    allowed = [k for k in params if k not in ("image", "seed")]
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in allowed:
            raise ValueError(
                f"--damage {pair!r}: expected KEY=VALUE with KEY one of {', '.join(allowed) or '(none)'}"
            )
        default = params[key].default
        kind = type(default) if default is not inspect.Parameter.empty and default is not None else str
        try:
            out[key] = kind(value) if kind is not bool else value.lower() in ("1", "true", "yes")
        except ValueError:
            raise ValueError(f"--damage {key}={value!r}: expected a {kind.__name__}") from None
    return out


@dataclass
class Job:
    """What every worker needs to restore files the same way (plain values: Ray ships it to actors)."""

    name: str
    device: str = "cpu"
    exemplars: bool = False
    mask: str | None = None
    corrupt: bool = False
    damage: list[str] = field(default_factory=list)
    seed: int = 0
    batch_size: int = 16
    # torch threads per restorer: the driver's count, so every worker computes with the same kernels
    # (oneDNN's results depend on the thread count by a last bit, enough to flip a rounded pixel)
    threads: int = 0


class Restorer:
    """One loaded pipeline restoring chunks of the plan: the local engine runs one, the Ray engine one
    per actor. Both cut the plan into the same chunks of `batch_size` inputs, and a chunk is restored by
    the same code (batches of consecutive same-shaped inputs), so both engines write the same bytes."""

    def __init__(self, job: Job) -> None:
        import torch

        from . import load
        from .images import to_grey

        if job.threads:
            torch.set_num_threads(job.threads)
        p = load(job.name, device=job.device)
        if job.exemplars:
            if not hasattr(p, "with_exemplars"):
                raise ValueError(f"--exemplars is an option of mnist-masked, not of {job.name}")
            p = p.with_exemplars()  # the full MNIST's training digits; an error names the fetch command
        self.damage = parse_damage(p, job.damage)
        if self.damage and not job.corrupt:
            raise ValueError("--damage is used with --corrupt (damage each input, then restore it)")
        if p.needs_mask and not (job.corrupt or job.mask):
            raise ValueError(
                f"{job.name} restores missing pixels: give --mask FILE (non-zero = missing) or --corrupt"
            )
        self.p, self.job = p, job
        self.mask = to_grey(job.mask) > 0.5 if job.mask else None

    def restore(self, chunk: list[tuple[int, str, str]]) -> list[dict]:
        """(index in the plan, input, output) -> one row per input: {"index", "input", and "output"
        (+ "label", "label_name") or "error"}; a full disk adds "disk_full" to its row and stops."""
        from . import images
        from .pipelines.base import check_mask

        rows: list[dict] = []
        pending: list[tuple[int, Path, Path, np.ndarray, np.ndarray | None, tuple[int, int] | None]] = []

        def fail(i: int, src: Path, error: str, **extra) -> None:
            rows.append({"index": i, "input": str(src), "error": error, **extra})

        def save(data: bytes, i: int, src: Path, dst: Path) -> bool:
            try:
                write_atomic(data, dst)
            except OSError as exc:
                full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
                fail(i, src, _write_error(exc, dst), **({"disk_full": True} if full else {}))
                if full:
                    raise DiskFull(f"no space left on the device holding {dst.parent}") from None
                return False
            return True

        def flush() -> None:
            if not pending:
                return
            masks = None if pending[0][4] is None else [m for *_, m, _ in pending]
            try:
                results = self.p.batch([x for *_, x, _, _ in pending], masks, batch_size=self.job.batch_size)
            except ValueError as exc:
                for i, src, *_ in pending:
                    fail(i, src, str(exc))
            else:
                for (i, src, dst, _, _, size16), res in zip(pending, results):
                    if save(encode_png(res.image, res.image.shape[:2] == size16), i, src, dst):
                        row = {"index": i, "input": str(src), "output": str(dst)}
                        if res.label is not None:
                            row.update(label=int(res.label), label_name=res.label_name)
                        rows.append(row)
            pending.clear()

        try:
            for i, src, dst in chunk:
                src, dst = Path(src), Path(dst)
                size16 = images.peek_size(src) if png_bit_depth(src) == 16 else None  # 16-bit out
                try:
                    x = self.p.prepare(src)
                    m = self.mask
                    if self.job.corrupt:
                        x, m = self.p.corrupt(x, seed=self.job.seed + i, **self.damage)
                        if not save(encode_png(x, False), i, src, dst.with_name(dst.stem + ".damaged.png")):
                            continue
                    if m is not None:
                        m = check_mask(m, x.shape[:2])
                except ValueError as exc:
                    fail(i, src, str(exc))
                    continue
                if pending and x.shape != pending[0][3].shape:
                    flush()
                pending.append((i, src, dst, x, m, size16))
            flush()
        except DiskFull:
            pass  # its row says so; the caller stops the run
        return rows


def plan_outputs(args: argparse.Namespace, summary: dict) -> list[tuple[int, str, str]]:
    """(index, input, output) for every input to restore: each real file once, --out apart from the
    inputs (checked before anything runs), two inputs for one output and --skip-existing said in
    `summary`. The index is the input's position (the seed of its damage is --seed + index)."""
    out_dir = Path(args.out)
    items = collect_inputs(args.inputs, args.recursive)
    if not items:
        raise ValueError("no input files: give image files, folders or glob patterns")
    check_outputs_spare_inputs(args.inputs, items, out_dir)
    plan, seen = [], set()
    for i, (src, rel) in enumerate(items):
        dst = out_dir / rel.with_suffix(".png")
        if dst in seen:
            summary["failed"].append({"input": str(src), "error": f"another input also writes {dst}"})
        elif args.skip_existing and dst.is_file():
            seen.add(dst)
            summary["skipped"].append(str(src))
        else:
            seen.add(dst)
            plan.append((i, str(src), str(dst)))
    return plan


def chunks_of(plan: list, size: int) -> list[list]:
    return [plan[k : k + size] for k in range(0, len(plan), size)]


def run_local(job: Job, restorer: Restorer, plan: list, quiet: bool):
    """Rows of every chunk, restored here, with a progress bar (KeyboardInterrupt passes through)."""
    from tqdm.auto import tqdm

    with tqdm(total=len(plan), desc=job.name, unit="img", disable=quiet) as bar:
        for chunk in chunks_of(plan, job.batch_size):
            rows = restorer.restore(chunk)
            bar.update(len(chunk))
            yield from rows
            if any(r.get("disk_full") for r in rows):
                return


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _cmd_run(args: argparse.Namespace) -> int:
    job = Job(
        name=args.name,
        device=args.device,
        exemplars=args.exemplars,
        mask=args.mask,
        corrupt=args.corrupt,
        damage=list(args.damage),
        seed=args.seed,
        batch_size=args.batch_size,
        threads=_torch_threads(),
    )
    summary: dict = {"model": args.name, "engine": args.engine, "ok": [], "skipped": [], "failed": []}
    restorer = Restorer(job) if args.engine == "local" else None  # (ray: each actor loads its own)
    if args.engine == "ray":
        from .cli_ray import check_job_here

        check_job_here(job)  # the same option errors, before a cluster starts
    plan = plan_outputs(args, summary)
    stopped, done = None, set()
    try:
        if args.engine == "ray":
            from .cli_ray import run_ray

            rows = run_ray(job, plan, args)
        else:
            rows = run_local(job, restorer, plan, args.quiet)
        for row in rows:
            done.add(row["index"])
            if "error" in row:
                summary["failed"].append({"input": row["input"], "error": row["error"]})
                if row.get("disk_full"):
                    stopped = (
                        f"stopped: {row['error']}; free some space and rerun with --skip-existing to finish"
                    )
            else:
                entry = {"input": row["input"], "output": row["output"]}
                entry.update({k: row[k] for k in ("label", "label_name") if k in row})
                summary["ok"].append(entry)
    except KeyboardInterrupt:
        stopped = "interrupted: rerun with --skip-existing to finish (every output written is whole)"
    if stopped:
        summary["stopped"] = stopped
        summary["not_done"] = len(plan) - len(done)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for fail in summary["failed"]:
            print(f"failed: {fail['input']}: {fail['error']}", file=sys.stderr)
        print(
            f"{args.name}: {len(summary['ok'])} restored into {args.out}, {len(summary['skipped'])} skipped "
            f"(already there), {len(summary['failed'])} failed"
            + (f", {summary['not_done']} not done ({stopped})" if stopped else "")
        )
    if stopped and stopped.startswith("interrupted"):
        return 130
    return 1 if summary["failed"] or stopped else 0


def damage_keys() -> str:
    """'mnist-masked: kind, size; ...' from the committed index (no torch at --help time)."""
    from .registry import INDEX_PATH

    try:
        models = json.loads(INDEX_PATH.read_text())
    except (OSError, ValueError):
        return "see each pipeline's corrupt()"
    parts = [f"{m['name']}: {', '.join(m['damage_options'])}" for m in models if m.get("damage_options")]
    return "; ".join(parts) or "none"


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="restore image files, folders or glob patterns into --out")
    p.add_argument("name", help="a registered model (see `zoo list`)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or glob patterns")
    p.add_argument("--out", required=True, help="output folder (mirrors the input folders)")
    p.add_argument("--recursive", action="store_true", help="descend into sub-folders (and ** in globs)")
    p.add_argument("--mask", default=None, help="mask image for the masked tasks: non-zero = missing")
    p.add_argument("--corrupt", action="store_true", help="damage each input first (as the hub's tabs do)")
    p.add_argument(
        "--damage",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="options of the model's damage (with --corrupt; repeat for several): " + damage_keys(),
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the first input's damage (+1 per file)")
    p.add_argument(
        "--exemplars",
        action="store_true",
        help="mnist-masked: blend each hole with the nearest training digits (the full MNIST: "
        "`zoo data fetch mnist` first)",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--skip-existing", action="store_true", help="skip inputs whose output exists (resume)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process; ray: a Ray cluster (Ray Data, one loaded model per actor; "
        "pip install 'restoration-zoo[ray]')",
    )
    p.add_argument(
        "--address", default=None, help="ray: join this cluster (else $RAY_ADDRESS, else start one here)"
    )
    p.add_argument(
        "--workers", type=int, default=None, help="ray: actors, each with its own model (default: CPUs)"
    )
    p.add_argument(
        "--gpus-per-worker", type=float, default=0, help="ray: GPUs per actor (use with --device cuda)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(fn=_cmd_run)
