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


def test_small_metrics_keep_four_significant_digits():
    from zoo.protocols.common import markdown_table

    assert cards.card_value(0.029981) == 0.02998  # not 0.03: the mnist-ae2d target is <= 0.03
    assert cards.card_value(0.00041234) == 0.0004123
    assert cards.card_value(27.481234) == 27.4812 and cards.card_value(0.93064) == 0.9306
    rows = [["a", 0.029981], ["b", 0.00041234], ["c", 24.7712], ["d", 0.528]]
    table = markdown_table(["m", "mse"], rows)
    assert "| a | 0.02998 |" in table and "| b | 0.0004123 |" in table and "| c | 24.77 |" in table
    assert "| d | 0.5280 |" in table  # trailing zeros kept: columns stay aligned by digits


def test_write_attributions_refills_only_a_card_that_has_the_block(tmp_path):
    path = tmp_path / "card.md"
    path.write_text(f"# x\n\nbefore\n{cards.ATTRIBUTIONS_START}\n- old\n{cards.ATTRIBUTIONS_END}\nafter\n")
    assert cards.write_attributions(path, ["- `a.webp`: CC-BY-4.0, someone"])
    text = path.read_text()
    assert "- old" not in text and "- `a.webp`: CC-BY-4.0, someone" in text
    assert text.startswith("# x\n\nbefore\n") and text.endswith("after\n")
    plain = tmp_path / "plain.md"
    plain.write_text("# no block\n")
    assert not cards.write_attributions(plain, ["- line"]) and plain.read_text() == "# no block\n"
