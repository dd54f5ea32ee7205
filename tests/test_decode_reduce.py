"""zoo.decode's reduce_to: large JPEGs decoded at a reduced scale for views that shrink them anyway, never
below the size asked for, the same picture; other formats whole; the hub's photo tabs ask for it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from zoo import decode, images


def _photo(w: int, h: int, fmt: str = "JPEG", **save) -> bytes:
    from skimage import data as skdata

    img = Image.fromarray(skdata.astronaut()).resize((w, h), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


@pytest.mark.parametrize("progressive", [False, True])
def test_a_large_jpeg_arrives_smaller_but_never_below_the_side_asked_for(progressive):
    data = _photo(2000, 1500, quality=90, progressive=progressive)
    whole, reduced = decode.decode(data), decode.decode(data, reduce_to=512)
    assert whole.pixels.shape == (1500, 2000, 3)
    assert reduced.pixels.shape == (750, 1000, 3)  # 1/2: 1/4 would be 500 px, below 512
    assert decode.decode(data, reduce_to=240).pixels.shape == (188, 250, 3)  # 1/8
    a = images.fit_within(images.to_rgb(whole), 512)
    b = images.fit_within(images.to_rgb(reduced), 512)
    assert a.shape == b.shape == (384, 512, 3)
    assert np.abs(a - b).mean() < 0.01  # the same picture at the size shown


def test_small_jpegs_and_other_formats_arrive_whole():
    assert decode.decode(_photo(400, 300), reduce_to=512).pixels.shape == (300, 400, 3)
    assert decode.decode(_photo(1200, 900, "PNG"), reduce_to=512).pixels.shape == (900, 1200, 3)


def test_exif_orientation_is_applied_after_the_reduction():
    img = Image.fromarray(np.zeros((900, 1200, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    assert decode.decode(buf.getvalue(), reduce_to=300).pixels.shape == (300, 225, 3)  # 1/4, then portrait


def test_the_feature_tab_decodes_large_uploads_reduced(tmp_path):
    from types import SimpleNamespace

    import gradio as gr

    from app.feature_tabs import UPLOAD_MAX_SIDE, build_feature_tab, run_feature_recon

    path = tmp_path / "big.jpg"
    path.write_bytes(_photo(2400, 1600, quality=90))
    with gr.Blocks() as demo:
        build_feature_tab()
    upload = next(b for b in demo.blocks.values() if str(getattr(b, "label", "")).startswith("or upload"))
    decoded = upload.preprocess(SimpleNamespace(path=str(path), url=None, orig_name="big.jpg"))
    assert decoded.pixels.shape == (400, 600, 3)  # 1/4 scale, the smallest at least 512 px long
    clean = run_feature_recon(decoded, None, "feature-recon")[0]
    assert max(clean.shape[:2]) == UPLOAD_MAX_SIDE
