"""ONNX export: the file gives what the public call gives, parity failures are caught, the CLI reports."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

import zoo
from zoo.__main__ import main as cli
from zoo.export import ExportError, ExportSpec, _real_image, export_onnx
from zoo.pipelines.export_graphs import grey_inputs

ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("name", zoo.list_models())
def test_exported_graph_gives_what_the_public_call_gives(name, tmp_path):
    p = zoo.load(name)
    report = export_onnx(p, tmp_path / "m.onnx")
    assert max(report["parity"].values()) < 1e-4 and (tmp_path / "m.onnx").is_file()
    spec = p.export_spec()
    hw = next(iter(spec.inputs.values()))[-2:]
    img = p.prepare(_real_image(p))[: hw[0], : hw[1]]
    mask = p.corrupt(img, seed=3)[1] if p.needs_mask else None
    feeds = spec.inputs_for(img, mask)
    got = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, feeds)[0][0]  # (C, H, W)
    want = p(img, mask=mask).image
    want = want[None] if want.ndim == 2 else want.transpose(2, 0, 1)
    assert np.abs(got - want).max() < 1e-4


class FrozenBranch(torch.nn.Module):
    """Tracing freezes a data-dependent branch: the ONNX file then disagrees on other inputs."""

    def forward(self, image):
        return image * 0.5 if image.mean().item() > 0.3 else image


def test_a_graph_that_disagrees_with_pytorch_is_refused_and_not_written(tmp_path, monkeypatch):
    p = zoo.load("mnist-denoise")
    spec = ExportSpec(
        FrozenBranch(), {"image": (1, 1, 28, 28)}, ("out",), grey_inputs, {"image": {0: "batch"}}
    )
    monkeypatch.setattr(type(p), "export_spec", lambda self: spec)
    with pytest.raises(ExportError, match="differs from PyTorch"):
        export_onnx(p, tmp_path / "bad.onnx")
    assert list(tmp_path.iterdir()) == []  # nothing partial left behind


def test_cli_export_json_and_clear_errors(tmp_path, capsys, monkeypatch):
    out = tmp_path / "d.onnx"
    assert cli(["export", "mnist-masked", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["inputs"] == {"image": ["batch", 1, 28, 28], "mask": ["batch", 1, 28, 28]}
    assert set(report["parity"]) == {"random 28x28", "real 28x28", "real 28x28, batch 2"}
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if onnx were not installed
    assert cli(["export", "mnist-masked", "--out", str(tmp_path / "x.onnx")]) == 1
    assert "pip install onnx" in capsys.readouterr().err
    assert cli(["export", "nope"]) == 1 and "Unknown model" in capsys.readouterr().err
