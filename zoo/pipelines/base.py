"""What every task pipeline shares: the result object and the loaded-model wrapper.

A pipeline owns one verified, eval-mode torch module and the task's rules:
how an input becomes the model's image (`prepare`), the task's own damage
(`corrupt`), and the public calls (diffusers style):

    out = p(image, mask=mask)                          # one image -> RestorationResult
    outs = p.batch(images, masks=masks, batch_size=64)  # many -> list of results, same order

`__call__` is `batch` of one. `batch` prepares every input, groups images of one size
into chunks of `batch_size`, and hands each chunk to the subclass's `_forward`
(under `torch.inference_mode()`); evaluation, benchmark, hub and tests all go through
these two calls, never `p.model`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..registry import ModelEntry


@dataclass
class RestorationResult:
    """The public result. Field names are API: keep them stable.

    image:  restored image, float32 in [0,1], HxW (grey) or HxWx3 (colour)
    label:  predicted class index, where the task classifies
    probs:  class probabilities (sums to 1), where the task classifies
    frames: intermediate images (each like `image`), where the model is iterative
    features: the encoder's feature map (C, h, w), where the task reconstructs from features
    """

    image: np.ndarray
    label: int | None = None
    probs: np.ndarray | None = None
    frames: list[np.ndarray] | None = None
    class_names: tuple[str, ...] | None = None
    features: np.ndarray | None = None

    @property
    def label_name(self) -> str | None:
        if self.label is None or self.class_names is None:
            return None
        return self.class_names[self.label]


def check_mask(mask: Any, shape: tuple[int, int]) -> np.ndarray:
    """A user mask -> (H, W) bool, True = missing; ValueError when it cannot be one.

    Accepted: bool arrays, and integer or float arrays holding only 0 and 1 (a float 0.3 is
    refused, not read as "no hole"); torch tensors by the same rules; PIL images are read as their pixel
    values (0 / 1 or 0 / 255).
    """
    if mask is None:
        raise ValueError("this task needs a mask (True = missing pixel); get one from pipeline.corrupt(...)")
    if isinstance(mask, Image.Image):  # a PIL image: any non-zero pixel is a hole
        mask = np.asarray(mask.convert("L")) > 0
    elif isinstance(mask, torch.Tensor):  # on any device: its values, by the array rules below
        mask = mask.detach().cpu().numpy()
    try:
        arr = np.asarray(mask)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"mask could not be read as an array ({type(mask).__name__}): {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"mask has dtype {arr.dtype} ({type(mask).__name__}); expected a bool array "
            f"(or 0/1 numbers) of shape {tuple(shape)}, True = missing"
        )
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.shape != tuple(shape):
        raise ValueError(f"mask has shape {arr.shape}; expected {tuple(shape)} to match the image")
    if arr.dtype != bool:
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError("mask contains NaN or infinity; expected booleans (True = missing)")
        if not np.all((arr == 0) | (arr == 1)):
            bad = arr[(arr != 0) & (arr != 1)].flat[0]
            raise ValueError(
                f"mask holds {bad!r}; a numeric mask must hold only 0 and 1 (1 = missing), "
                "or pass a bool array"
            )
        arr = arr == 1
    return arr


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' -> CUDA when available, else the CPU; 'cpu', 'cuda', 'cuda:N' as torch reads them."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} requested but CUDA is not available here; use device='cpu' or 'auto'"
        )
    return dev


HALF_PRECISIONS = ("float32", "float16", "bfloat16")
# What the 28x28 grey tasks (the MNIST family, nca-fmnist) take: `ModelEntry.data_config`
GREY_28_DATA_CONFIG = dict(
    channels=1,
    input_size=[28, 28],
    value_range=[0, 1],
    normalisation=None,
    resize="any image: grey (light backgrounds inverted), long side to 28 px, centred on black",
    max_pixels=4096 * 4096,
)
DTYPE_TOLERANCE = 0.01  # mean absolute difference from float32's output, images in [0, 1]


def _cast(value: Any, dtype: torch.dtype) -> Any:
    """Floating tensors in `value` (a tensor, or a tuple / list of them) cast to `dtype`."""
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (tuple, list)):
        return type(value)(_cast(v, dtype) for v in value)
    return value


def check_dtype(name: str, dtype: Any, supported: tuple[str, ...]) -> str:
    """The dtype's name if `supported` holds it; a ValueError naming the supported ones otherwise."""
    label = str(dtype).removeprefix("torch.")
    if label not in supported:
        raise ValueError(
            f"{name} does not run in dtype {label!r}; supported: {', '.join(supported)} "
            "(lower precisions are offered only where a test shows the outputs stay close to float32)"
        )
    return label


class Pipeline:
    """Base class: holds the entry, the module, its config and where the weights came from."""

    task: str = ""
    # what zoo.load(..., dtype=) and `to(dtype=)` accept for this task: lower precisions only where
    # tests/test_open_zoo.py shows the outputs within DTYPE_TOLERANCE of float32's
    supported_dtypes: tuple[str, ...] = ("float32",)

    def __init__(
        self,
        entry: ModelEntry,
        model: torch.nn.Module,
        config: dict | None = None,
        device: str | torch.device = "cpu",
        source: str = "",
    ) -> None:
        self.entry = entry
        self.name = entry.name
        self.device = resolve_device(device)
        self.dtype = torch.float32
        self.model = model.to(self.device).eval()
        self.config = dict(config or {})
        self.weights_source = source
        self._card = None
        self._cast_hooks: list = []

    # ------------------------------------------------------------ devices, dtypes, publishing
    def modules(self) -> dict[str, torch.nn.Module]:
        """Every torch module the pipeline holds (the model, and e.g. a frozen encoder)."""
        return {k: v for k, v in vars(self).items() if isinstance(v, torch.nn.Module)}

    def to(self, device: str | torch.device | None = None, dtype: Any = None) -> "Pipeline":
        """Move every part (modules, and tensors such as normalisation constants) to `device` and run
        the modules in `dtype` (one of `supported_dtypes`); inputs and outputs stay float32 in [0, 1].
        Returns the pipeline itself, as `nn.Module.to` does."""
        if dtype is not None:
            label = check_dtype(self.name, dtype, self.supported_dtypes)
            self.dtype = getattr(torch, label)
        if device is not None:
            self.device = resolve_device(device)
        for key, value in list(vars(self).items()):
            if isinstance(value, torch.nn.Module):
                value.to(self.device, dtype=self.dtype)  # as nn.Module.to: float32 -> bf16 -> float32 rounds
            elif isinstance(value, torch.Tensor):
                setattr(self, key, value.to(self.device))  # constants stay float32: inputs are float32
        for handle in self._cast_hooks:
            handle.remove()
        self._cast_hooks = []
        if self.dtype != torch.float32:  # the modules' inputs cast in, their outputs back to float32
            for module in self.modules().values():
                self._cast_hooks += [
                    module.register_forward_pre_hook(lambda m, args, dt=self.dtype: _cast(args, dt)),
                    module.register_forward_hook(lambda m, args, out: _cast(out, torch.float32)),
                ]
        return self

    def save_pretrained(self, folder: str | Any) -> Any:
        """Write model.safetensors, a `PyTorchModelHubMixin`-compatible config.json (init arguments at
        the top level, the zoo's architecture / task / name / lineage beside them) and the card into
        `folder`; `zoo.load(folder)` loads it back. Returns the folder."""
        from ..pretrained import save_pretrained

        return save_pretrained(self, folder)

    def push_to_hub(
        self,
        repo_id: str,
        *,
        revision: str | None = None,
        private: bool = False,
        token: str | None = None,
        commit_message: str | None = None,
    ) -> str:
        """Upload what `save_pretrained` writes to the Hub (`huggingface_hub`; HF_ENDPOINT selects
        another Hub); returns the commit hash: `zoo.load(f"hf-hub:{repo_id}@{commit}")`."""
        from ..pretrained import push_to_hub

        return push_to_hub(
            self, repo_id, revision=revision, private=private, token=token, commit_message=commit_message
        )

    @property
    def card(self):
        """The parsed model card (`huggingface_hub.ModelCard`), read on first use."""
        if self._card is None:
            from ..cards import load_card

            self._card = load_card(self.entry.card_path)
        return self._card

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(name={self.name!r}, device={self.device}, weights={self.weights_source!r})"

    needs_mask = False  # tasks whose damage is a mask (True = missing) need one per image

    @classmethod
    def verify_dependencies(cls) -> None:
        """Check files the pipeline needs beyond the entry's weights (raises on a problem); none by
        default."""

    def export_spec(self):
        """The graph `zoo.export.export_onnx` writes (a `zoo.export.ExportSpec`); tasks without one say so."""
        from ..export import ExportError

        raise ExportError(f"{self.name} has no ONNX export yet")

    def prepare(self, image: Any) -> np.ndarray:  # pragma: no cover - every task defines it
        raise NotImplementedError

    def _forward(self, x: np.ndarray, masks: np.ndarray | None, **kwargs) -> list[RestorationResult]:
        """One chunk: x (N, H, W) or (N, H, W, 3) prepared images, masks (N, H, W) bool or None."""
        raise NotImplementedError  # pragma: no cover

    def __call__(self, image: Any, mask: Any = None, **kwargs) -> RestorationResult:
        return self.batch([image], None if mask is None else [mask], **kwargs)[0]

    @torch.inference_mode()
    def batch(self, images: Any, masks: Any = None, batch_size: int = 64, **kwargs) -> Any:
        """Restore many images: a list (or an (N, ...) array) of inputs, masks one per image or None;
        returns a list of `RestorationResult`.

        A torch tensor (B, C, H, W) in [0, 1] (masks (B, 1, H, W), True / 1 = missing) goes through
        the same steps and returns the restored images as a tensor (B, C', H, W) float32 on the input's
        device."""
        if isinstance(images, torch.Tensor):
            return self._tensor_batch(images, masks, batch_size, **kwargs)
        images = list(images)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if masks is not None:
            masks = list(masks)
            if len(masks) != len(images):
                raise ValueError(f"got {len(images)} images but {len(masks)} masks; give one mask per image")
        prepared = [self.prepare(img) for img in images]  # the images are checked before the masks
        if masks is None and self.needs_mask and images:
            check_mask(None, (0, 0))  # the task's own "needs a mask" error
        checked = None if masks is None else [check_mask(m, x.shape[:2]) for x, m in zip(prepared, masks)]
        results: list[RestorationResult | None] = [None] * len(prepared)
        start = 0
        while start < len(prepared):  # consecutive images of one shape share a chunk
            end = start + 1
            while (
                end < len(prepared)
                and end - start < batch_size
                and prepared[end].shape == prepared[start].shape
            ):
                end += 1
            chunk_masks = None if checked is None else np.stack(checked[start:end])
            outs = self._forward(np.stack(prepared[start:end]), chunk_masks, **kwargs)
            results[start:end] = outs
            start = end
        return results  # type: ignore[return-value]

    def _tensor_batch(self, x: torch.Tensor, masks: Any, batch_size: int, **kwargs) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"a tensor batch is (B, C, H, W) with C 1 or 3; got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"a tensor batch holds floats in [0, 1]; got dtype {x.dtype}")
        arrays = x.detach().float().cpu().numpy()
        arrays = [a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0) for a in arrays]  # (H, W) or (H, W, 3)
        if isinstance(masks, torch.Tensor):
            if masks.ndim != 4 or masks.shape[1] != 1 or masks.shape[0] != x.shape[0]:
                raise ValueError(
                    f"tensor masks are (B, 1, H, W) for B={x.shape[0]}; got {tuple(masks.shape)}"
                )
            masks = list(masks.detach().cpu().numpy()[:, 0])
        results = self.batch(arrays, masks, batch_size=batch_size, **kwargs)
        out = [torch.from_numpy(np.ascontiguousarray(r.image)) for r in results]
        out = [t[None] if t.ndim == 2 else t.permute(2, 0, 1) for t in out]  # (C', H, W)
        return torch.stack(out).to(x.device)

    def _run(self, x: np.ndarray) -> np.ndarray:
        """The module on a numpy batch: (N, C, H, W) float32 -> (N, C', H, W) clamped to [0,1], numpy."""
        out = self.model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device))
        return out.detach().float().clamp(0, 1).cpu().numpy()

    def _to_tensor(self, arr: np.ndarray) -> torch.Tensor:
        """(H, W) -> (1, 1, H, W); (H, W, 3) -> (1, 3, H, W), on the pipeline's device."""
        t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
        t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
        return t.to(self.device)

    @staticmethod
    def _to_numpy(t: torch.Tensor) -> np.ndarray:
        """(1, 1, H, W) -> (H, W); (1, 3, H, W) -> (H, W, 3), float32 clipped to [0,1]."""
        arr = t.detach().float().clamp(0, 1).cpu().numpy()[0]
        return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
