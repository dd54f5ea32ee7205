"""The probes behind the hostile-input part of `python -m training.reliability`: full-size hostile files
through `p(path)`, `zoo run` and the hub; another visitor's wait while one decodes; the hub's memory after
thousands of new sessions; kill -9 during `zoo run`; a weights swap race. Each returns plain rows.

Memory is the peak resident memory of the process *and* its decoder workers above their idle level
(Linux: /proc/PID/status VmHWM after resetting it through /proc/PID/clear_refs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from .reliability_probes import (
    photo_probe_model,
    probe_call,
    probe_model,
    gif_frame_beyond_screen,
    ico_around_png,
    progressive_jpeg_scans,
    tiff_one_tile,
    webp_canvas,
)

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the files
def hostile_files(folder: Path) -> dict[str, Path]:
    """The issue's cases at full size, a variant of each in another format, and the largest ordinary
    image accepted (to show what a legitimate worst case costs). Each under the hub's 20 MB limit."""
    from PIL import Image

    rng = np.random.default_rng(0)
    files = {
        "ICO saying 16x16 around a 13000x13000 PNG": (
            folder / "bomb.ico",
            lambda p: ico_around_png(p, 13000),
        ),
        "GIF screen 16x16, one 13000x13000 frame": (
            folder / "frame.gif",
            lambda p: gif_frame_beyond_screen(p, 13000),
        ),
        "TIFF 16x16 stored as one 46336x46336 tile": (folder / "tile.tif", lambda p: tiff_one_tile(p, 46336)),
        "animated WebP, 16x16 frames on a 12000x12000 canvas": (
            folder / "canvas.webp",
            lambda p: webp_canvas(p, 12000),
        ),
        "PNG 13000x13000 (zeros)": (folder / "huge.png", lambda p: Image.new("L", (13000, 13000)).save(p)),
        "progressive JPEG 4096x4096, 60,000 empty scans": (
            folder / "scans.jpg",
            lambda p: progressive_jpeg_scans(p, 4096, 60_000),
        ),
        "progressive JPEG 4096x4096 colour, 99 scans (accepted)": (
            folder / "scans99.jpg",
            lambda p: _colour_scans(p, 4096, 90),
        ),
        "20 MB of random bytes named .jpg": (
            folder / "random.jpg",
            lambda p: p.write_bytes(rng.integers(0, 256, 20 * 2**20, dtype=np.uint8).tobytes()),
        ),
        "JPEG 4096x4096 of noise (the largest accepted size)": (
            folder / "noise.jpg",
            lambda p: Image.fromarray(rng.integers(0, 255, (4096, 4096, 3), dtype=np.uint8)).save(
                p, quality=85
            ),
        ),
    }
    out = {}
    for label, (path, make) in files.items():
        if not path.exists():
            make(path)
        out[label] = path
    return out


def _colour_scans(path: Path, side: int, scans: int) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (side, side), (90, 120, 200)).save(buf, format="JPEG", progressive=True, quality=90)
    data = buf.getvalue()
    last = data.rfind(b"\xff\xda")
    path.write_bytes(data[:-2] + data[last:-2] * scans + data[-2:])


# ------------------------------------------------------------------ memory of a process tree
def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def tree(pid: int) -> list[int]:
    out = [pid]
    for child in _children(pid):
        out += tree(child)
    return out


def reset_peaks(pids: list[int]) -> None:
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
        except OSError:
            pass


def rss_mb(pids: list[int]) -> float:
    return sum(_status_kb(p, "VmRSS") for p in pids) / 1024


def peak_mb(pids: list[int]) -> float:
    return sum(_status_kb(p, "VmHWM") for p in pids) / 1024


class PeakSampler:
    """The highest sum of VmHWM over `pids`, sampled every 10 ms on a thread until stop()."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.peak, self._stop = pids, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, peak_mb(self.pids))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


# ------------------------------------------------------------------ 1. p(path) and zoo run, fresh processes
_ONE = r"""
import json, os, sys, time
sys.path.insert(0, os.getcwd())
from training.hostile_probes import PeakSampler, peak_mb, reset_peaks, rss_mb, tree
import zoo
from zoo import decode
from zoo.__main__ import main as cli
how, path, out, name = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
p = zoo.load(name)
p(__import__("numpy").zeros((28, 28), "float32"))  # the model's first call, before measuring
decode.warm(1)
pids = tree(os.getpid())
idle = rss_mb(pids)
reset_peaks(pids)
sampler = PeakSampler(pids)  # a worker killed on the time limit takes its own peak with it: sample it
t0 = time.perf_counter()
try:
    if how == "api":
        p(path)
        answer = "restored"
    else:
        code = cli(["run", name, path, "--out", out, "--quiet", "--json"])
        answer = f"exit {code}"
except ValueError as exc:
    answer = "refused: " + str(exc)
seconds = time.perf_counter() - t0
peak = max(sampler.stop(), peak_mb(pids))
print(json.dumps({"seconds": round(seconds, 2), "extra_mb": round(peak - idle), "answer": answer[:160]}))
"""


def through_process(how: str, path: Path) -> dict:
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run(
            [sys.executable, "-c", _ONE, how, str(path), out, probe_model()],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    if run.returncode:
        return {"seconds": None, "extra_mb": None, "answer": "CRASH: " + run.stderr[-200:]}
    return json.loads(run.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ 2. the hub
class Hub:
    """`python hub_app.py` on a free port, in its own process (its memory is its own)."""

    def __init__(self, **env_extra: str) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {
            **os.environ,
            "GRADIO_SERVER_PORT": str(self.port),
            "GRADIO_ANALYTICS_ENABLED": "False",
            **env_extra,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "hub_app.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}/"
        from gradio_client import Client

        for _ in range(240):
            try:
                self.client = Client(self.url, verbose=False)
                break
            except Exception:
                time.sleep(0.5)
        else:
            raise RuntimeError("the hub did not start")

    def pids(self) -> list[int]:
        return tree(self.proc.pid)

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def cheap_call(url: str) -> float:
    """Seconds for one call from a new session (a /call/ request): the probe model's example hub call."""
    import httpx

    endpoint, args = probe_call(probe_model())
    t0 = time.perf_counter()
    event = httpx.post(url + f"gradio_api/call{endpoint}", json={"data": [None, *args]}, timeout=120)
    httpx.get(url + f"gradio_api/call{endpoint}/{event.json()['event_id']}", timeout=120)
    return time.perf_counter() - t0


def hub_probes(files: dict[str, Path], sessions: int = 3000) -> dict:
    """Each hostile file uploaded to the probe model's tab (`probe_model()`, through its example call) and
    as the masked tab's editor layer;
    another visitor's cheap call during the slowest accepted decode; memory after `sessions` calls."""
    from gradio_client import handle_file

    endpoint, args = probe_call(probe_model())
    hub = Hub()
    try:
        for _ in range(3):
            cheap_call(hub.url)
        idle_call = float(np.median([cheap_call(hub.url) for _ in range(5)]))
        rows = []
        for label, path in files.items():
            for how in ("upload", "editor layer"):
                pids = hub.pids()
                idle = rss_mb(pids)
                reset_peaks(pids)
                t0 = time.perf_counter()
                try:
                    if how == "upload":
                        hub.client.predict(handle_file(str(path)), *args, api_name=endpoint)
                    else:
                        layer = {"background": None, "layers": [handle_file(str(path))], "composite": None}
                        hub.client.predict(None, 0, "drawn", 7, 0, layer, api_name="/mnist-masked")
                    answer = "restored"
                except Exception as exc:  # the AppError with the hub's message
                    answer = "refused: " + str(exc)
                seconds = time.perf_counter() - t0
                rows.append(
                    {
                        "file": label,
                        "input": how,
                        "seconds": round(seconds, 2),
                        "extra_mb": round(peak_mb(hub.pids()) - idle),
                        "answer": answer[:160],
                    }
                )
        visitor = visitor_wait(
            hub, files["progressive JPEG 4096x4096 colour, 99 scans (accepted)"], idle_call
        )
        # memory after many new sessions
        every_endpoint_once(hub.client)
        first = rss_mb(hub.pids())
        t0 = time.perf_counter()
        for _ in range(sessions):
            cheap_call(hub.url)
        after = rss_mb(hub.pids())
        memory = {
            "after_every_tab_mb": round(first),
            "after_sessions_mb": round(after),
            "sessions": sessions,
            "seconds": round(time.perf_counter() - t0),
        }
    finally:
        hub.close()
    # the worst case for the other visitors: a decode that runs into the time limit (the scan check,
    # which would refuse this file at once, raised out of the way for this hub only)
    slow_hub = Hub(ZOO_MAX_JPEG_SCANS="1000000")
    try:
        for _ in range(3):
            cheap_call(slow_hub.url)
        idle = float(np.median([cheap_call(slow_hub.url) for _ in range(5)]))
        stopped = visitor_wait(slow_hub, files["progressive JPEG 4096x4096, 60,000 empty scans"], idle)
    finally:
        slow_hub.close()
    return {"inputs": rows, "visitor": visitor, "visitor_time_limit": stopped, "memory": memory}


def visitor_wait(hub: Hub, path: Path, idle_call: float) -> dict:
    """Cheap calls of another visitor (new sessions, one after another) while `path` is uploaded to the
    same tab: the longest of them, against the idle hub's median."""
    from gradio_client import handle_file

    result = {}

    def upload():
        t0 = time.perf_counter()
        endpoint, args = probe_call(probe_model())
        answer = _quiet(hub.client.predict, handle_file(str(path)), *args, api_name=endpoint)
        result.update(upload_s=round(time.perf_counter() - t0, 2), answer=str(answer)[:160])

    thread = threading.Thread(target=upload)
    thread.start()
    time.sleep(0.3)
    during = [cheap_call(hub.url)]
    while thread.is_alive():
        during.append(cheap_call(hub.url))
    thread.join()
    return {"idle_s": round(idle_call, 2), "during_s": round(max(during), 2), "calls": len(during), **result}


def every_endpoint_once(client) -> None:
    """Each public endpoint once, with its parameters' defaults (what a first visitor of each tab does)."""
    for api, spec in client.view_api(print_info=False, return_format="dict")["named_endpoints"].items():
        args = [p.get("parameter_default") for p in spec["parameters"]]
        _quiet(client.predict, *args, api_name=api)


def _quiet(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        return exc


# ------------------------------------------------------------------ 3. kill -9 during zoo run
def kill_during_run(
    kills: int = 100, seed: int = 0, images: int = 400, delay: tuple[float, float] = (3.0, 6.0)
) -> dict:
    """`zoo run` over a folder, killed (SIGKILL) at a random moment `kills` times, each time followed by a
    check of every file at an output path; then `--skip-existing` finishes. Counts broken outputs."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    broken = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in", Path(tmp) / "out"
        src.mkdir()
        for i in range(images):
            Image.fromarray(rng.integers(0, 255, (224, 224, 3), dtype=np.uint8)).save(src / f"{i:03d}.png")
        cmd = [
            sys.executable,
            "-m",
            "zoo",
            "run",
            photo_probe_model(),
            str(src),
            "--out",
            str(out),
            "--quiet",
        ]
        started = time.perf_counter()
        for _ in range(kills):
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay[0] + (delay[1] - delay[0]) * rng.random())  # start-up is ~3 s: then writes
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            for png in out.glob("*.png"):
                checked += 1
                broken += not whole_png(png)
            for png in out.glob("*.png"):  # start again from nothing, so each kill meets writes
                png.unlink()
        finish = subprocess.run(cmd + ["--skip-existing"], cwd=ROOT, capture_output=True, text=True)
        done = sorted(p.name for p in out.glob("*.png")) == sorted(p.name for p in src.glob("*.png"))
        leftovers = len([p for p in out.iterdir() if p.name.startswith(".")])
    return {
        "kills": kills,
        "outputs_checked": checked,
        "broken": broken,
        "finished_after": finish.returncode == 0 and done,
        "temporary_files_left": leftovers,
        "minutes": round((time.perf_counter() - started) / 60, 1),
    }


def whole_png(path: Path) -> bool:
    """Whether a file is a PNG that decodes to the end."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
        return True
    except Exception:
        return False


# ------------------------------------------------------------------ 4. a weights swap race
def swap_race_counts(name: str, real: bytes, tampered: bytes, *, seconds: float = 0, loads: int = 0) -> dict:
    """Load `name` from $ZOO_HOME again and again (for `seconds`, or `loads` times) while a thread swaps
    its model.safetensors between `real` and `tampered` as fast as it can. Counts the loads that got the
    real tensors, were refused, or got anything else ("tampered": the failure this guards against)."""
    import torch
    from safetensors.torch import load

    import zoo

    folder = Path(os.environ["ZOO_HOME"]) / name
    want = load(real)
    counts = {"real": 0, "refused": 0, "tampered": 0}
    stop = threading.Event()

    def swapper():
        flip, tmp = False, folder.parent / "swap.tmp"
        while not stop.is_set():
            tmp.write_bytes(tampered if flip else real)
            tmp.replace(folder / "model.safetensors")
            flip = not flip

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    end, done = time.perf_counter() + seconds, 0
    try:
        while (time.perf_counter() < end) if seconds else (done < loads):
            done += 1
            try:
                model = zoo.load(name).model
            except zoo.WeightsIntegrityError:
                counts["refused"] += 1
                continue
            same = all(torch.equal(v, want[k]) for k, v in model.state_dict().items())
            counts["real" if same else "tampered"] += 1
    finally:
        stop.set()
        thread.join()
    return counts


def zeroed_copy(weights: bytes) -> bytes:
    """The same safetensors file with every tensor zeroed: the same size, so only the hash tells."""
    import torch
    from safetensors.torch import load, save

    return save({k: torch.zeros_like(v) for k, v in load(weights).items()})


def swap_race(seconds: float = 30.0) -> dict:
    """The probe model from a ZOO_HOME copy, loaded for `seconds` while its weights are swapped with a
    zeroed copy (swap_race_counts)."""
    from zoo.registry import WEIGHTS_DIR

    name = probe_model()
    real = (WEIGHTS_DIR / name / "model.safetensors").read_bytes()
    old = os.environ.get("ZOO_HOME")
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / name).mkdir()
        for f in (WEIGHTS_DIR / name).iterdir():
            (Path(home) / name / f.name).write_bytes(f.read_bytes())
        os.environ["ZOO_HOME"] = home
        try:
            counts = swap_race_counts(name, real, zeroed_copy(real), seconds=seconds)
        finally:
            if old is None:
                os.environ.pop("ZOO_HOME", None)
            else:
                os.environ["ZOO_HOME"] = old
    return {"seconds": seconds, **counts}
