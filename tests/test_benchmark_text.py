"""The benchmark's webcam sentences: what they quote comes from the measured dict, and nothing is said
when nothing was measured."""

from __future__ import annotations

from training.benchmark import tabs_sentence


def test_tabs_sentence_quotes_the_slowest_tab_and_both_ranges():
    text = tabs_sentence(
        {
            "idle_s": {"/a": 0.2, "/b": 0.4},
            "streaming_s": {"/a": 0.5, "/b": 0.9},
            "stream_fps": 17.25,
            "repeats": 5,
        }
    )
    assert "0.50-0.90 s against 0.20-0.40 s" in text and "median of 5)" in text
    assert "slowest `/b`: 0.90 s, idle 0.40 s" in text and "17.2 FPS" in text


def test_tabs_sentence_is_empty_without_a_measurement():
    assert tabs_sentence({}) == ""
