from __future__ import annotations

import pytest

import zoo
from zoo.cards import card_metrics, load_card, missing_metadata


def test_list_models_sorted_and_filtered():
    names = zoo.list_models()
    assert names == sorted(names)
    assert {"mnist-denoise", "mnist-masked", "mnist-ae2d"} <= set(names)
    assert zoo.list_models("mnist-*") == [n for n in names if n.startswith("mnist-")]
    assert zoo.list_models("no-such-*") == []


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as err:
        zoo.load("nope")
    assert "nope" in str(err.value)
    for name in zoo.list_models():
        assert name in str(err.value)


@pytest.mark.parametrize("name", zoo.list_models())
def test_entry_is_complete_and_card_has_metadata(name):
    entry = zoo.get_entry(name)
    assert entry.repo_id and entry.revision and entry.summary and entry.task
    assert {f.filename for f in entry.files} == {"model.safetensors", "config.json"}
    assert all(len(f.sha256) == 64 and f.size > 0 for f in entry.files)
    card = load_card(entry.card_path)
    assert missing_metadata(card) == []
    assert card_metrics(
        card
    ), f"{name}'s card has no measured metrics: run python -m training.evaluate {name}"
    assert zoo.card(name).data.model_name == name
