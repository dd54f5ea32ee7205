"""training.shift_ensemble: estimates are shifted back before they are averaged; the probe runs end to end."""

import json

import numpy as np
import torch

from training import shift_ensemble as se
from training.common import write_report
from zoo import data

from .conftest import write_idx


class FixedPicture(torch.nn.Module):
    """Ignores its input and returns the same (1, 28, 28) picture for every image."""

    def __init__(self, picture: torch.Tensor):
        super().__init__()
        self.picture = picture

    def forward(self, x):
        return self.picture.expand(x.shape[0], 1, 28, 28)


def test_an_equivariant_model_is_undisturbed_and_a_fixed_output_is_shifted_back():
    x = np.random.default_rng(0).random((3, 2, 28, 28)).astype(np.float32)
    nine = se.SHIFTS["9 shifts (-1..1 px)"]
    assert np.allclose(se.shift_ensemble(torch.nn.Identity(), x, nine), x[:, 0], atol=1e-6)
    picture = torch.zeros(1, 28, 28)
    picture[0, 10, 10] = 1.0
    out = se.shift_ensemble(FixedPicture(picture), x, [(0, 0), (0, 1)])
    # the second estimate is moved back one pixel to the left: half the spot at x=10, half at x=9
    assert out[0, 10, 10] == 0.5 and out[0, 10, 9] == 0.5 and out.sum() == 3 * 1.0


def test_probe_measures_both_unets_on_a_given_mnist(tmp_path):
    digits, labels = data.load_mnist("validation", source="subset")
    # ten fives and sevens, then ten digits of any class
    pick = np.concatenate([np.flatnonzero(np.isin(labels, (5, 7)))[:10], np.arange(10)])
    pick = np.tile(pick, 10)  # 200 digits: the training file's last tenth (its validation split) is 20
    for split in ("train", "t10k"):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte", (digits[pick] * 255).round())
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte", labels[pick])
    r = se.probe(n=8, data_path=str(tmp_path))
    assert [(w["model"], w["method"]) for w in r["rows"]][:2] == [("mnist-denoise", m) for m in se.SHIFTS]
    assert len(r["rows"]) == len(se.SHIFTS) * (1 + len(se.HOLES))
    denoise = r["rows"][0]
    assert 10 < denoise["psnr"] < 40 and 0 < denoise["ssim"] <= 1
    assert all(0 <= w["mse"] < 0.2 for w in r["rows"] if w["model"] == "mnist-masked")
    write_report(tmp_path / "rep", se.report(r), r)
    assert json.loads((tmp_path / "rep.json").read_text())["n"] == 8
    assert "| mnist-masked | patch 15 |" in (tmp_path / "rep.md").read_text()


def test_the_measurement_command_line_prints_and_writes_the_same_report(tmp_path, monkeypatch, capsys):
    from training.common import mnist_report_cli

    def measure(n, data_path):
        return {"n": n, "data": data_path}

    def report(r):
        return f"n={r['n']} data={r['data']}"

    monkeypatch.setattr("sys.argv", ["prog", "--n", "3", "--data", "D", "--out", str(tmp_path / "r")])
    mnist_report_cli("doc", measure, report, 5, "digits")
    assert "n=3 data=D" in capsys.readouterr().out
    assert (tmp_path / "r.md").read_text() == "n=3 data=D"
    assert json.loads((tmp_path / "r.json").read_text()) == {"n": 3, "data": "D"}
    monkeypatch.setattr("sys.argv", ["prog"])  # the defaults: n as given, no files
    mnist_report_cli("doc", measure, report, 5, "digits")
    assert "n=5 data=None" in capsys.readouterr().out
