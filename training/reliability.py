"""Reliability report: fuzzed inputs, tampered weights, a stalled endpoint, the hub under load.

    python -m training.reliability               # 1,000 fuzzed inputs per model -> reports/reliability.*
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
import subprocess
import sys
import time


from .benchmark import ROOT
from .reliability_probes import TAMPER, fuzz_one, stalled_endpoint, tamper_matrix

REPORT = ROOT / "reports" / "reliability"
README_START, README_END = "<!-- reliability:start -->", "<!-- reliability:end -->"


# ------------------------------------------------------------------ 1. fuzz: each model in its own process
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


# ------------------------------------------------------------------ report
def load_summary() -> str:
    """The latest load test (reports/load.md): its setup sentence, errors over all runs, the webcam's share
    kept."""
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
        f"{setup} **{errors} errors** in {len(rows)} runs; the webcam stream kept {kept[0]}-{kept[-1]}% of "
        f"its unloaded frame rate (`python -m training.load_test --runs {len(rows)}`, reports/load.md, "
        f"{when})."
    )


def markdown(result: dict) -> str:
    from zoo.network import network_deadline

    fz = result["fuzz"]
    total, crashes = sum(r["inputs"] for r in fz), sum(r["crash"] for r in fz)
    lines = [
        f"Written by `python -m training.reliability --fuzz {fz[0]['inputs']}` on {result['date']}.",
        "",
        f"**Fuzzed inputs**: {fz[0]['inputs']:,} per model through `p(value, mask=...)`, {total:,} in all, "
        f"extreme shapes included (1x20000 strips, 4096x4096, header-only 20000x20000 files): **{crashes} "
        "crashes**; the most one call allocated (numpy / Python, `tracemalloc`; the input itself not "
        f"counted) {max(r.get('call_peak_mb', 0) for r in fz):.0f} MB. The process's peak resident memory "
        "above the loaded model is also given: it includes the fuzzer's own inputs (arrays up to ~120 MB) "
        "and memory the allocator keeps after a call.",
        "",
        "| model | inputs | restored | refused (ValueError) | crashes | slowest call | largest call "
        "allocation | process peak above the model |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| `{r['model']}` | {r['inputs']} | {r['ok']} | {r['refused']} | {r['crash']} | "
        f"{r['slowest_s']} s ({r['slowest_input']}) | {r.get('call_peak_mb', 0):.0f} MB "
        f"({r.get('call_peak_input', '')}) | {r['peak_extra_mb']:.0f} MB |"
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
