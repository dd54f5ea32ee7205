"""Input conversion: every accepted kind of input, and clear errors for the rest."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zoo import images


def test_dtypes_and_shapes():
    u8 = np.full((5, 6), 255, np.uint8)
    assert images.to_array(u8).max() == 1.0 and images.to_array(u8).dtype == np.float32
    assert images.to_array(np.full((5, 6), 65535, np.uint16)).max() == 1.0
    assert images.to_array(np.ones((5, 6), bool)).max() == 1.0
    assert images.to_array(np.full((5, 6), 128, np.int64)).max() == pytest.approx(128 / 255)
    assert images.to_array(np.zeros((5, 6, 1), np.float32)).shape == (5, 6)
    assert images.to_array(np.zeros((5, 6, 4), np.float32)).shape == (5, 6, 4)


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.zeros((3, 28, 28), np.float32), "channel-first"),
        (np.zeros((2, 2, 2, 2)), "shape"),
        (np.zeros((0, 5)), "empty"),
        (np.full((4, 4), np.nan), "NaN"),
        (np.full((4, 4), 2.0), r"\[0, 1\]"),
        (np.full((4, 4), 300, np.int32), "0..255"),
        (np.zeros((4, 4), np.complex64), "dtype"),
        ([[0.0, 1.0]], "list"),
        (None, "NoneType"),
    ],
)
def test_bad_inputs_say_what_was_wrong(bad, match):
    with pytest.raises(ValueError, match=match):
        images.to_array(bad)


def test_huge_inputs_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("L", (5000, 4000)).save(path)
    with pytest.raises(ValueError, match="limit"):
        images.to_array(path)


def test_files_and_pil_modes(tmp_path):
    Image.new("RGBA", (8, 8), (255, 0, 0, 128)).save(tmp_path / "a.png")
    assert images.to_array(tmp_path / "a.png").shape == (8, 8, 4)
    for mode in ("1", "L", "P", "I;16", "I", "F", "CMYK", "LA", "RGB"):
        arr = images.to_array(Image.new(mode, (7, 9)))
        assert arr.shape[:2] == (9, 7) and arr.dtype == np.float32
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        images.to_array(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="no image file"):
        images.to_array(tmp_path / "missing.png")


def test_small_grey_rule_inverts_light_backgrounds_and_keeps_aspect():
    paper = np.ones((60, 40, 3), np.float32)
    paper[20:40, 15:25] = 0.0  # a dark stroke on white paper
    out = images.to_small_grey(paper, 28)
    assert out.shape == (28, 28)
    assert out[0, 0] < 0.1 and out[14, 14] > 0.9  # inverted: light stroke on black
    digit = np.zeros((28, 28), np.float32)
    digit[10:18, 12:16] = 1
    assert np.array_equal(images.to_small_grey(digit), digit)  # already in the dataset's form


def test_rgba_composites_onto_the_given_background():
    rgba = np.zeros((4, 4, 4), np.float32)  # fully transparent
    assert images.to_grey(rgba, background=0.0).max() == 0
    assert images.to_rgb(rgba, background=1.0).min() == 1


def test_enlarge_is_nearest_neighbour():
    small = np.array([[0.0, 1.0]], np.float32)
    out = images.enlarge(small, min_side=10)
    assert out.shape == (10, 20) and set(np.unique(out)) == {0, 255}


def _drawing(ink_rgb, alpha_ink=255):
    """A 60x60 RGBA drawing: a vertical stroke of colour ink_rgb on a fully transparent background."""
    arr = np.zeros((60, 60, 4), np.uint8)
    arr[..., :3] = 255 - np.array(ink_rgb, np.uint8)  # the transparent background's colour is arbitrary
    arr[10:50, 26:34, :3] = ink_rgb
    arr[10:50, 26:34, 3] = alpha_ink
    return arr


@pytest.mark.parametrize("ink", [(0, 0, 0), (255, 255, 255), (200, 30, 30)], ids=["dark", "light", "red"])
def test_a_drawing_on_transparent_is_read_as_ink_whatever_its_colour(ink):
    from zoo import images

    grey = images.to_small_grey(_drawing(ink))
    assert (
        grey[4:24, 12:16].mean() > 0.9 and grey[:, :6].max() < 0.05
    )  # the stroke is ink, the rest is background


def test_opaque_images_keep_the_luma_rule():
    from zoo import images

    opaque = _drawing((0, 0, 0))
    opaque[..., 3] = 255  # no transparency: a black stroke on white paper, inverted to light-on-dark
    grey = images.to_small_grey(opaque)
    assert grey[4:24, 12:16].mean() > 0.9 and grey[:, :6].max() < 0.05


@pytest.mark.parametrize("shape", [(1, 20000), (20000, 1), (3, 4096), (4096, 4096), (1, 1)])
def test_extreme_aspect_ratios_cost_little(shape):
    """Resizing happens before padding: a 1x20000 strip never becomes a 20000x20000 square."""
    import tracemalloc

    from zoo import images

    arr = np.full(shape, 0.5, np.float32)
    tracemalloc.start()
    try:
        out = images.to_small_grey(arr)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.shape == (28, 28)
    assert peak < 4 * arr.nbytes + 20e6, f"{peak / 1e6:.0f} MB for a {shape} input"
