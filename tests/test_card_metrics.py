"""A card's numbers must match a fresh evaluation of the shipped weights.

Each card keeps `zoo_check`: its metrics on a small subset every machine has, written by
the same evaluation run as the full table. Recomputing them here (through the model's
protocol, `zoo.protocols`) catches weights, code or data that drifted from the card.
Tolerance: 1e-3 relative (float summation order on different CPUs), far below any real change.
"""

from __future__ import annotations

import pytest

import zoo
from zoo import protocols
from zoo.cards import card_check

REL_TOL = 1e-3


@pytest.mark.parametrize("name", zoo.list_models())
def test_card_matches_fresh_evaluation(name):
    check = card_check(zoo.card(name))
    assert check, f"{name}'s card has no zoo_check: run python -m training.evaluate {name}"
    fresh = protocols.get_protocol(name).check()
    assert fresh["n"] == check["n"]
    assert set(fresh["metrics"]) == set(check["metrics"])
    for key, value in check["metrics"].items():
        assert fresh["metrics"][key] == pytest.approx(value, rel=REL_TOL), key
