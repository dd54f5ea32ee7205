"""The decoding process behind `zoo.decode`: Pillow (and OpenCV for 16-bit colour PNGs) in a child
process whose address space is capped, so that no file can cost the caller more than the cap.

Run as a script by `zoo.decode` (never imported by the package: it must not import torch). It reads
requests from stdin and writes answers to stdout, each a 4-byte big-endian length then a pickle:
    request: {"path": bytes | None, "data": bytes | None, "max_bytes": int, "max_pixels": int,
              "max_scans": int, "reduce_to": int | None}
    answer:  ("ok", dtype, shape, info) then the array's bytes | ("error", message)
The array is the image's raw pixels, as `zoo.images` turns them into floats: bool (mode 1), uint8
(L, RGB, RGBA), uint16 (16-bit grey, 16-bit colour PNG), int32 (I), float32 (F).
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
import sys
import warnings

import cv2  # imported before the cap: its libraries are mapped once, not counted against a decode
import numpy as np
from PIL import Image, ImageOps

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")
_GREY16 = {"I;16", "I;16L", "I;16B", "I;16N"}


class Refused(ValueError):
    """A file this decoder will not decode: the message says why, for the user."""


def _cap_memory(budget_mb: int) -> None:
    """Address space of this process <= its size now + budget (Linux); a decode beyond it fails with
    MemoryError (or a decoder error) instead of growing."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            now = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = now + budget_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, ValueError):  # not Linux: the time limit and the checks still hold
        pass


def _jpeg_scans(data: bytes) -> int:
    """How many scans (SOS markers) a JPEG holds. Inside entropy-coded data every 0xFF byte is followed
    by 0x00 or a restart marker, so FF DA appears only as a marker (or inside an APP segment, which
    only over-counts)."""
    return data.count(b"\xff\xda")


def _tiff_pieces(img: Image.Image) -> int:
    """Pixels in the largest tile or strip a TIFF's first image stores: libtiff allocates that much
    whatever the image's own size says."""
    tags = img.tag_v2
    width = tags.get(256, img.width)
    if 322 in tags or 323 in tags:
        return int(tags.get(322, 1)) * int(tags.get(323, 1))
    return int(width) * min(int(tags.get(278, img.height)), img.height)


def _check(img: Image.Image, data: bytes, max_pixels: int, max_scans: int) -> None:
    """Refuse, from the headers only, what would allocate or loop beyond the bounds."""
    w, h = img.size
    if w * h > max_pixels:
        raise Refused(f"is {w}x{h} = {w * h:,} pixels, more than the limit of {max_pixels:,}; downscale it")
    if img.format == "TIFF":
        piece = _tiff_pieces(img)
        if piece > max_pixels:
            raise Refused(
                f"is a TIFF whose {w}x{h} image is stored in pieces (tiles or strips) of {piece:,} "
                f"pixels, more than the limit of {max_pixels:,}: a malformed or hostile file"
            )
    if img.format in ("JPEG", "MPO"):  # MPO: a JPEG with more frames, opened by the JPEG plugin
        scans = _jpeg_scans(data)
        if scans > max_scans:
            raise Refused(
                f"is a progressive JPEG with {scans:,} scans (ordinary ones have about 10; the limit is "
                f"{max_scans}): a malformed or hostile file"
            )


def _png_16bit_colour(data: bytes) -> bool:
    # IHDR: bit depth at byte 24, colour type at 25 (2 = RGB, 6 = RGBA)
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 25 and data[24] == 16 and data[25] in (2, 6)


def _raw(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in ("1", "L", "I", "F", "RGB", "RGBA") or mode in _GREY16:  # no converted copy first
        return np.array(img)
    if mode in ("LA", "RGBA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in img.info):
        return np.array(img.convert("RGBA"))
    return np.array(img.convert("RGB"))


def _describe(img: Image.Image) -> str:
    """What the file holds, in words, for messages about its values (Pillow's mode alone can mislead:
    a 32-bit unsigned TIFF is opened as signed 32-bit 'I')."""
    if img.format == "TIFF":
        bits, fmt = (_first(img.tag_v2.get(tag, default)) for tag, default in ((258, 8), (339, 1)))
        kind = {1: "unsigned integer", 2: "signed integer", 3: "floating-point"}.get(fmt, "integer")
        return f"TIFF with {bits}-bit {kind} samples"
    return f"{img.format} (mode {img.mode})"


def _first(value):
    return value[0] if isinstance(value, tuple) else value


def decode(request: dict) -> tuple[np.ndarray, dict]:
    data = request["data"]
    if data is None:
        with open(request["path"], "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > request["max_bytes"]:  # it grew since the caller checked its size
                raise Refused(f"is larger than {request['max_bytes'] / 2**20:.0f} MB")
            data = fh.read(size + 1)  # (read(n) reserves n bytes: never more than the file)
        if len(data) > size:
            raise Refused("changed while it was being read")
    Image.MAX_IMAGE_PIXELS = request["max_pixels"]  # Pillow's own bomb check, at the project's bound
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=FORMATS)
        except Image.UnidentifiedImageError:
            raise Refused(f"is not an image file the zoo reads ({', '.join(FORMATS[:-1])} or PPM/PGM)")
        with img:
            _check(img, data, request["max_pixels"], request["max_scans"])
            info = {"format": img.format, "frames": int(getattr(img, "n_frames", 1) or 1)}
            info["describe"] = _describe(img)
            if _png_16bit_colour(data):
                arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
                if arr is None:
                    raise Refused("is a 16-bit PNG OpenCV could not decode")
                arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
                orientation = img.getexif().get(0x0112, 1)
                if orientation != 1:  # rare in PNGs: apply it the way Pillow would
                    arr = _orient(arr, orientation)
                return arr, info
            if request.get("reduce_to"):
                _draft(img, request["reduce_to"])
            img.load()
            img = ImageOps.exif_transpose(img)
            return _raw(img), info


def _draft(img: Image.Image, long_side: int) -> None:
    """A JPEG larger than `long_side` is decoded at 1/2, 1/4 or 1/8 of its size (libjpeg's DCT scaling,
    `Image.draft`), the smallest that keeps its long side at least `long_side`: a 4096x4096 photo for a
    512 px view takes 0.8 MB instead of 50 MB here, and 64x less for the caller to convert. Other formats
    cannot be decoded smaller; they arrive whole."""
    w, h = img.size
    if img.format != "JPEG" or max(w, h) <= long_side:
        return
    s = long_side / max(w, h)
    img.draft(img.mode, (max(1, math.ceil(w * s)), max(1, math.ceil(h * s))))


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """The EXIF orientation applied to an (H, W, C) array, as ImageOps.exif_transpose does."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
        8: lambda a: np.rot90(a),
    }
    return ops.get(orientation, lambda a: a)(arr)


def _read_exact(stream, n: int) -> bytes:
    buf = stream.read(n)
    if len(buf) != n:
        raise EOFError
    return buf


def main() -> None:
    budget_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 450
    _cap_memory(budget_mb)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(b"R")  # ready: imports done, memory capped
    stdout.flush()
    while True:
        try:
            (n,) = struct.unpack(">I", _read_exact(stdin, 4))
            request = pickle.loads(_read_exact(stdin, n))
        except EOFError:
            return
        arr = None
        try:
            arr, info = decode(request)
            arr = np.ascontiguousarray(arr)
            answer = ("ok", arr.dtype.str, arr.shape, info)
        except Refused as exc:
            answer = ("error", str(exc))
        except MemoryError:
            answer = (
                "error",
                f"needs more memory to decode than the limit of {budget_mb} MB (ZOO_DECODE_MEMORY_MB): "
                "a malformed or hostile file",
            )
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            answer = ("error", f"is larger than the limit of {request['max_pixels']:,} pixels; downscale it")
        except Exception as exc:  # any decoder's complaint about a broken file: said, and the next one served
            answer = ("error", f"could not be decoded ({type(exc).__name__}: {exc})")
        # the answer, then the pixels' bytes straight from the array (no pickled copy of them)
        payload = pickle.dumps(answer, protocol=5)
        stdout.write(struct.pack(">Q", len(payload)) + payload)
        if answer[0] == "ok":
            stdout.write(memoryview(arr).cast("B"))
        stdout.flush()
        del arr


if __name__ == "__main__":
    main()
