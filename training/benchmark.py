"""One command for the README's benchmark table: quality beside the baseline and the source, speed, memory.

    python -m training.benchmark             # ~5 min on 2 CPU cores; rewrites the README table
    python -m training.benchmark --n 50 --no-readme

For every registered model, its protocol's headline row (`zoo.protocols`): on the first
--n test images with the protocol's own damage seeds, the model's headline metric, the
classical method a user would pick, the source project's figure, and milliseconds per
image of each through the public call. Then: webcam frames per second (a 640x480 frame
through `p(center_square(frame))`) against the encoder alone, `zoo.load` time per model,
the hub's cold start to its first answer (a fresh `python hub_app.py` polled with
gradio_client; the median of three), then every protocol's example call, and peak memory.
Results go to reports/benchmark.{md,json} and between the README's
`zoo:benchmark` markers. The full protocols and tables are in each card.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

import zoo
from zoo import images, precision, protocols
from zoo.protocols.feature_recon import calls_per_second

ROOT = Path(__file__).resolve().parents[1]
HUB_THREADS = int(os.environ.get("ZOO_HUB_THREADS", "1"))  # what hub_app.py gives torch


def webcam_model() -> str:
    """The registry's first model tagged "webcam" (the webcam tab's default): no name is written here."""
    tagged = [n for n in zoo.list_models() if "webcam" in zoo.get_entry(n).tags]
    if not tagged:
        raise SystemExit("no registry model is tagged 'webcam': nothing to measure for the webcam line")
    return tagged[0]


def webcam_fps(frames: int = 150) -> dict:
    """A 640x480 camera frame through the public call `p(zoo.images.center_square(frame))` against the
    encoder alone, in one run (the ratio is what the webcam tab can keep of the encoder's speed)."""
    frame = (np.random.default_rng(0).random((480, 640, 3)) * 255).astype(np.uint8)
    name = webcam_model()
    p = zoo.load(name)
    x, _, _ = p._padded(np.random.default_rng(1).random((224, 224, 3), dtype=np.float32))
    with torch.inference_mode():
        encoder = calls_per_second(lambda: p.encoder(x), frames)
    end_to_end = calls_per_second(lambda: p(images.center_square(frame, 224)), frames)
    live = precision.fastest(p, 224)  # what the webcam tab runs here: bfloat16 where that is faster
    live_fps = calls_per_second(lambda: live(images.center_square(frame, 224)), frames)
    return {
        "model": name,
        "end_to_end_fps": end_to_end,
        "encoder_only_fps": encoder,
        "ratio": end_to_end / encoder,
        "live_dtype": str(live.dtype).removeprefix("torch."),
        "live_fps": live_fps,
    }


def load_times() -> dict[str, float]:
    """Seconds for zoo.load(name), each in a fresh interpreter (imports excluded, weights verified)."""
    out = {}
    for name in zoo.list_models():
        # `import zoo` is lazy: torch and the registry's pipelines are imported before the clock starts
        code = (
            "import time, torch, zoo; zoo.list_models(); t=time.perf_counter(); zoo.load(%r); "
            "print(time.perf_counter()-t)" % name
        )
        res = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        out[name] = float(res.stdout.strip().splitlines()[-1]) if res.returncode == 0 else float("nan")
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_hub(port: int, timeout: float = 240.0):
    """Spawn `python hub_app.py` on `port`; returns (process, a connected gradio_client.Client)."""
    from gradio_client import Client

    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "hub_app.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        if time.perf_counter() - t0 > timeout or proc.poll() is not None:
            proc.terminate()
            raise RuntimeError(f"the hub did not answer within {timeout:.0f} s (exit code {proc.poll()})")
        try:
            return proc, Client(f"http://127.0.0.1:{port}/", verbose=False)
        except Exception:
            time.sleep(0.25)


def example_calls() -> list[tuple[str, tuple]]:
    """Each protocol's example hub call, once per endpoint (models that share a tab share one)."""
    calls = {}
    for name in zoo.list_models():
        call = protocols.get_protocol(name).api_call
        if call:
            calls.setdefault(call[0], call)
    return list(calls.values())


def in_page_order(calls: list[tuple[str, tuple]], client) -> list[tuple[str, tuple]]:
    """The calls in the order the hub defines its endpoints (its tab order): the first is the first
    screen's, what a visitor's first answer comes from."""
    names = list(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    return sorted(calls, key=lambda call: names.index(call[0]) if call[0] in names else len(names))


COLD_STARTS = 3  # one cold start varies by +-1 s here (disk cache, CPU clock): the median of three


def first_answer(calls: list[tuple[str, tuple]] | None = None):
    """One cold start: (seconds from spawning `python hub_app.py` to its API up, to its first answer
    (the first tab's example call), the still running process, its client, the calls in page order)."""
    t0 = time.perf_counter()
    proc, client = start_hub(_free_port())
    up = time.perf_counter() - t0  # imports, the page built, the server answering its API
    try:
        calls = calls or in_page_order(example_calls(), client)
        client.predict(*calls[0][1], api_name=calls[0][0])
    except BaseException:
        proc.terminate()
        raise
    return up, time.perf_counter() - t0, proc, client, calls


def hub_cold_start(repeats: int = COLD_STARTS) -> dict:
    """The median over `repeats` cold starts of the seconds to the first answer (and to the API up);
    then, in the last hub, every tab's example call once, the hub's peak memory and the webcam tab in
    a browser."""
    ups, firsts, calls = [], [], None
    for i in range(repeats):
        up, first, proc, client, calls = first_answer(calls)
        ups.append(up)
        firsts.append(first)
        if i < repeats - 1:
            proc.terminate()
            proc.wait(timeout=30)
    try:
        for api, args in calls[1:]:
            client.predict(*args, api_name=api)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_mb = (
            int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024
        )
        return {
            "first_response_s": float(np.median(firsts)),
            "first_response_all_s": firsts,
            "server_up_s": float(np.median(ups)),
            "first_call": calls[0][0],
            "peak_mb_after_every_tab": peak_mb,
            "browser": browser_webcam(client.src),
            "tabs_while_streaming": tab_calls_while_streaming(client, calls),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def browser_webcam(url: str, seconds: float = 20.0) -> dict:
    """The webcam tab in Chromium (fake camera) over `seconds`: the frame rate its readout reports and
    the model latency per frame in the hub's process, medians of the samples; NaN without Chromium."""
    import shutil

    nan = {"fps": float("nan"), "latency_ms": float("nan")}
    if shutil.which("chromium") is None:
        return nan
    from .load_test import StreamWatcher

    with StreamWatcher(url) as watcher:
        if watcher.error:
            return nan
        t0 = time.time()
        time.sleep(seconds)
    t0, t1 = t0 + 3, time.time()  # the first seconds are the stream starting
    return {"fps": watcher.fps_between(t0, t1), "latency_ms": watcher.latency_between(t0, t1)}


def tab_calls_while_streaming(client, calls: list[tuple[str, tuple]], repeats: int = 3) -> dict:
    """Every tab's example call (one visitor, median of `repeats`) on the idle hub, then again while the
    webcam tab streams in Chromium, and the stream's FPS meanwhile: the other tabs must still answer while
    it streams. {} without Chromium."""
    import shutil

    if shutil.which("chromium") is None:
        return {}
    from .load_test import StreamWatcher

    def timed() -> dict[str, float]:
        out = {}
        for api, args in calls:
            seconds = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                client.predict(*args, api_name=api)
                seconds.append(time.perf_counter() - t0)
            out[api] = float(np.median(seconds))
        return out

    idle = timed()
    with StreamWatcher(client.src) as watcher:
        if watcher.error:
            return {}
        time.sleep(4)  # the stream under way
        t0 = time.time()
        streaming = timed()
        fps = watcher.fps_between(t0, time.time())
    return {"idle_s": idle, "streaming_s": streaming, "stream_fps": fps, "repeats": repeats}


def tabs_sentence(t: dict) -> str:
    """The other tabs' answers while the webcam streams, against the idle hub."""
    if not t:
        return ""
    idle, streaming = t["idle_s"], t["streaming_s"]
    slowest = max(streaming, key=streaming.get)
    return (
        f" While it streamed, every tab still answered: each tab's example call (one visitor, median of "
        f"{t.get('repeats', 3)}) "
        f"took {min(streaming.values()):.2f}-{max(streaming.values()):.2f} s against "
        f"{min(idle.values()):.2f}-{max(idle.values()):.2f} s on the idle hub (slowest `{slowest}`: "
        f"{streaming[slowest]:.2f} s, idle {idle[slowest]:.2f} s), the stream meanwhile at "
        f"{t['stream_fps']:.1f} FPS."
    )


def cold_starts(h: dict) -> str:
    """'median of 3: 6.6, 7.1, 8.3 s', or 'one start' for a result without the repeats."""
    runs = h.get("first_response_all_s") or []
    if not runs:
        return "one start"
    return f"median of {len(runs)}: " + ", ".join(f"{t:.1f}" for t in sorted(runs)) + " s"


def browser_sentence(b: dict) -> str:
    """The webcam tab in Chromium: received FPS, and where the rest of each frame's round trip goes."""
    fps, latency = b.get("fps", float("nan")), b.get("latency_ms", float("nan"))
    if fps != fps:  # NaN: no Chromium
        return "The webcam tab in Chromium was not measured (no Chromium)."
    per_frame = 1000 / fps if fps > 0 else float("inf")
    return (
        f"In Chromium (fake camera, 320x240), the webcam tab received **{fps:.1f} FPS**: a "
        f"{per_frame:.0f} ms round trip per frame, of which the model took {latency:.0f} ms in the hub "
        f"(which runs torch on {HUB_THREADS} thread(s)); the rest is the browser's capture and JPEG "
        "encoding, the upload, Gradio's pre/post-processing and the answer's way back (Gradio takes a "
        "new frame only once the last one is answered)."
    )


def pipeline_parameters(p) -> int:
    """Parameters of every torch module a pipeline holds (a frozen encoder included)."""
    modules = [m for m in vars(p).values() if isinstance(m, torch.nn.Module)]
    return sum(t.numel() for m in modules for t in m.parameters())


def engine_throughput(counts: tuple[int, int] = (512, 256), workers: int = 2) -> dict:
    """`zoo run` over a folder of 224x224 photos with the local engine and with Ray (`--engine ray
    --workers N`, a local cluster started by the run), for the registry's smallest and largest model
    (by parameters, encoders included): images per second end to end, start-up included, and the
    ratio, in one run."""
    import tempfile

    from PIL import Image

    from zoo.__main__ import main as cli

    sizes = {name: pipeline_parameters(zoo.load(name)) for name in zoo.list_models()}
    chosen = [min(sizes, key=sizes.get), max(sizes, key=sizes.get)]
    rng = np.random.default_rng(0)
    out = {"workers": workers, "models": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name, n in zip(chosen, counts):
            src = Path(tmp) / name
            src.mkdir()
            for i in range(n):
                Image.fromarray(rng.integers(0, 255, (224, 224, 3), dtype=np.uint8)).save(
                    src / f"{i:04d}.png"
                )
            row = {"model": name, "parameters": sizes[name], "images": n}
            for engine in ("local", "ray"):
                args = ["run", name, str(src), "--out", str(Path(tmp) / f"{name}-{engine}"), "--quiet"]
                args += ["--corrupt"] if zoo.load(name).needs_mask else []
                args += ["--engine", "ray", "--workers", str(workers)] if engine == "ray" else []
                t0 = time.perf_counter()
                code = cli(args)
                row[f"{engine}_s"] = time.perf_counter() - t0
                row[f"{engine}_ok"] = code == 0
            row["ratio"] = row["local_s"] / row["ray_s"]
            out["models"].append(row)
    return out


def engines_sentence(e: dict) -> str:
    if not e:
        return ""
    parts = [
        f"`{r['model']}` ({r['parameters'] / 1e6:.2f}M parameters, {r['images']} images): local "
        f"{r['images'] / r['local_s']:.1f} img/s, Ray {r['images'] / r['ray_s']:.1f} img/s (ratio "
        f"{r['ratio']:.2f})"
        for r in e["models"]
    ]
    return (
        f"`zoo run` engines (224x224 PNGs in, PNGs out, start-up included; Ray: a local cluster of "
        f"{e['workers']} actors, one model each): " + "; ".join(parts) + "."
    )


def markdown(results: dict) -> str:
    def f(v, digits=4):
        return f"{v:.{digits}g}" if isinstance(v, float) else str(v)

    lines = [
        "| model | metric | model | classical baseline | source project | model ms/image | baseline ms/image "
        "| images |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results["tasks"]:
        lines.append(
            f"| `{r['task']}` | {r['metric']} | **{f(r['model'])}** | {f(r['baseline'])} "
            f"({r['baseline_name']}) | "
            f"{f(r['source'])} | {r['model_ms']:.1f} | {r['baseline_ms']:.1f} | {r['n']} |"
        )
    w, h = results["webcam"], results["hub"]
    notes = [f"`{r['task']}`: {r['note']}" for r in results["tasks"] if r.get("note")]
    lines += ["", *notes] if notes else []
    lines += [
        "",
        f"Webcam ({w.get('model', 'the webcam model')}, 640x480 frame -> centre square 224x224 -> `p(frame)`): "
        f"**{w['end_to_end_fps']:.1f} FPS** end to end; encoder alone {w['encoder_only_fps']:.1f} FPS "
        f"(ratio {w['ratio']:.2f}); in the precision the webcam tab chose on this machine "
        f"({w.get('live_dtype', 'float32')}, `app/live_precision.py`): {w.get('live_fps', float('nan')):.1f} FPS. "
        f"{browser_sentence(h.get('browser', {}))}{tabs_sentence(h.get('tabs_while_streaming', {}))}",
        f"Hub cold start (`python hub_app.py` to its first answer, `{h['first_call']}`, the first tab's): "
        f"**{h['first_response_s']:.1f} s** ({cold_starts(h)}; its API up after "
        f"{h.get('server_up_s', float('nan')):.1f} s); "
        f"hub peak memory after every tab ran once: {h['peak_mb_after_every_tab']:.0f} MB; "
        f"this benchmark's own peak: {results['benchmark_peak_mb']:.0f} MB.",
        "",
        "`zoo.load` seconds (fresh interpreter, sha256 verified): "
        + ", ".join(f"`{k}` {v:.2f}" for k, v in results["load_s"].items())
        + ".",
        "",
        engines_sentence(results.get("engines", {})),
        "",
        f"Machine: {results['machine']}. Written by `python -m training.benchmark --n {results['n']}` "
        f"on {results['date']}.",
    ]
    return "\n".join(lines)


def write_readme(table: str, measured: list[str]) -> None:
    from .readme import write_section

    write_section("zoo:benchmark", table, measured)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="test images per task")
    parser.add_argument("--no-readme", action="store_true", help="write reports/ only")
    parser.add_argument("--skip-hub", action="store_true", help="skip the hub cold start (faster)")
    parser.add_argument("--skip-engines", action="store_true", help="skip `zoo run` local against Ray")
    args = parser.parse_args(argv)
    results = {
        "n": args.n,
        "date": time.strftime("%Y-%m-%d"),
        "tasks": [],
        "machine": (
            f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads"
        ),
    }
    for name in tqdm(zoo.list_models(), desc="tasks"):
        results["tasks"].append(protocols.get_protocol(name).headline(args.n))
    results["webcam"] = webcam_fps()
    results["load_s"] = load_times()
    results["engines"] = engine_throughput() if not args.skip_engines else {}
    results["hub"] = (
        hub_cold_start()
        if not args.skip_hub
        else {"first_response_s": float("nan"), "first_call": "-", "peak_mb_after_every_tab": float("nan")}
    )
    results["benchmark_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = markdown(results)
    out = ROOT / "reports"
    out.mkdir(exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "benchmark.md").write_text(table + "\n")
    print(table)
    if not args.no_readme:
        write_readme(table, [t["task"] for t in results["tasks"]])
        print("\nwrote README.md (between the zoo:benchmark markers) and reports/benchmark.{md,json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
