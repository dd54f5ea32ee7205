"""ONNX export of a loaded pipeline's network, with a parity check against PyTorch.

    python -m zoo export feature-recon --format onnx --out feature-recon.onnx
    from zoo.export import export_onnx; report = export_onnx(zoo.load("mnist-masked"), "m.onnx")

Each pipeline says what its graph is (`Pipeline.export_spec()`): a module holding the
network and the task's tensor steps (holes zeroed, mask channel, known pixels pasted
back, clamping), its named inputs, which axes are dynamic, and the rules on sizes.
Steps that are not tensor maths stay outside the graph and are named in the spec's
`note` (cifar10-blocks' biharmonic fill, the resizing of inputs in `prepare`).
The parity check runs the file with onnxruntime on a random and a real input, at the
export size and (where the size is dynamic) another size and batch, and reports the
largest absolute difference from PyTorch.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

PARITY_TOLERANCE = 1e-4  # outputs are images in [0, 1] (and probabilities): 1e-4 is far below one 8-bit level


@dataclass
class ExportSpec:
    """What `Pipeline.export_spec()` returns.

    module: maps the named inputs (in order) to the outputs; inputs: name -> shape of the
    example (batch 1); dynamic: name -> {axis: label}; inputs_for(image, mask) -> name -> array
    (batch 1) for one prepared image; other_size: a second (H, W) to check a dynamic size at.
    """

    module: torch.nn.Module
    inputs: dict[str, tuple[int, ...]]
    outputs: tuple[str, ...]
    inputs_for: Callable[[np.ndarray, np.ndarray | None], dict[str, np.ndarray]]
    dynamic: dict[str, dict[int, str]] = field(default_factory=dict)
    other_size: tuple[int, int] | None = None
    note: str = ""


class ExportError(RuntimeError):
    """The model cannot be exported, or the exported file disagrees with PyTorch."""


def _require(module: str, what: str) -> Any:
    try:
        return __import__(module)
    except ImportError as exc:
        raise ExportError(f"{what} needs the '{module}' package: pip install {module}") from exc


def _real_image(p) -> np.ndarray:
    """A real input of the pipeline's kind, at the export size: a bundled digit or a bundled photo."""
    from . import data

    if p.prepare(np.zeros((28, 28), np.float32)).ndim == 2:  # the 28x28 grey family
        x, _ = data.load_mnist("test", source="sample")
        return x[0]
    from skimage import data as skdata

    return data.center_crop(skdata.astronaut().astype(np.float32) / 255.0, 256)


def _sized(image: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    return image[: hw[0], : hw[1]] if image.shape[0] >= hw[0] and image.shape[1] >= hw[1] else image


def _cases(p, spec: ExportSpec) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Named input sets: random and real at the export size, then batch 2 (at other_size if dynamic)."""
    rng = np.random.default_rng(0)
    first = next(iter(spec.inputs.values()))
    hw = first[-2:]
    cases = []
    for label, img in (
        ("random", rng.random((*hw, 3) if len(first) == 4 and first[1] == 3 else hw)),
        ("real", _real_image(p)),
    ):
        img = _sized(p.prepare(img.astype(np.float32)), hw)
        mask = p.corrupt(img, seed=1)[1] if p.needs_mask else None
        cases.append((f"{label} {hw[1]}x{hw[0]}", spec.inputs_for(img, mask)))
    hw2 = spec.other_size or hw  # batch 2 (the image and its mirror), at another size where it is dynamic
    img = _sized(p.prepare(_real_image(p)), hw2)
    mask = p.corrupt(img, seed=2)[1] if p.needs_mask else None
    one = spec.inputs_for(img, mask)
    two = {k: np.concatenate([v, v[..., ::-1].copy()]) for k, v in one.items()}
    cases.append((f"real {hw2[1]}x{hw2[0]}, batch 2", two))
    return cases


def parity(p, spec: ExportSpec, path: str | Path) -> dict[str, float]:
    """Largest |onnxruntime - PyTorch| per case, over every output."""
    ort = _require("onnxruntime", "the parity check")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    diffs = {}
    for label, feeds in _cases(p, spec):
        with torch.inference_mode():
            ref = spec.module(*[torch.from_numpy(feeds[k]) for k in spec.inputs])
        ref = (ref,) if isinstance(ref, torch.Tensor) else ref
        got = session.run(list(spec.outputs), {k: feeds[k] for k in spec.inputs})
        diffs[label] = float(max(np.abs(g - r.numpy()).max() for g, r in zip(got, ref)))
    return diffs


def export_onnx(p, out: str | Path, opset: int = 17, check: bool = True) -> dict[str, Any]:
    """Write `p`'s graph to `out` (ONNX); returns {path, inputs, outputs, note, parity (if checked)}.

    Raises ExportError when the model has no export, onnx is missing, or parity fails.
    """
    _require("onnx", "ONNX export")
    spec = p.export_spec()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = tuple(torch.rand(shape) for shape in spec.inputs.values())
    tmp = out.with_name(out.name + ".partial")
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and tracer notes
        warnings.simplefilter("ignore")
        torch.onnx.export(
            spec.module.eval(),
            example,
            str(tmp),
            dynamo=False,  # the TorchScript exporter: needs only `onnx`, not onnxscript
            opset_version=opset,
            input_names=list(spec.inputs),
            output_names=list(spec.outputs),
            dynamic_axes={**spec.dynamic},
        )
    report: dict[str, Any] = {
        "path": str(out),
        "inputs": {
            k: [spec.dynamic.get(k, {}).get(i, n) for i, n in enumerate(s)] for k, s in spec.inputs.items()
        },
        "outputs": list(spec.outputs),
        "note": spec.note,
    }
    if check:
        try:
            report["parity"] = parity(p, spec, tmp)
        except Exception:
            tmp.unlink(missing_ok=True)
            raise
        worst = max(report["parity"].values())
        if worst > PARITY_TOLERANCE:
            tmp.unlink(missing_ok=True)
            raise ExportError(
                f"the exported {p.name} differs from PyTorch by up to {worst:.2e} (> {PARITY_TOLERANCE:g}): "
                f"{report['parity']}"
            )
    tmp.replace(out)  # nothing partial is left at `out`
    return report
