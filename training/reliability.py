"""Reliability report: fuzzed inputs, tampered weights, a stalled endpoint, the hub under load.

    python -m training.reliability               # 1,000 fuzzed inputs per model; writes reports/reliability.{md,json}
    python -m training.reliability --fuzz 200    # a quicker run
    python -m training.reliability --readme      # also rewrite the README's reliability section

1. Fuzz: each model in a fresh process (so its peak memory is its own) takes --fuzz generated
   inputs through the public call `p(value, mask=...)`: random shapes, ranks and dtypes, NaN /
   infinity, PIL images in every mode, 1-px strips up to 20,000 long, images at the 4096x4096
   limit, files that are not images or declare 20,000 x 20,000 px, wrong types. Each must give
   a finite image in [0, 1] of the prepared size, or a ValueError; anything else is a crash.
   Reported: counts, the slowest call, and the peak resident memory above the loaded model's.
2. Tamper matrix: mnist-denoise's files from three local sources (ZOO_HOME, the package folder,
   the Hugging Face cache), each damaged six ways; `zoo.load` must refuse every one.
3. Stalled endpoint: a server that accepts TCP and never answers, and a closed port; `zoo.load`
   with nothing local must fail within its stated bound and name the endpoint.
4. Load: the latest `python -m training.load_test` report (reports/load.md), quoted with its date.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .benchmark import ROOT

REPORT = ROOT / "reports" / "reliability"
README_START, README_END = "<!-- reliability:start -->", "<!-- reliability:end -->"


# ------------------------------------------------------------------ 1. fuzz (one model per process)
def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _header_only_png(path: Path, width: int, height: int) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def fuzz_inputs(rng: np.random.Generator, n: int, folder: Path):
    """n (label, value) pairs, made one at a time (so only the current one is in memory); a fixed set
    of extreme cases first, then random ones."""
    from PIL import Image

    _header_only_png(folder / "declares-20000.png", 20000, 20000)
    (folder / "text.png").write_text("not an image")
    (folder / "random.jpg").write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    extreme = [
        ("strip 1x20000", lambda: np.ones((1, 20000), np.float32)),
        ("strip 20000x1", lambda: np.ones((20000, 1), np.uint8)),
        ("strip 3x20000 RGB", lambda: np.full((3, 20000, 3), 200, np.uint8)),
        ("4096x4096 RGB uint8 (the limit)", lambda: np.full((4096, 4096, 3), 120, np.uint8)),
        ("4096x4097 (over the limit)", lambda: np.zeros((4096, 4097), np.uint8)),
        ("header-only 20000x20000 PNG", lambda: str(folder / "declares-20000.png")),
        ("text file named .png", lambda: str(folder / "text.png")),
        ("random bytes named .jpg", lambda: str(folder / "random.jpg")),
        ("5,000-character path", lambda: "x" * 5000),
        ("empty array", lambda: np.zeros((0, 5), np.float32)),
        ("None", lambda: None),
        ("int", lambda: 7),
        ("list", lambda: [0.1, 0.2]),
    ]
    made = 0
    for label, make in extreme[:n]:
        made += 1
        yield label, make()
    modes = ["1", "L", "P", "RGB", "RGBA", "LA", "I", "F", "I;16", "CMYK", "YCbCr"]
    dtypes = [np.uint8, np.uint16, np.int16, np.int64, np.float16, np.float32, np.float64, np.bool_]
    while made < n:
        made += 1
        if rng.random() < 0.25:
            mode = modes[rng.integers(len(modes))]
            w, h = (int(v) for v in rng.integers(1, 300, 2))
            yield f"PIL {mode} {w}x{h}", Image.new(mode, (w, h), color=int(rng.integers(0, 200)))
            continue
        ndim = int(rng.integers(0, 5))
        shape = [int(v) for v in rng.integers(0, 300 if ndim <= 3 else 6, ndim)]
        if ndim == 3 and rng.random() < 0.6:
            shape[2] = int(rng.choice([1, 3, 4]))
        dtype = dtypes[rng.integers(len(dtypes))]
        if np.dtype(dtype).kind == "f":
            arr = rng.uniform(-0.2 if rng.random() < 0.2 else 0, 1.0, shape).astype(dtype)
            if arr.size and rng.random() < 0.15:
                arr.flat[int(rng.integers(arr.size))] = rng.choice([np.nan, np.inf])
        elif dtype is np.bool_:
            arr = rng.random(shape) < 0.5
        else:
            info = np.iinfo(dtype)
            arr = rng.integers(max(info.min, -300), min(info.max, 70000), shape).astype(dtype)
        yield f"array {tuple(shape)} {np.dtype(dtype).name}", arr


def fuzz_one(name: str, n: int) -> dict:
    import zoo

    p = zoo.load(name)
    warm = p.prepare(np.zeros((40, 40), np.float32))
    try:  # warm-up: lazy allocations count as the model's (a broken model shows in the loop below)
        p(warm, mask=np.zeros(warm.shape[:2], bool))
    except Exception:  # noqa: BLE001
        pass
    base = _rss_mb()
    counts = {"ok": 0, "refused": 0, "crash": 0}
    crashes, slowest = [], (0.0, "")
    with tempfile.TemporaryDirectory() as tmp:
        for label, value in fuzz_inputs(np.random.default_rng(0), n, Path(tmp)):
            t0 = time.perf_counter()
            try:
                x = p.prepare(value)
                mask = np.zeros(x.shape[:2], dtype=bool)
                mask[: max(1, x.shape[0] // 2)] = True
                out = p(value, mask=mask)
                good = out.image.shape[:2] == x.shape[:2] and np.all(np.isfinite(out.image))
                good = good and out.image.min() >= 0 and out.image.max() <= 1
                counts["ok" if good else "crash"] += 1
                if not good:
                    crashes.append(f"{label}: output out of range or wrong size")
            except ValueError:
                counts["refused"] += 1
            except Exception as exc:  # noqa: BLE001 - what the report counts
                counts["crash"] += 1
                crashes.append(f"{label}: {type(exc).__name__}: {str(exc)[:120]}")
            dt = time.perf_counter() - t0
            slowest = max(slowest, (dt, label))
            value = x = out = None  # free this input before the next is made
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # kB -> MB
    return {
        "model": name,
        "inputs": n,
        **counts,
        "crashes": crashes[:10],
        "slowest_s": round(slowest[0], 2),
        "slowest_input": slowest[1],
        "peak_extra_mb": round(max(0.0, peak - base), 1),
    }


def fuzz_all(n: int) -> list[dict]:
    import zoo
    from tqdm.auto import tqdm

    rows = []
    for name in tqdm(zoo.list_models(), desc="fuzz", unit="model"):
        run = subprocess.run(
            [sys.executable, "-m", "training.reliability", "--fuzz-one", name, "--fuzz", str(n)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if run.returncode:
            rows.append(
                {
                    "model": name,
                    "inputs": n,
                    "ok": 0,
                    "refused": 0,
                    "crash": n,
                    "crashes": [run.stderr[-300:]],
                    "slowest_s": 0,
                    "slowest_input": "",
                    "peak_extra_mb": 0,
                }
            )
        else:
            rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
    return rows


# ------------------------------------------------------------------ 2. tamper matrix
TAMPER = {
    "one bit flipped": lambda b: b[: len(b) // 2] + bytes([b[len(b) // 2] ^ 1]) + b[len(b) // 2 + 1 :],
    "truncated by 1 byte": lambda b: b[:-1],
    "1 byte appended": lambda b: b + b"\0",
    "zeroed tail (64 bytes)": lambda b: b[:-64] + bytes(64),
    "another model's file": None,  # replaced by mnist-masked's weights
    "config.json model_kwargs edited": "config",
}


def tamper_matrix() -> list[dict]:
    import zoo
    from zoo import hub
    from zoo.registry import WEIGHTS_DIR

    name = "mnist-denoise"
    entry = zoo.get_entry(name)
    good = {fn: (WEIGHTS_DIR / name / fn).read_bytes() for fn in ("model.safetensors", "config.json")}
    other = (WEIGHTS_DIR / "mnist-masked" / "model.safetensors").read_bytes()
    rows = []
    saved = {k: os.environ.get(k) for k in ("ZOO_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE")}
    package_dir = hub.WEIGHTS_DIR
    try:
        for source in ("ZOO_HOME", "package", "hf-cache"):
            for kind, how in TAMPER.items():
                with tempfile.TemporaryDirectory() as tmp:
                    files = dict(good)
                    if how == "config":
                        cfg = json.loads(good["config.json"])
                        cfg["model_kwargs"]["base_channels"] = 16
                        files["config.json"] = json.dumps(cfg).encode()
                    else:
                        files["model.safetensors"] = other if how is None else how(good["model.safetensors"])
                    root = Path(tmp)
                    os.environ.pop("ZOO_HOME", None)
                    os.environ["HF_HUB_OFFLINE"] = "1"
                    os.environ["HF_HUB_CACHE"] = str(root / "hf")
                    hub.WEIGHTS_DIR = root / "package"  # an empty package folder unless filled below
                    folder = {
                        "ZOO_HOME": root / "home" / name,
                        "package": root / "package" / name,
                        "hf-cache": root
                        / "hf"
                        / f"models--{entry.repo_id.replace('/', '--')}"
                        / "snapshots"
                        / entry.revision,
                    }[source]
                    folder.mkdir(parents=True)
                    for fn, body in files.items():
                        (folder / fn).write_bytes(body)
                    if source == "ZOO_HOME":
                        os.environ["ZOO_HOME"] = str(root / "home")
                    try:
                        zoo.load(name)
                        refused, message = False, "loaded"
                    except (zoo.WeightsError, ValueError) as exc:
                        refused, message = True, str(exc).splitlines()[0][:160]
                    rows.append({"source": source, "tamper": kind, "refused": refused, "message": message})
    finally:
        hub.WEIGHTS_DIR = package_dir
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return rows


# ------------------------------------------------------------------ 3. stalled / dead endpoint
def stalled_endpoint() -> list[dict]:
    import zoo
    from zoo import hub

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes the handshake; nobody ever answers
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()  # nothing listens there now
    rows = []
    saved = {k: os.environ.get(k) for k in ("HF_ENDPOINT", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "ZOO_HOME")}
    package_dir = hub.WEIGHTS_DIR
    try:
        for label, url in (
            ("accepts TCP, never answers", f"http://127.0.0.1:{silent.getsockname()[1]}"),
            ("closed port", f"http://127.0.0.1:{dead_port}"),
        ):
            with tempfile.TemporaryDirectory() as tmp:
                os.environ.update(HF_ENDPOINT=url, HF_HUB_CACHE=str(Path(tmp) / "hf"))
                for k in ("HF_HUB_OFFLINE", "ZOO_HOME"):
                    os.environ.pop(k, None)
                hub.WEIGHTS_DIR = Path(tmp) / "package"  # nothing local: load must go to the endpoint
                t0 = time.perf_counter()
                try:
                    zoo.load("mnist-denoise")
                    message = "loaded (unexpected)"
                except zoo.WeightsError as exc:
                    message = str(exc)
                seconds = time.perf_counter() - t0
                rows.append(
                    {
                        "endpoint": label,
                        "seconds": round(seconds, 1),
                        "names_endpoint": url in message,
                        "message": message[:200],
                    }
                )
    finally:
        silent.close()
        hub.WEIGHTS_DIR = package_dir
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return rows


# ------------------------------------------------------------------ report
def load_summary() -> str:
    """The latest load test (reports/load.md): its setup sentence, errors over all runs, the webcam's share kept."""
    path = ROOT / "reports" / "load.md"
    if not path.is_file():
        return "no load-test report yet: run `python -m training.load_test`"
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    rows = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in lines
        if line.startswith("| ") and line[2].isdigit()
    ]
    dated = subprocess.run(
        ["git", "log", "-1", "--format=%cs", "--", str(path)], capture_output=True, text=True, cwd=ROOT
    )
    when = dated.stdout.strip() or "not committed"
    setup = next((line for line in lines if "calls" in line), "")
    if not rows:
        return f"{setup} (reports/load.md, {when})"
    errors = sum(int(r[1]) for r in rows)
    kept = sorted(int(r[-1].rstrip("%")) for r in rows)
    return (
        f"{setup} **{errors} errors** in {len(rows)} runs; the webcam stream kept {kept[0]}-{kept[-1]}% of its "
        f"unloaded frame rate (`python -m training.load_test --runs {len(rows)}`, reports/load.md, {when})."
    )


def markdown(result: dict) -> str:
    from zoo.network import network_deadline

    fz = result["fuzz"]
    total, crashes = sum(r["inputs"] for r in fz), sum(r["crash"] for r in fz)
    lines = [
        f"Written by `python -m training.reliability --fuzz {fz[0]['inputs']}` on {result['date']}.",
        "",
        f"**Fuzzed inputs**: {fz[0]['inputs']:,} per model through `p(value, mask=...)`, {total:,} in all, "
        f"extreme shapes included (1x20000 strips, 4096x4096, header-only 20000x20000 files): **{crashes} crashes**; "
        f"largest extra memory {max(r['peak_extra_mb'] for r in fz):.0f} MB above the loaded model.",
        "",
        "| model | inputs | restored | refused (ValueError) | crashes | slowest call | peak extra memory |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| `{r['model']}` | {r['inputs']} | {r['ok']} | {r['refused']} | {r['crash']} | "
        f"{r['slowest_s']} s ({r['slowest_input']}) | {r['peak_extra_mb']:.0f} MB |"
        for r in fz
    ]
    tm = result["tamper"]
    refused = sum(r["refused"] for r in tm)
    lines += [
        "",
        f"**Tampered weights**: {len({r['source'] for r in tm})} sources x {len(TAMPER)} kinds of damage: "
        f"**{refused}/{len(tm)} refused** ({100 * refused / len(tm):.0f}%). Downloads from the Hub are "
        "checked by the same sha256 (tests/test_hub.py serves damaged files from a local Hub).",
        "",
        "| source | " + " | ".join(TAMPER) + " |",
        "|---|" + "---|" * len(TAMPER),
    ]
    for src in dict.fromkeys(r["source"] for r in tm):
        cells = ["refused" if r["refused"] else "**LOADED**" for r in tm if r["source"] == src]
        lines.append(f"| {src} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"**Endpoint that cannot answer** (nothing local; stated bound {network_deadline():.0f} s in all):",
        "",
    ]
    lines += [
        f"- {r['endpoint']}: failed after **{r['seconds']} s**, the message names the endpoint: "
        f"{'yes' if r['names_endpoint'] else 'NO'}"
        for r in result["stalled"]
    ]
    lines += ["", f"**Load**: {result['load']}"]
    return "\n".join(lines) + "\n"


def write_readme(md: str) -> None:
    path = ROOT / "README.md"
    text = path.read_text()
    if README_START not in text:
        raise SystemExit(f"README.md has no {README_START} ... {README_END} section to rewrite")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    path.write_text(f"{head}{README_START}\n{md}{README_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.reliability", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--fuzz", type=int, default=1000, help="fuzzed inputs per model")
    parser.add_argument("--fuzz-one", default=None, help=argparse.SUPPRESS)  # the per-model worker
    parser.add_argument("--readme", action="store_true", help="rewrite the README's reliability section")
    args = parser.parse_args(argv)
    if args.fuzz_one:
        print(json.dumps(fuzz_one(args.fuzz_one, args.fuzz)))
        return 0
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "fuzz": fuzz_all(args.fuzz),
        "tamper": tamper_matrix(),
        "stalled": stalled_endpoint(),
        "load": load_summary(),
    }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    REPORT.with_suffix(".md").write_text("# Reliability\n\n" + md)
    if args.readme:
        write_readme(md)
    print(md)
    crashes = sum(r["crash"] for r in result["fuzz"])
    loaded = sum(not r["refused"] for r in result["tamper"])
    return 1 if crashes or loaded else 0


if __name__ == "__main__":
    raise SystemExit(main())
