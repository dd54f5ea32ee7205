"""The probes behind `python -m training.reliability`: fuzzed inputs through one model, tampered weight
files from each local source, and endpoints that cannot answer. Each returns plain rows for the report.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


# ------------------------------------------------------------------ which models the probes use
def by_weights_size(names: list[str]) -> list[str]:
    """Names ordered by the size of their shipped weights, smallest first (the cheapest to probe)."""
    import zoo

    return sorted(names, key=lambda n: (zoo.get_entry(n).file("model.safetensors").size, n))


def probe_model() -> str:
    """The model the probes load, run and tamper with: the registry's smallest that needs no mask."""
    import zoo

    return by_weights_size([n for n in zoo.list_models() if not zoo.get_entry(n).pipeline_cls.needs_mask])[0]


def photo_probe_model() -> str:
    """The photo model `zoo run` is killed under: the smallest tagged "photos" that needs no mask."""
    import zoo

    return by_weights_size(
        [n for n in zoo.list_models(tags="photos") if not zoo.get_entry(n).pipeline_cls.needs_mask]
    )[0]


def probe_call(name: str) -> tuple[str, tuple]:
    """(endpoint, arguments after the image) of the model's example hub call (its protocol's)."""
    from zoo import protocols

    endpoint, args = protocols.get_protocol(name).api_call
    return endpoint, tuple(args[1:])


# ------------------------------------------------------------------ 1. fuzz (one model per process)
def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def header_only_png(path: Path, width: int, height: int) -> None:
    """A PNG that declares width x height but holds no pixel data: opening it costs nothing."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


# ------------------------------------------------------------------ hostile files (tests use them too)
def ico_around_png(path: Path, side: int) -> None:
    """An ICO whose directory says 16x16 around a side x side PNG (small: the PNG is all zeros)."""
    import io
    import struct

    from PIL import Image

    png = io.BytesIO()
    Image.new("L", (side, side)).save(png, format="PNG")
    data = png.getvalue()
    directory = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(data), 22)
    path.write_bytes(directory + data)


def gif_frame_beyond_screen(path: Path, side: int) -> None:
    """A GIF whose logical screen says 16x16 and whose one frame is side x side."""
    import io
    import struct

    from PIL import Image

    buf = io.BytesIO()
    Image.new("P", (side, side)).save(buf, format="GIF")
    data = bytearray(buf.getvalue())
    data[6:10] = struct.pack("<HH", 16, 16)
    path.write_bytes(bytes(data))


def tiff_one_tile(path: Path, tile: int, size: int = 16) -> None:
    """A size x size grey TIFF stored as one deflated tile x tile tile (zeros: a few KB per 100 MB)."""
    import struct
    import zlib

    comp, zeros, left, parts = zlib.compressobj(1), bytes(1 << 20), tile * tile, []
    while left > 0:
        parts.append(comp.compress(zeros[: min(left, len(zeros))]))
        left -= len(zeros)
    data = b"".join(parts) + comp.flush()
    # (tag, type, value): type 3 = SHORT, 4 = LONG; 322/323 tile size, 324/325 tile offset and length
    tags = [(256, 4, size), (257, 4, size), (258, 3, 8), (259, 3, 8), (262, 3, 1), (277, 3, 1)]
    tags += [(322, 4, tile), (323, 4, tile), (324, 4, 8), (325, 4, len(data))]
    ifd = struct.pack("<H", len(tags))
    for tag, kind, value in tags:
        ifd += (
            struct.pack("<HHII", tag, kind, 1, value)
            if kind == 4
            else struct.pack("<HHIHH", tag, kind, 1, value, 0)
        )
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8 + len(data)) + data + ifd + struct.pack("<I", 0))


def webp_canvas(path: Path, side: int) -> None:
    """A two-frame animated WebP of 16x16 frames whose canvas (VP8X header) says side x side: about
    140 bytes; Pillow would allocate and fill the whole canvas on load (12000 px: 2.2 GB, 6 s)."""
    import io

    from PIL import Image

    frames = [Image.new("RGB", (16, 16), (40 * i, 0, 0)) for i in range(2)]
    buf = io.BytesIO()
    frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:], lossless=True)
    data = bytearray(buf.getvalue())
    at = data.find(b"VP8X") + 12  # canvas width - 1 and height - 1, 24 bits each, little-endian
    data[at : at + 6] = (side - 1).to_bytes(3, "little") * 2
    path.write_bytes(bytes(data))


def progressive_jpeg_scans(path: Path, side: int, scans: int) -> None:
    """A side x side progressive JPEG whose last scan is repeated `scans` times: each repeat costs the
    decoder a pass over the image (thousands of them: minutes), the file grows by a few bytes each."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (side, side), 0).save(buf, format="JPEG", progressive=True, quality=90)
    data = buf.getvalue()
    last = data.rfind(b"\xff\xda")
    path.write_bytes(data[:-2] + data[last:-2] * scans + data[-2:])


def fuzz_inputs(rng: np.random.Generator, n: int, folder: Path):
    """n (label, value) pairs, made one at a time (so only the current one is in memory); a fixed set
    of extreme cases first, then random ones."""
    from PIL import Image

    header_only_png(folder / "declares-20000.png", 20000, 20000)
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
    tracemalloc.start()  # numpy and Python allocations per call (torch's own CPU buffers are not traced)
    biggest = (0.0, "")
    counts = {"ok": 0, "refused": 0, "crash": 0}
    crashes, slowest = [], (0.0, "")
    with tempfile.TemporaryDirectory() as tmp:
        for label, value in fuzz_inputs(np.random.default_rng(0), n, Path(tmp)):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]  # the input itself is already made: not counted
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
            biggest = max(biggest, ((tracemalloc.get_traced_memory()[1] - before) / 1e6, label))
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
        "call_peak_mb": round(biggest[0], 1),
        "call_peak_input": biggest[1],
    }


# ------------------------------------------------------------------ 2. tamper matrix
TAMPER = {
    "one bit flipped": lambda b: b[: len(b) // 2] + bytes([b[len(b) // 2] ^ 1]) + b[len(b) // 2 + 1 :],
    "truncated by 1 byte": lambda b: b[:-1],
    "1 byte appended": lambda b: b + b"\0",
    "zeroed tail (64 bytes)": lambda b: b[:-64] + bytes(64),
    "another model's file": None,  # replaced by the next-smallest model's weights
    "config.json model_kwargs edited": "config",
}


@contextlib.contextmanager
def isolated_weights(**env: str | None):
    """A temporary folder in which every local weight source starts empty (the package folder is
    root/package, the Hugging Face cache root/hf); `env` sets (str) or unsets (None) more variables.
    Everything is restored on exit. Yields root."""
    from zoo import hub

    saved = {k: os.environ.get(k) for k in ("HF_HUB_CACHE", *env)}
    package_dir = hub.WEIGHTS_DIR
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        try:
            hub.WEIGHTS_DIR = root / "package"
            os.environ["HF_HUB_CACHE"] = str(root / "hf")
            for k, v in env.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
            yield root
        finally:
            hub.WEIGHTS_DIR = package_dir
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def tamper_matrix() -> list[dict]:
    import zoo
    from zoo.registry import WEIGHTS_DIR

    name = probe_model()
    entry = zoo.get_entry(name)
    good = {fn: (WEIGHTS_DIR / name / fn).read_bytes() for fn in ("model.safetensors", "config.json")}
    second = next(n for n in by_weights_size(zoo.list_models()) if n != name)
    other = (WEIGHTS_DIR / second / "model.safetensors").read_bytes()
    rows = []
    for source in ("ZOO_HOME", "package", "hf-cache"):
        for kind, how in TAMPER.items():
            files = dict(good)
            if how == "config":
                cfg = json.loads(good["config.json"])
                cfg["base_channels"] = 16  # the init arguments sit at the top level
                files["config.json"] = json.dumps(cfg).encode()
            else:
                files["model.safetensors"] = other if how is None else how(good["model.safetensors"])
            with isolated_weights(ZOO_HOME=None, HF_HUB_OFFLINE="1") as root:
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
                    os.environ["ZOO_HOME"] = str(root / "home")  # restored by isolated_weights
                try:
                    zoo.load(name)
                    refused, message = False, "loaded"
                except (zoo.WeightsError, ValueError) as exc:
                    refused, message = True, str(exc).splitlines()[0][:160]
            rows.append({"source": source, "tamper": kind, "refused": refused, "message": message})
    return rows


# ------------------------------------------------------------------ 3. stalled / dead endpoint
def stalled_endpoint() -> list[dict]:
    import zoo

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes the handshake; nobody ever answers
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()  # nothing listens there now
    rows = []
    try:
        for label, url in (
            ("accepts TCP, never answers", f"http://127.0.0.1:{silent.getsockname()[1]}"),
            ("closed port", f"http://127.0.0.1:{dead_port}"),
        ):
            # Nothing local: load must go to the endpoint.
            with isolated_weights(HF_ENDPOINT=url, HF_HUB_OFFLINE=None, ZOO_HOME=None):
                t0 = time.perf_counter()
                try:
                    zoo.load(probe_model())
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
    return rows
