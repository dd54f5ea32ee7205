"""zoo.load's device='auto' and dtype: the right device, and clear refusals before any file is read."""

from __future__ import annotations

import pytest
import torch

import zoo


def test_auto_device_picks_cuda_only_when_available(monkeypatch):
    assert zoo.load("mnist-denoise", device="auto").device.type == (
        "cuda" if torch.cuda.is_available() else "cpu"
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert zoo.load("mnist-denoise", device="auto").device == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available.*'auto'"):
        zoo.load("mnist-denoise", device="cuda")


@pytest.mark.parametrize(
    "name,dtype", [("nca-fmnist", "bfloat16"), ("nca-fmnist", torch.float16), ("feature-recon", "int8")]
)
def test_unsupported_dtype_names_the_supported_ones(name, dtype, monkeypatch):
    monkeypatch.setattr("zoo.hub.hub_resolve_and_build", lambda *a, **k: pytest.fail("files were read"))
    with pytest.raises(ValueError, match="supported: float32"):
        zoo.load(name, dtype=dtype)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        zoo.load("feature-recon", device="tpu")


def test_float32_is_accepted_by_name_and_as_a_torch_dtype():
    assert zoo.load("mnist-ae2d", dtype=torch.float32).model.encoder[0].weight.dtype == torch.float32
