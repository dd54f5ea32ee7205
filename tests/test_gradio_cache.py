"""The hub's fix for Gradio's output cache: identical outputs written at once stay whole."""

from __future__ import annotations

import os
import threading

import numpy as np
from gradio import processing_utils
from PIL import Image

import app.common  # noqa: F401  (installs the fix)
from app import gradio_cache


def _image(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8))


def test_installed_for_the_pinned_gradio():
    assert processing_utils.save_pil_to_cache is gradio_cache.save_pil_to_cache
    assert processing_utils.save_bytes_to_cache is gradio_cache.save_bytes_to_cache


def test_gradio_image_output_goes_through_the_fix(tmp_path):
    import gradio as gr

    out = gr.Image(format="png")
    out.GRADIO_CACHE = str(tmp_path)
    arr = np.asarray(_image())
    data = out.postprocess(arr)
    saved = np.asarray(Image.open(data.path))
    assert np.array_equal(saved, arr)
    assert not list(tmp_path.rglob(".partial-*")), "no temporary file left behind"


def test_same_image_twice_is_written_once(tmp_path):
    first = gradio_cache.save_pil_to_cache(_image(), str(tmp_path), format="png")
    before = (open(first, "rb").read(), os.stat(first).st_ino)
    second = gradio_cache.save_pil_to_cache(_image(), str(tmp_path), format="png")
    assert second == first
    assert (open(second, "rb").read(), os.stat(second).st_ino) == before
    other = gradio_cache.save_pil_to_cache(_image(1), str(tmp_path), format="png")
    assert other != first


def test_a_partial_file_is_replaced_not_rewritten_in_place(tmp_path):
    target = tmp_path / "image.png"
    target.write_bytes(b"par")  # e.g. left by a killed writer
    with open(target, "rb") as reader:  # a download already in progress
        gradio_cache.write_once(target, b"whole file")
        assert reader.read() == b"par", "the open reader keeps its own complete file"
    assert target.read_bytes() == b"whole file"


def test_concurrent_identical_writes_never_expose_a_short_file(tmp_path):
    img, sizes, errors = _image(), [], []
    expected = len(processing_utils.encode_pil_to_bytes(img, "png"))
    path_box: list[str] = []

    def writer():
        for _ in range(20):
            path_box.append(gradio_cache.save_pil_to_cache(img, str(tmp_path), format="png"))

    def reader():
        for _ in range(200):
            if path_box:
                try:
                    with open(path_box[0], "rb") as f:
                        sizes.append(len(f.read()))
                except OSError as exc:
                    errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)] + [
        threading.Thread(target=reader) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sizes and set(sizes) == {expected}
