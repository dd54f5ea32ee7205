from __future__ import annotations

import shutil

from zoo import cards
from zoo.registry import CARDS_DIR


def test_write_results_round_trips_through_model_card(tmp_path):
    path = tmp_path / "card.md"
    shutil.copy(CARDS_DIR / "mnist-denoise.md", path)
    report = cards.EvalReport(
        "image-to-image",
        "mnist",
        "test digits",
        "test",
        [cards.Metric("psnr", "PSNR sigma=0.5", 23.456789, "sigma=0.5")],
        "| a | b |\n|---|---|\n| 1 | 2 |",
        {"n": 4, "metrics": {"psnr": 1.0}},
    )
    cards.write_results(path, "mnist-denoise", report)
    card = cards.load_card(path)
    assert cards.card_metrics(card) == {"PSNR sigma=0.5": 23.4568}
    assert cards.card_check(card) == {"n": 4, "metrics": {"psnr": 1.0}}
    assert "| 1 | 2 |" in cards.results_section(card)
    assert cards.missing_metadata(card) == []
    # A second run replaces the numbers rather than appending.
    report.metrics[0].value = 30.0
    report.table_markdown = "| new |"
    cards.write_results(path, "mnist-denoise", report)
    card = cards.load_card(path)
    assert cards.card_metrics(card) == {"PSNR sigma=0.5": 30.0}
    assert cards.results_section(card) == "| new |"
    assert card.text.count(cards.RESULTS_START) == 1
