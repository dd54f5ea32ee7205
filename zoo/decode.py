"""The one bounded decoder: every image file or byte string from outside goes through here.

Used by `zoo.images.to_array` (so by `p(path)`, `p.batch`, `zoo run`) and by every hub input (uploads,
editor layers, webcam frames). What it bounds, and how:

* **memory**: the pixels are decoded in a child process (`zoo/_decode_worker.py`) whose address space
  is capped at its idle size + `DECODE_MEMORY_MB`. This holds whatever the file claims: an ICO whose
  directory says 16x16 around a 13000x13000 PNG, a 16x16 TIFF stored as one gigantic tile, a GIF frame
  larger than its screen. Headers are also checked first (size, TIFF tile/strip size, JPEG scan count)
  so the common cases get a precise message; Pillow's own bomb limit is set to the project's.
* **time**: a decode that has not answered after `DECODE_SECONDS` is killed (progressive JPEGs made of
  thousands of empty scans take minutes otherwise).
* **formats**: PNG, JPEG (and MPO), BMP, GIF, TIFF, WebP, PPM/PGM/PBM. Others (ICO, ICNS, PSD, ...) are
  refused: each extra container format is an extra way to smuggle a large image.
* **crashes**: a decoder that dies (a bad file, a bug in a C library) ends its process, not the caller.

A killed or crashed worker is replaced on the next call. Workers are kept between calls (one start
costs ~0.3 s); at most `MAX_WORKERS` decode at once, others wait their turn.
"""

from __future__ import annotations

import atexit
import os
import pickle
import selectors
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

MAX_PIXELS = 4096 * 4096  # 16.7 Mpx: larger inputs are refused before allocation
MAX_FILE_BYTES = int(os.environ.get("ZOO_MAX_FILE_MB", "64")) * 1024 * 1024
DECODE_SECONDS = float(os.environ.get("ZOO_DECODE_SECONDS", "8"))
DECODE_MEMORY_MB = int(os.environ.get("ZOO_DECODE_MEMORY_MB", "450"))
# Progressive JPEGs have ~10 scans; each one costs a pass over the image. (The reliability report raises
# it to show the time limit alone stopping a file of thousands.)
MAX_JPEG_SCANS = int(os.environ.get("ZOO_MAX_JPEG_SCANS", "100"))
MAX_WORKERS = int(os.environ.get("ZOO_DECODE_WORKERS", "4"))
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")  # as _decode_worker.FORMATS
FORMATS_TEXT = "PNG, JPEG, BMP, GIF, TIFF, WebP or PPM/PGM"
_WORKER_SCRIPT = Path(__file__).with_name("_decode_worker.py")

Source = Union[str, Path, bytes, bytearray, memoryview]


class ImageDecodeError(ValueError):
    """An input file that was refused or could not be decoded; the message says which and why."""


@dataclass
class Decoded:
    """A decoded file (`zoo.images.to_array` takes one like a path): `pixels` as `zoo.images` reads
    arrays (bool, uint8, uint16, int32 or float32; HxW, HxWx3 or HxWx4), the container `format`, how
    many `frames` it holds (the first is decoded) and `describe`, what its samples are in words."""

    pixels: np.ndarray
    format: str
    frames: int = 1
    describe: str = ""
    name: str = "image data"  # how messages name it: "image file 'x.png'"

    @property
    def what(self) -> str:
        """Its name and what its samples are, for messages about its values."""
        return f"{self.name} ({self.describe})"


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(_WORKER_SCRIPT), str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        try:  # its imports take ~0.3 s; a worker that cannot start is an error, not a hang
            ready = self._read(self.proc.stdout.fileno(), 1, time.monotonic() + 60)
        except (TimeoutError, EOFError):
            ready = b""
        if ready != b"R":
            self.kill()
            raise RuntimeError(f"the image decoder process ({_WORKER_SCRIPT}) did not start")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    def ask(self, request: dict, deadline: float) -> tuple:
        """Send one request and read its answer before `deadline` (time.monotonic()); TimeoutError
        past it, EOFError when the worker died."""
        payload = pickle.dumps(request, protocol=5)
        try:
            self.proc.stdin.write(struct.pack(">I", len(payload)) + payload)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise EOFError from None
        fd = self.proc.stdout.fileno()
        (n,) = struct.unpack(">Q", self._read(fd, 8, deadline))
        answer = pickle.loads(self._read(fd, n, deadline))
        if answer[0] != "ok":
            return answer
        _, dtype, shape, info = answer
        pixels = np.frombuffer(
            self._read(fd, int(np.prod(shape)) * np.dtype(dtype).itemsize, deadline), dtype
        )
        return "ok", pixels.reshape(shape), info

    @staticmethod
    def _read(fd: int, n: int, deadline: float) -> bytearray:
        """n bytes from the pipe into one buffer (no list of chunks joined: one copy of the pixels)."""
        buf, got = bytearray(n), 0
        view = memoryview(buf)
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while got < n:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError
                k = os.readv(fd, [view[got:]])
                if not k:
                    raise EOFError
                got += k
        return buf


class _Pool:
    def __init__(self, size: int, memory_mb: int = DECODE_MEMORY_MB) -> None:
        self.memory_mb = memory_mb
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
        return _Worker(self.memory_mb)

    def close(self) -> None:
        """End the idle workers (at exit: they would end on their own when the pipes close)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()

    def warm(self, n: int = 1) -> None:
        """Start `n` workers now (the hub does this at start-up, so no visitor waits for it)."""
        with self._lock:
            missing = max(0, n - len(self._idle))
        started = [_Worker(self.memory_mb) for _ in range(missing)]
        with self._lock:
            self._idle += started

    def run(self, request: dict, name: str, seconds: float) -> tuple:
        with self._slots:
            worker = self._take()
            try:
                answer = worker.ask(request, time.monotonic() + seconds)
            except TimeoutError:
                worker.kill()
                raise ImageDecodeError(
                    f"{name} took more than {seconds:g} s to decode and was stopped (a malformed or "
                    f"hostile file, e.g. a progressive JPEG of thousands of scans); re-save it as an "
                    f"ordinary {FORMATS_TEXT} file"
                ) from None
            except EOFError:
                worker.kill()  # (it has exited, or will not answer again)
                code = worker.proc.returncode
                raise ImageDecodeError(
                    f"{name}: the decoder stopped on this file (exit status {code}); it is damaged or "
                    f"hostile. Re-save it as an ordinary {FORMATS_TEXT} file"
                ) from None
            except BaseException:  # KeyboardInterrupt mid-answer: the worker's state is unknown
                worker.kill()
                raise
            with self._lock:
                self._idle.append(worker)
            return answer


_POOL = _Pool(MAX_WORKERS)
atexit.register(_POOL.close)


def warm(n: int = 1) -> None:
    _POOL.warm(n)


def describe_source(source: Source) -> str:
    if isinstance(source, (str, Path)):
        return f"image file {Path(source).name!r}"
    return f"image data ({len(source):,} bytes)"


def decode(
    source: Source,
    *,
    name: str | None = None,
    max_pixels: int = MAX_PIXELS,
    seconds: float | None = None,
    pool: _Pool | None = None,
    reduce_to: int | None = None,
) -> Decoded:
    """Decode a file (path) or its bytes within the bounds above; ImageDecodeError (a ValueError) with a
    readable message otherwise. The first frame of an animation is decoded (`Decoded.frames` says how
    many there were); EXIF orientation is applied. `name`: how messages call it (default "image file
    'x.png'"); `pool`: another set of workers (tests use a smaller memory cap); `reduce_to`: the long
    side the caller will shrink to anyway: a JPEG larger than that is decoded at 1/2, 1/4 or 1/8 scale
    (never below it), so a large photo costs the caller a fraction of the memory. Other formats arrive
    at full size."""
    name = name or describe_source(source)
    request = {
        "path": None,
        "data": None,
        "max_bytes": MAX_FILE_BYTES,
        "max_pixels": max_pixels,
        "max_scans": MAX_JPEG_SCANS,
        "reduce_to": reduce_to,
    }
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            size = path.stat().st_size if path.is_file() else None
        except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte, ...
            raise ImageDecodeError(
                f"{str(path)[:80]!r}... is not a usable file path ({exc.__class__.__name__})"
            ) from None
        if size is None:
            raise ImageDecodeError(f"no image file at {str(path)[:200]!r}")
        request["path"] = os.fsencode(path)  # bytes: names that are not valid UTF-8 pass unchanged
    else:
        size = len(source)
        request["data"] = bytes(source)
    if size > MAX_FILE_BYTES:
        raise ImageDecodeError(
            f"{name} is {size / 2**20:.1f} MB, more than the limit of {MAX_FILE_BYTES / 2**20:.0f} MB "
            f"(ZOO_MAX_FILE_MB); save it smaller"
        )
    answer = (pool or _POOL).run(request, name, DECODE_SECONDS if seconds is None else seconds)
    if answer[0] == "error":
        raise ImageDecodeError(f"{name} {answer[1]}")
    _, pixels, info = answer
    return Decoded(pixels, info["format"], info["frames"], info["describe"], name)
