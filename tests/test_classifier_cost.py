"""training.classifier_cost: the candidate classifiers it times are real, under 1M parameters, and it
writes its table; bad arguments are refused."""

from __future__ import annotations

import json

import pytest
import torch

from training import classifier_cost


def test_densenet_bc_reads_fashion_mnist_images_under_a_million_parameters():
    net = classifier_cost.densenet_bc().eval()
    with torch.no_grad():
        assert net(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert 0.7e6 < sum(p.numel() for p in net.parameters()) < 1e6


def test_writes_one_row_per_candidate(tmp_path, capsys):
    out = tmp_path / "cost"
    assert classifier_cost.main(["--steps", "1", "--batch", "2", "--out", str(out)]) == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [r["classifier"] for r in rows] == list(classifier_cost.CANDIDATES)
    assert all(0 < r["parameters (M)"] < 1 and r["s per step (batch 2)"] > 0 for r in rows)
    assert rows[0]["x SmallCNN"] == 1.0
    assert "DenseNet-BC" in out.with_suffix(".md").read_text() and "DenseNet-BC" in capsys.readouterr().out


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        classifier_cost.main(["--steps", "0"])
