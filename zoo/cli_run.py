"""`zoo run NAME INPUT... --out DIR`: restore every image in files, folders and glob patterns.

    zoo run feature-recon photos/ --recursive --out recon/
    zoo run mnist-masked digits/*.png --mask stripe.png --out restored/
    zoo run mnist-denoise digits/ --corrupt --damage sigma=0.7 --out demo/   # damage, then restore
    zoo run mnist-masked digits/ --mask hole.png --exemplars --out restored/  # + nearest training digits

Outputs mirror the input folders and are PNGs (16-bit where a 16-bit PNG came in and the
output has the input's size). A file that cannot be read or restored is reported and
skipped; the run goes on, prints a summary, and exits 1 if any file failed.
"""

from __future__ import annotations

import argparse
import glob
import inspect
import json
import sys
from pathlib import Path

import numpy as np

from .data import IMAGE_SUFFIXES as FOLDER_IMAGE_SUFFIXES

IMAGE_SUFFIXES = FOLDER_IMAGE_SUFFIXES | {".pgm", ".ppm"}


def collect_inputs(patterns: list[str], recursive: bool) -> list[tuple[Path, Path]]:
    """(input file, output path relative to --out, without suffix) for each file, folder or glob."""
    found: list[tuple[Path, Path]] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            files = path.rglob("*") if recursive else path.glob("*")
            for f in sorted(f for f in files if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES):
                found.append((f, f.relative_to(path).with_suffix("")))
        elif path.is_file():
            found.append((path, Path(path.stem)))
        else:
            matches = sorted(Path(m) for m in glob.glob(pattern, recursive=recursive) if Path(m).is_file())
            if not matches:
                found.append((path, Path(path.stem)))  # reported as a failure: no such file
            found += [(m, Path(m.stem)) for m in matches]
    return found


def png_bit_depth(path: Path) -> int:
    """8 or 16 for a PNG (its IHDR header), 8 for anything else."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(25)
    except OSError:
        return 8
    return head[24] if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) == 25 and head[24] == 16 else 8


def read_input(path: Path, sixteen_bit: bool):
    """What the pipeline is given: the path itself, or for a 16-bit colour PNG (`sixteen_bit`, which
    Pillow reads as 8-bit) its uint16 pixels, read with OpenCV after the header's size is checked."""
    if not sixteen_bit:
        return path
    from PIL import Image

    from .images import MAX_PIXELS

    with Image.open(path) as img:  # header only
        if img.width * img.height > MAX_PIXELS:
            return path  # the pipeline's own size error
        if img.mode.startswith("I"):
            return path  # 16-bit grey: Pillow keeps all 16 bits
    import cv2

    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None:
        return path
    return (
        arr[..., ::-1].copy()
        if arr.ndim == 3 and arr.shape[2] == 3
        else cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    )


def write_png(image: np.ndarray, path: Path, sixteen_bit: bool) -> None:
    """image HxW or HxWx3 float in [0, 1] -> PNG, 16-bit if asked."""
    import cv2
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.clip(image, 0, 1)
    if sixteen_bit:
        arr = (img * 65535 + 0.5).astype(np.uint16)
        cv2.imwrite(str(path), arr if arr.ndim == 2 else arr[..., ::-1])
    else:
        Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(path)


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


def _cmd_run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from . import images, load
    from .pipelines.base import check_mask

    p = load(args.name, device=args.device)
    if args.exemplars:
        if not hasattr(p, "with_exemplars"):
            raise ValueError(f"--exemplars is an option of mnist-masked, not of {args.name}")
        p = p.with_exemplars()  # the full MNIST's training digits; an error names the fetch command
    damage = parse_damage(p, args.damage)
    if damage and not args.corrupt:
        raise ValueError("--damage is used with --corrupt (damage each input, then restore it)")
    if p.needs_mask and not (args.corrupt or args.mask):
        raise ValueError(
            f"{args.name} restores missing pixels: give --mask FILE (non-zero = missing) or --corrupt"
        )
    mask = None
    if args.mask:
        from .images import to_grey

        mask = to_grey(args.mask) > 0.5
    out_dir = Path(args.out)
    items = collect_inputs(args.inputs, args.recursive)
    if not items:
        raise ValueError("no input files: give image files, folders or glob patterns")
    summary: dict = {"model": args.name, "ok": [], "skipped": [], "failed": []}
    seen: set[Path] = set()
    pending: list[tuple[Path, Path, np.ndarray, np.ndarray | None, tuple[int, int] | None]] = []

    def flush() -> None:
        if not pending:
            return
        masks = None if pending[0][3] is None else [m for *_, m, _ in pending]
        try:
            results = p.batch([x for _, _, x, _, _ in pending], masks, batch_size=args.batch_size)
        except ValueError as exc:
            summary["failed"] += [{"input": str(src), "error": str(exc)} for src, *_ in pending]
        else:
            for (src, dst, _, _, size16), res in zip(pending, results):
                write_png(res.image, dst, res.image.shape[:2] == size16)
                entry = {"input": str(src), "output": str(dst)}
                if res.label is not None:
                    entry.update(label=int(res.label), label_name=res.label_name)
                summary["ok"].append(entry)
        pending.clear()

    for i, (src, rel) in enumerate(tqdm(items, desc=args.name, unit="img", disable=args.quiet)):
        dst = out_dir / rel.with_suffix(".png")
        if dst in seen:
            summary["failed"].append({"input": str(src), "error": f"another input also writes {dst}"})
            continue
        seen.add(dst)
        if args.skip_existing and dst.is_file():
            summary["skipped"].append(str(src))
            continue
        deep = png_bit_depth(src) == 16
        size16 = images.peek_size(src) if deep else None  # a 16-bit PNG out where the size is kept
        try:
            x = p.prepare(read_input(src, deep))
            m = mask
            if args.corrupt:
                x, m = p.corrupt(x, seed=args.seed + i, **damage)
                write_png(x, dst.with_name(dst.stem + ".damaged.png"), False)
            if m is not None:
                m = check_mask(m, x.shape[:2])
        except ValueError as exc:
            summary["failed"].append({"input": str(src), "error": str(exc)})
            continue
        if pending and (x.shape != pending[0][2].shape or len(pending) >= args.batch_size):
            flush()
        pending.append((src, dst, x, m, size16))
    flush()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for fail in summary["failed"]:
            print(f"failed: {fail['input']}: {fail['error']}", file=sys.stderr)
        print(
            f"{args.name}: {len(summary['ok'])} restored into {out_dir}, {len(summary['skipped'])} skipped "
            f"(already there), {len(summary['failed'])} failed"
        )
    return 1 if summary["failed"] else 0


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="restore image files, folders or glob patterns into --out")
    p.add_argument("name")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or glob patterns")
    p.add_argument("--out", required=True, help="output folder (mirrors the input folders)")
    p.add_argument("--recursive", action="store_true", help="descend into sub-folders (and ** in globs)")
    p.add_argument("--mask", default=None, help="mask image for the masked tasks: non-zero = missing")
    p.add_argument("--corrupt", action="store_true", help="damage each input first (as the hub's tabs do)")
    p.add_argument("--damage", action="append", default=[], metavar="KEY=VALUE", help="damage options")
    p.add_argument("--seed", type=int, default=0, help="seed of the first input's damage (+1 per file)")
    p.add_argument(
        "--exemplars",
        action="store_true",
        help="mnist-masked: blend each hole with the nearest training digits (the full MNIST: "
        "`python -m training.fetch mnist` first)",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--skip-existing", action="store_true", help="skip inputs whose output exists (resume)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(fn=_cmd_run)
