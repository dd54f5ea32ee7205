"""Pictures: the embedding scatter drawn once and re-marked per point looks exactly like a fresh figure."""

from __future__ import annotations

import numpy as np

from zoo.plots import EmbeddingPlot, embedding_figure


def _codes():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal((-5, -10), 3, (60, 2)), rng.normal((6, -4), 3, (60, 2))]).astype(
        np.float32
    )
    return z, np.repeat([5, 7], 60)


def test_a_marked_point_matches_a_freshly_drawn_figure():
    z, y = _codes()
    plot = EmbeddingPlot(z, y)
    for point in [(float(z[0, 0]), float(z[0, 1])), (0.5, -6.0), (float(z[-1, 0]), float(z[-1, 1]))]:
        assert np.array_equal(plot.render(point), embedding_figure(z, y, point=point))


def test_a_point_outside_the_axes_gets_a_rescaled_figure():
    z, y = _codes()
    far = (100.0, 100.0)
    assert np.array_equal(EmbeddingPlot(z, y).render(far), embedding_figure(z, y, point=far))


def test_the_marker_moves():
    z, y = _codes()
    plot = EmbeddingPlot(z, y)
    a, b = plot.render((-5.0, -10.0)), plot.render((6.0, -4.0))
    assert a.shape == b.shape and a.dtype == np.uint8 and not np.array_equal(a, b)
