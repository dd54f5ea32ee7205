"""The webcam's precision: bfloat16 only where it is measurably faster here, and then the same picture."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app import live_precision
from app.common import pipeline
from zoo import precision
from zoo.pipelines.base import DTYPE_TOLERANCE


@pytest.mark.parametrize(
    "seconds,expected",
    [
        ({"float32": 0.020, "bfloat16": 0.013}, "bfloat16"),  # a CPU with native bfloat16
        ({"float32": 0.020, "bfloat16": 0.018}, "float32"),  # a near tie keeps the exact precision
        ({"float32": 0.020, "bfloat16": 0.090}, "float32"),  # emulated bfloat16
        ({"float32": 0.020}, "float32"),  # a model without a bfloat16 candidate
    ],
)
def test_choice_follows_the_measured_times(seconds, expected):
    assert precision.choose(seconds) == expected


@pytest.fixture()
def fresh_choice():
    live_precision._chosen.cache_clear()
    yield
    live_precision._chosen.cache_clear()


@pytest.mark.parametrize("faster", ["bfloat16", "float32"])
def test_live_pipeline_runs_in_the_faster_precision_within_tolerance(faster, fresh_choice, monkeypatch):
    timed = []

    def fake_seconds(pipelines, frame):
        timed.append((sorted(pipelines), frame.shape))
        return {k: (0.01 if k == faster else 0.02) for k in pipelines}

    monkeypatch.setattr(precision, "frame_seconds", fake_seconds)
    p = live_precision.live_pipeline("feature-recon", 64)
    assert timed == [(["bfloat16", "float32"], (64, 64, 3))]  # measured once, on a frame of the asked size
    assert live_precision.live_pipeline("feature-recon", 64) is p and len(timed) == 1
    assert p.dtype == getattr(torch, faster)
    if faster == "float32":
        assert p is pipeline("feature-recon")  # the hub's own pipeline, not a second copy
    frame = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    diff = np.abs(p(frame).image - pipeline("feature-recon")(frame).image).mean()
    assert diff <= DTYPE_TOLERANCE


def test_frame_seconds_times_every_candidate():
    p = pipeline("feature-recon")
    seconds = precision.frame_seconds({"a": p, "b": p}, np.zeros((32, 32, 3), np.float32))
    assert set(seconds) == {"a", "b"} and all(0 < s < 5 for s in seconds.values())


def test_webcam_readout_names_the_precision(fresh_choice, monkeypatch):
    from app.feature_tabs import webcam_frame

    monkeypatch.setattr(precision, "frame_seconds", lambda ps, f: {"float32": 0.02, "bfloat16": 0.01})
    readout = webcam_frame(np.zeros((240, 320, 3), np.uint8), "feature-recon", [])[2]
    assert "bfloat16" in readout
