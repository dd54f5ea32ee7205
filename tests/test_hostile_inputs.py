"""The one bounded decoder (zoo.decode): small files that decode to huge images or take minutes are
refused within bounds, whatever container they hide in, through the API and `zoo run`."""

from __future__ import annotations

import resource
import time

import numpy as np
import pytest
from PIL import Image

import zoo
from training.reliability_probes import (
    gif_frame_beyond_screen,
    ico_around_png,
    progressive_jpeg_scans,
    tiff_one_tile,
    webp_canvas,
)
from zoo import decode, images


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: ico_around_png(p, 5000), "not an image file the zoo reads"),  # a container format
        (lambda p: gif_frame_beyond_screen(p, 5000), "limit"),  # the same trick in an allowed format
        (lambda p: tiff_one_tile(p, 8192), "stored in pieces"),  # small image, one huge tile
        # 140 bytes, a 12000x12000 animation canvas: Pillow allocates it on opening; the cap refuses it
        (lambda p: webp_canvas(p, 12000), "limit|could not create decoder"),
        (lambda p: progressive_jpeg_scans(p, 512, 3000), "3,0.. scans"),  # thousands of empty scans
    ],
    ids=[
        "ico-around-png",
        "gif-frame-beyond-screen",
        "tiff-one-huge-tile",
        "webp-canvas",
        "progressive-jpeg-scans",
    ],
)
def test_small_files_that_would_decode_huge_or_slow_are_refused_cheaply(tmp_path, make, match):
    path = tmp_path / "hostile"
    make(path)
    before = _peak_rss_mb()
    start = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        images.to_array(path)
    assert time.perf_counter() - start < 5
    assert _peak_rss_mb() - before < 100  # nothing was decoded in this process


def test_the_memory_cap_holds_for_what_the_header_checks_do_not_see(tmp_path):
    """A decode that needs more than the worker's cap fails with a message, and the next file decodes."""
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (2048, 2048, 3), dtype=np.uint8)).save(big)
    small_pool = decode._Pool(1, memory_mb=20)
    with pytest.raises(ValueError, match="needs more memory to decode than the limit of 20 MB"):
        decode.decode(big, pool=small_pool)
    ok = tmp_path / "ok.png"
    Image.new("RGB", (32, 32), (10, 20, 30)).save(ok)
    assert decode.decode(ok, pool=small_pool).pixels.shape == (32, 32, 3)
    small_pool.close()


def test_the_time_limit_stops_a_slow_decode_and_the_next_call_works(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (2048, 2048, 3), dtype=np.uint8)).save(path)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="took more than 0.01 s to decode and was stopped"):
        decode.decode(path, seconds=0.01)
    assert time.perf_counter() - start < 3
    assert decode.decode(path).pixels.shape == (2048, 2048, 3)


def test_ordinary_files_decode_as_before(tmp_path):
    """Every accepted format gives the pixels Pillow gives; 16-bit colour PNGs keep their 16 bits."""
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)
    for suffix in (".png", ".bmp", ".tif", ".webp", ".ppm"):
        path = tmp_path / f"a{suffix}"
        Image.fromarray(rgb).save(path, **({"lossless": True} if suffix == ".webp" else {}))
        np.testing.assert_allclose(images.to_array(path), rgb / 255.0, atol=1e-6)
    import cv2

    deep = rng.integers(0, 65535, (8, 9, 3), dtype=np.uint16)
    ok, buf = cv2.imencode(".png", deep[..., ::-1])
    (tmp_path / "deep.png").write_bytes(buf.tobytes())
    np.testing.assert_allclose(images.to_array(tmp_path / "deep.png"), deep / 65535.0, atol=1e-6)


def test_a_uint32_tiff_is_described_as_such(tmp_path):
    import tifffile  # noqa: F401  (skimage's dependency; writes a real 32-bit unsigned TIFF)

    path = tmp_path / "u32.tif"
    tifffile.imwrite(path, np.full((8, 8), 70000, np.uint32))
    with pytest.raises(
        ValueError, match=r"32-bit unsigned integer samples\) with values in \[70000, 70000\]"
    ):
        images.to_array(path)


def test_messages_for_odd_arrays_and_masks(digit):
    """Big-endian uint16 is uint16; a torch bool mask is a mask, not mistaken for a PIL image."""
    import torch

    be = (digit * 65535).astype(">u2")
    np.testing.assert_allclose(images.to_array(be), digit, atol=1e-4)
    p = zoo.load("mnist-masked")
    x, mask = p.corrupt(digit, seed=0)
    out = p(x, mask=torch.from_numpy(mask))
    np.testing.assert_allclose(out.image, p(x, mask=mask).image)


def test_a_decoder_that_dies_is_an_error_naming_the_file_and_is_replaced(tmp_path, monkeypatch):
    """A crash inside a C decoder ends the worker, not the caller: the call gets a message, the next
    call a fresh worker."""
    crash = tmp_path / "crashing_worker.py"
    crash.write_text(  # says it is ready, then dies on the first request, as a segfault would
        "import os, sys\n"
        "sys.stdout.buffer.write(b'R'); sys.stdout.flush()\n"
        "sys.stdin.buffer.read(4)\n"
        "os._exit(139)\n"
    )
    path = tmp_path / "ok.png"
    Image.new("RGB", (8, 8)).save(path)
    monkeypatch.setattr(decode, "_WORKER_SCRIPT", crash)
    pool = decode._Pool(1)
    with pytest.raises(ValueError, match=r"ok.png'?: the decoder stopped on this file \(exit status 139\)"):
        decode.decode(path, pool=pool)
    monkeypatch.undo()
    assert decode.decode(path, pool=pool).pixels.shape == (8, 8, 3)
    pool.close()
