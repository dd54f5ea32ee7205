"""Load test of the hub: many concurrent API calls while a webcam stream runs (a report, not a test).

    python -m training.load_test                 # 60 calls, 50 at a time; writes reports/load.md
    python -m training.load_test --calls 120 --concurrency 40
    python -m training.load_test --runs 5        # the frame rate varies from run to run: repeat it

1. Starts `python hub_app.py` on a free port.
2. Opens the Webcam tab in Debian's Chromium (Playwright, fake camera) and records
   the live FPS readout for --warmup seconds: the unloaded frame rate.
3. Fires --calls gradio_client calls across the task tabs, --concurrency at a time,
   while the stream keeps running; records each call's latency and any error.
4. Reports errors (target 0), p50/p95 latency, and the stream's frame rate under load
   against the unloaded one (stated margin: it keeps at least MARGIN of it).
"""

from __future__ import annotations

import argparse
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm.auto import tqdm

from .benchmark import ROOT, _free_port, example_calls, start_hub

MARGIN = 0.5  # the stream must keep at least half its unloaded frame rate
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
CALLS = example_calls()  # (api_name, arguments): each protocol's example call, cycled


class StreamWatcher:
    """Keeps the webcam tab streaming in Chromium and samples its FPS readout."""

    def __init__(self, url: str) -> None:
        self.url, self.samples, self.latencies, self.stop = url, [], [], threading.Event()
        self.ready = threading.Event()
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(self.url, wait_until="load", timeout=120_000)
                page.get_by_role("tab", name="Webcam").click()
                page.get_by_text("Click to Access Webcam").click()
                page.locator("button:visible", has_text="Record").click()  # aria-label: "capture photo"
                readout = page.locator("div.prose:has-text('FPS received')").first
                readout.wait_for(state="visible", timeout=120_000)
                self.ready.set()
                while not self.stop.is_set():
                    text = readout.inner_text()
                    fps, latency = re.search(r"([\d.]+) FPS", text), re.search(r"latency (\d+) ms", text)
                    if fps:
                        self.samples.append((time.time(), float(fps.group(1))))
                    if latency:
                        self.latencies.append((time.time(), float(latency.group(1))))
                    page.wait_for_timeout(500)
                browser.close()
        except Exception as exc:  # reported, not raised in the thread
            self.error = exc
            self.ready.set()

    def __enter__(self) -> "StreamWatcher":
        """Start streaming and wait until the readout shows (or `error` says why it did not)."""
        self.thread.start()
        self.ready.wait(180)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(30)

    def fps_between(self, t0: float, t1: float) -> float:
        """Median of the readout's received FPS sampled between t0 and t1."""
        vals = [v for t, v in self.samples if t0 <= t <= t1]
        return float(np.median(vals)) if vals else float("nan")

    def latency_between(self, t0: float, t1: float) -> float:
        """Median of the readout's model latency (ms per frame, in the hub's process) between t0 and t1."""
        vals = [v for t, v in self.latencies if t0 <= t <= t1]
        return float(np.median(vals)) if vals else float("nan")


def one_run(calls: int, concurrency: int, warmup: float) -> dict:
    """A fresh hub, a webcam stream, then the calls: latencies, errors and the stream's FPS idle / under
    load."""
    from gradio_client import Client

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    hub, _ = start_hub(port)
    try:
        with StreamWatcher(url) as watcher:
            if watcher.error:
                raise RuntimeError(f"the webcam stream did not start: {watcher.error}")
            t_idle = time.time()
            time.sleep(warmup)
            idle_fps = watcher.fps_between(t_idle, time.time())
            local = threading.local()

            def one(i: int) -> tuple[str, float, str | None]:
                if not hasattr(local, "client"):
                    local.client = Client(url, verbose=False)
                api, args = CALLS[i % len(CALLS)]
                t0 = time.perf_counter()
                try:
                    local.client.predict(*args, api_name=api)
                    return api, time.perf_counter() - t0, None
                except Exception as exc:
                    return api, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"

            t_load = time.time()
            with ThreadPoolExecutor(concurrency) as pool:
                results = list(pool.map(one, range(calls)))
            t_end = time.time()
            load_fps = watcher.fps_between(t_load + 2, t_end)
    finally:
        hub.terminate()
        hub.wait(30)
    return {
        "results": results,
        "seconds": t_end - t_load,
        "idle_fps": idle_fps,
        "load_fps": load_fps,
        "kept": load_fps / idle_fps if idle_fps else float("nan"),
    }


def render(runs: list[dict], calls: int, concurrency: int) -> str:
    """The markdown report: one row per run, then what the runs say together."""
    results = [r for run in runs for r in run["results"]]
    errors = [r for r in results if r[2]]
    kept = [run["kept"] for run in runs]
    held = sum(k >= MARGIN for k in kept)
    lines = [
        "# Hub load test",
        "",
        f"{calls} gradio_client calls across {len(CALLS)} endpoints, {concurrency} at a time, while one "
        f"webcam stream ran (Chromium fake camera); {len(runs)} run(s), each on a freshly started hub.",
        "",
        "| run | errors | p50 latency (s) | p95 latency (s) | max (s) | webcam FPS idle | webcam FPS under "
        "load | kept |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, run in enumerate(runs, 1):
        lat = np.array([r[1] for r in run["results"]])
        lines.append(
            f"| {i} | {sum(1 for r in run['results'] if r[2])} | {np.percentile(lat, 50):.2f} | "
            f"{np.percentile(lat, 95):.2f} | {lat.max():.2f} | {run['idle_fps']:.1f} | "
            f"{run['load_fps']:.1f} | {run['kept']:.0%} |"
        )
    lines += [
        "",
        f"Stated margin: the stream keeps at least {MARGIN:.0%} of its idle frame rate: held in {held} of "
        f"{len(runs)} run(s) (kept: median {np.median(kept):.0%}, range {min(kept):.0%}-{max(kept):.0%}): "
        f"**{'met' if held == len(runs) else 'MISSED'}**. "
        f"Target errors: 0: **{'met' if not errors else 'MISSED'}** ({len(errors)} in {len(results)} calls).",
        "",
        "Per endpoint p50 over all runs (s): "
        + ", ".join(
            f"`{api}` {np.percentile([r[1] for r in results if r[0] == api], 50):.2f}" for api, _ in CALLS
        )
        + ".",
    ]
    if errors:
        lines += ["", "Errors:"] + [f"- `{api}`: {err[:200]}" for api, _, err in errors[:10]]
    lines += [
        "",
        f"Written by `python -m training.load_test --calls {calls} --concurrency {concurrency} "
        f"--runs {len(runs)}` on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.load_test", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds of unloaded streaming first")
    parser.add_argument(
        "--runs", type=int, default=1, help="repeat the whole test this many times (fresh hub each)"
    )
    args = parser.parse_args(argv)
    runs = [
        one_run(args.calls, args.concurrency, args.warmup)
        for _ in tqdm(range(args.runs), desc="load test runs")
    ]
    report = render(runs, args.calls, args.concurrency)
    out = ROOT / "reports" / "load.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report + "\n")
    print(report)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
