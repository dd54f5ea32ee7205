"""One command for the README's benchmark table: quality beside the baseline and the source, speed, memory.

    python -m training.benchmark             # ~5 min on 2 CPU cores; rewrites the README table
    python -m training.benchmark --n 50 --no-readme

Per task, on the first --n test images with each evaluation's own damage seeds: the
model's headline metric, the classical method a user would pick, the source
project's figure, and milliseconds per image of each through the public call.
Then: webcam frames per second (the tab's handler on a 640x480 frame) against the
encoder alone, `zoo.load` time per model, the hub's cold start to its first answer
(a fresh `python hub_app.py` process polled with gradio_client), and peak memory.
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
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

import zoo
from zoo import baselines, corruptions, data, metrics
from zoo.pipelines.mnist_masked import mnist_damage

from .eval_common import mean_metric, seed_for
from .eval_feature_recon import FEATURE_NAMES, calls_per_second, equal_values_side, test_images
from .eval_mnist import SOURCE_DENOISE, SOURCE_MASKED, TV_WEIGHTS, _best_param
from .eval_nca import SOURCE_ACCURACY_AT_0_4

ROOT = Path(__file__).resolve().parents[1]
README_START, README_END = "<!-- zoo:benchmark:start -->", "<!-- zoo:benchmark:end -->"


def _timed(fn: Callable, items) -> tuple[list, float]:
    """Outputs of fn over items, and mean milliseconds per item."""
    t0 = time.perf_counter()
    outs = [fn(*item) if isinstance(item, tuple) else fn(item) for item in items]
    return outs, 1000 * (time.perf_counter() - t0) / max(1, len(items))


def nca_fmnist(n: int) -> dict:
    p = zoo.load("nca-fmnist")
    x, y = data.load_fashion_mnist("test")
    x, y = x[:n], y[:n]
    pairs = [corruptions.random_pixel_mask(img, 0.4, seed_for(i)) for i, img in enumerate(x)]
    outs, ms = _timed(lambda d, m: p(d, mask=m), pairs)
    bih, bms = _timed(baselines.inpaint_biharmonic_, pairs)
    bih_labels = [int(np.argmax(p.classify(b))) for b in bih]
    return {"task": "nca-fmnist", "metric": "accuracy, 40% pixels masked", "model": metrics.accuracy(y, [o.label for o in outs]),
            "baseline_name": "biharmonic inpainting + same CNN", "baseline": metrics.accuracy(y, bih_labels),
            "source": SOURCE_ACCURACY_AT_0_4, "model_ms": ms, "baseline_ms": bms, "n": n}


def mnist_masked(n: int) -> dict:
    p = zoo.load("mnist-masked")
    x, y = data.load_mnist("test")
    x = x[np.isin(y, (5, 7))][:n]
    pairs = [mnist_damage(img, "vertical", 7, seed_for(i)) for i, img in enumerate(x)]
    outs, ms = _timed(lambda d, m: p(d, mask=m).image, pairs)
    bih, bms = _timed(baselines.inpaint_biharmonic_, pairs)
    return {"task": "mnist-masked", "metric": "MSE, vertical stripe 7 px (lower is better)", "model": mean_metric(metrics.mse, x, outs),
            "baseline_name": "biharmonic inpainting", "baseline": mean_metric(metrics.mse, x, bih),
            "source": SOURCE_MASKED["vertical"][2], "model_ms": ms, "baseline_ms": bms, "n": len(x)}


def mnist_denoise(n: int) -> dict:
    p = zoo.load("mnist-denoise")
    x, _ = data.load_mnist("test")
    x = x[:n]
    val = data.load_mnist("train")[0][-100:]
    noisy = [corruptions.gaussian_noise(img, 0.5, seed_for(i))[0] for i, img in enumerate(x)]
    vnoisy = [corruptions.gaussian_noise(img, 0.5, seed_for(10_000 + i))[0] for i, img in enumerate(val)]
    weight = _best_param(baselines.denoise_tv, TV_WEIGHTS, val, vnoisy)
    outs, ms = _timed(lambda z: p(z).image, noisy)
    tv, bms = _timed(lambda z: baselines.denoise_tv(z, weight), noisy)
    return {"task": "mnist-denoise", "metric": "PSNR dB, sigma 0.5", "model": mean_metric(metrics.psnr, x, outs),
            "baseline_name": f"TV denoising (weight {weight}, tuned)", "baseline": mean_metric(metrics.psnr, x, tv),
            "source": SOURCE_DENOISE["psnr"], "model_ms": ms, "baseline_ms": bms, "n": n}


def mnist_ae2d(n: int) -> dict:
    p = zoo.load("mnist-ae2d")
    x, y = data.load_mnist("test")
    x = x[np.isin(y, (5, 7))][:n]
    train, ty = data.load_mnist("train")
    mean_digit = train[np.isin(ty, (5, 7))].mean(axis=0)
    outs, ms = _timed(lambda z: p(z).image, list(x))
    return {"task": "mnist-ae2d", "metric": "reconstruction MSE (lower is better)", "model": mean_metric(metrics.mse, x, outs),
            "baseline_name": "the mean training digit", "baseline": mean_metric(metrics.mse, x, [mean_digit] * len(x)),
            "source": "< 0.07 (target)", "model_ms": ms, "baseline_ms": 0.0, "n": len(x)}


def feature_recon(name: str) -> Callable[[int], dict]:
    def run(n: int) -> dict:
        p = zoo.load(name)
        x, _ = test_images(limit=n)
        kw = p.entry.model_kwargs
        side = equal_values_side(kw["in_channels"], kw["stride"])
        outs, ms = _timed(lambda z: p(z).image, list(x))
        ref, bms = _timed(lambda z: baselines.bicubic_same_values(z, kw["in_channels"], kw["stride"]), list(x))
        return {"task": name, "metric": f"PSNR dB from stride-{kw['stride']} features, 224x224", "model": mean_metric(metrics.psnr, x, outs),
                "baseline_name": f"bicubic from {side}x{side}x3 (same number of values)", "baseline": mean_metric(metrics.psnr, x, ref),
                "source": "not published", "model_ms": ms, "baseline_ms": bms, "n": len(x)}

    return run


TASKS = {"nca-fmnist": nca_fmnist, "mnist-masked": mnist_masked, "mnist-denoise": mnist_denoise,
         "mnist-ae2d": mnist_ae2d, **{name: feature_recon(name) for name in FEATURE_NAMES}}


def webcam_fps(frames: int = 150) -> dict:
    """The webcam tab's handler on a 640x480 frame, as fast as it goes, against the encoder alone."""
    from app.feature_tabs import webcam_frame

    frame = (np.random.default_rng(0).random((480, 640, 3)) * 255).astype(np.uint8)
    p = zoo.load("feature-recon")
    x, _, _ = p._padded(np.random.default_rng(1).random((224, 224, 3), dtype=np.float32))

    with torch.inference_mode():
        encoder = calls_per_second(lambda: p.encoder(x), frames)
    return {"end_to_end_fps": calls_per_second(lambda: webcam_frame(frame, "feature-recon", []), frames),
            "encoder_only_fps": encoder}


def load_times() -> dict[str, float]:
    """Seconds for zoo.load(name), each in a fresh interpreter (imports excluded, weights verified)."""
    out = {}
    for name in zoo.list_models():
        code = ("import time, zoo; t=time.perf_counter(); zoo.load(%r); print(time.perf_counter()-t)" % name)
        res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
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
    proc = subprocess.Popen([sys.executable, "hub_app.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        if time.perf_counter() - t0 > timeout or proc.poll() is not None:
            proc.terminate()
            raise RuntimeError(f"the hub did not answer within {timeout:.0f} s (exit code {proc.poll()})")
        try:
            return proc, Client(f"http://127.0.0.1:{port}/", verbose=False)
        except Exception:
            time.sleep(0.25)


def hub_cold_start() -> dict:
    """Seconds from spawning `python hub_app.py` to its first answer (an mnist-denoise call), and its peak memory."""
    t0 = time.perf_counter()
    proc, client = start_hub(_free_port())
    try:
        client.predict(None, 0, 0.5, 0, api_name="/mnist-denoise")
        first = time.perf_counter() - t0
        for api, args in (("/nca-fmnist", (None, 0, 0.4, 20, 0)), ("/feature-recon", (None, data.HELDOUT_PHOTOS[0], "feature-recon")),
                          ("/mnist-masked", (None, 0, "vertical", 7, 0, None))):
            client.predict(*args, api_name=api)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_mb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024
        return {"first_response_s": first, "peak_mb_after_four_tabs": peak_mb}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def markdown(results: dict) -> str:
    def f(v, digits=4):
        return f"{v:.{digits}g}" if isinstance(v, float) else str(v)

    lines = ["| model | metric | model | classical baseline | source project | model ms/image | baseline ms/image | images |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results["tasks"]:
        lines.append(f"| `{r['task']}` | {r['metric']} | **{f(r['model'])}** | {f(r['baseline'])} ({r['baseline_name']}) | "
                     f"{f(r['source'])} | {r['model_ms']:.1f} | {r['baseline_ms']:.1f} | {r['n']} |")
    w, h = results["webcam"], results["hub"]
    lines += ["", f"Webcam (feature-recon, 640x480 frame -> 224x224, the tab's handler): **{w['end_to_end_fps']:.1f} FPS** "
                  f"end to end; encoder alone {w['encoder_only_fps']:.1f} FPS.",
              f"Hub cold start (`python hub_app.py` to its first answer): **{h['first_response_s']:.1f} s**; "
              f"hub peak memory after four tabs ran: {h['peak_mb_after_four_tabs']:.0f} MB; "
              f"this benchmark's own peak: {results['benchmark_peak_mb']:.0f} MB.",
              "", "`zoo.load` seconds (fresh interpreter, sha256 verified): "
              + ", ".join(f"`{k}` {v:.2f}" for k, v in results["load_s"].items()) + ".",
              "", f"Machine: {results['machine']}. Written by `python -m training.benchmark --n {results['n']}` "
                  f"on {results['date']}."]
    return "\n".join(lines)


def write_readme(table: str, path: Path = ROOT / "README.md") -> None:
    text = path.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{path} has no {README_START} ... {README_END} markers")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    path.write_text(f"{head}{README_START}\n{table}\n{README_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="test images per task")
    parser.add_argument("--no-readme", action="store_true", help="write reports/ only")
    parser.add_argument("--skip-hub", action="store_true", help="skip the hub cold start (faster)")
    args = parser.parse_args(argv)
    results = {"n": args.n, "date": time.strftime("%Y-%m-%d"), "tasks": [],
               "machine": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads"}
    for name, fn in tqdm(TASKS.items(), desc="tasks"):
        results["tasks"].append(fn(args.n))
    results["webcam"] = webcam_fps()
    results["load_s"] = load_times()
    results["hub"] = hub_cold_start() if not args.skip_hub else {"first_response_s": float("nan"), "peak_mb_after_four_tabs": float("nan")}
    results["benchmark_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = markdown(results)
    out = ROOT / "reports"
    out.mkdir(exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "benchmark.md").write_text(table + "\n")
    print(table)
    if not args.no_readme:
        write_readme(table)
        print("\nwrote README.md (between the zoo:benchmark markers) and reports/benchmark.{md,json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
