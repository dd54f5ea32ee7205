"""Property-based fuzzing of every pipeline's public call: only clear ValueErrors, never a crash.

Generated inputs: random shapes and ranks, dtypes (uint8/uint16/int/float/bool),
NaN/inf, PIL images in many modes, empty arrays, odd objects. A valid input must
give a finite image in [0,1]; anything else must raise ValueError.
Examples per pipeline: $ZOO_FUZZ_EXAMPLES (default 1000, the hub-quality bar; lower it for a quick local run).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import zoo
from training.reliability_probes import header_only_png

EXAMPLES = int(os.environ.get("ZOO_FUZZ_EXAMPLES", "1000"))
DTYPES = st.sampled_from(
    [np.uint8, np.uint16, np.int16, np.int64, np.float16, np.float32, np.float64, np.bool_]
)


@st.composite
def arrays(draw):
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 40), min_size=ndim, max_size=ndim)))
    if ndim == 3 and draw(st.booleans()):
        shape = shape[:2] + (draw(st.sampled_from([1, 3, 4])),)
    dtype = draw(DTYPES)
    if np.dtype(dtype).kind != "f":
        return draw(hnp.arrays(dtype, shape))
    width = 16 if dtype == np.float16 else 32
    floats = st.one_of(st.floats(-2, 2, width=width), st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0]))
    return draw(hnp.arrays(dtype, shape, elements=floats))


@st.composite
def pil_images(draw):
    mode = draw(st.sampled_from(["1", "L", "P", "RGB", "RGBA", "LA", "I", "F", "I;16", "CMYK", "YCbCr"]))
    w, h = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    return Image.new(mode, (w, h))


inputs = st.one_of(
    arrays(), pil_images(), st.none(), st.integers(), st.text(max_size=5), st.lists(st.floats(), max_size=3)
)


def _check(p, value):
    try:
        x = p.prepare(value)
    except ValueError:
        return
    mask = np.zeros(x.shape[:2], dtype=bool)
    mask[: max(1, x.shape[0] // 2)] = True
    out = p(value, mask=mask) if p.name != "nca-fmnist" else p(value, mask=mask, steps=3)
    assert np.all(np.isfinite(out.image)) and out.image.min() >= 0 and out.image.max() <= 1
    assert out.image.shape[:2] == x.shape[:2]


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.list_models())
def test_fuzz_public_call(name):
    p = zoo.load(name)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(inputs)
    def run(value):
        _check(p, value)

    run()


@pytest.mark.parametrize("name", zoo.list_models())
def test_huge_requests_are_refused_before_allocation(name, tmp_path):
    """20000x20000 (1.6 GB as float32 RGB) is refused while memory stays small."""
    import tracemalloc

    p = zoo.load(name)
    header_only_png(tmp_path / "huge.png", 20000, 20000)
    virtual = np.broadcast_to(np.uint8(7), (20000, 20000, 3))  # a view: no memory behind it
    tracemalloc.start()
    try:
        for value in (str(tmp_path / "huge.png"), virtual):
            with pytest.raises(ValueError, match="limit"):
                p(value, mask=None)  # the image is checked before the mask
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6, f"{peak / 1e6:.0f} MB allocated before refusing"
