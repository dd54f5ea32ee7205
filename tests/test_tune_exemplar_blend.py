"""training.tune_exemplar_blend on a tiny MNIST: the blend weights are chosen on validation digits."""

import json

import numpy as np

from training import tune_exemplar_blend as tuner
from training.common import write_report
from zoo import data

from .conftest import write_idx


def test_exemplars_that_hold_the_answer_win_the_large_holes(tmp_path, monkeypatch):
    digits, _ = data.load_mnist("validation", source="subset")
    a = (digits[:40] * 255).round()
    # Training file = the same 40 digits twice: its validation split (the last tenth, 8 digits) finds its
    # own copy in the bank (the other 72).
    write_idx(tmp_path / "train-images-idx3-ubyte", np.concatenate([a, a]))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(80))
    monkeypatch.setattr(tuner, "K_GRID", (1, 3))
    r = tuner.tune(n=40, data_path=str(tmp_path))
    assert r["bank"] == 72 and r["k"] == 1  # the nearest on the visible pixels is the digit itself
    assert [w for _, w in r["weights"]] == [0.3] * 4  # the lowest weight on the grid for the U-Net
    assert len(r["holes"]) == 22 and r["score"] < 0.5
    write_report(tmp_path / "rep", tuner.report(r), r)
    assert json.loads((tmp_path / "rep.json").read_text())["k"] == 1
    assert "k = 1" in (tmp_path / "rep.md").read_text()


def test_the_chosen_blend_goes_into_the_file_the_pipeline_reads(tmp_path):
    from zoo.pipelines import mnist_masked

    shipped = json.loads(mnist_masked.BLEND_FILE.read_text())
    assert (mnist_masked.EXEMPLAR_K, list(mnist_masked.EXEMPLAR_WEIGHTS)) == (
        shipped["k"],
        shipped["weights"],
    )
    copy = tmp_path / "blend.json"
    copy.write_text(mnist_masked.BLEND_FILE.read_text())
    tuner.write_blend({"k": 3, "weights": [(0.1, 0.5), (0.2, 0.6), (0.35, 0.7), (1.0, 0.8)]}, copy)
    written = json.loads(copy.read_text())
    assert written["k"] == 3 and written["weights"] == [0.5, 0.6, 0.7, 0.8] and written["bands"][-1] == 1.0
    assert written["chosen_by"] == shipped["chosen_by"]  # the provenance stays
