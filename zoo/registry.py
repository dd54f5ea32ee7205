"""The model registry: one entry per zoo name, the single key used everywhere.

Pattern follows timm's `_registry.py`: module-level dicts, a `register_model`
function called by each pipeline module at import time, `list_models(pattern)`
with fnmatch, and an unknown name fails at once with the known names listed.

Where an entry's weights live (Hub repo, pinned revision, sha256 + size of each
file) is read from `zoo/weights/manifest.json`, which `training.train` and
`training.publish` write; the architecture side (builder + init kwargs) is code.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

PACKAGE_DIR = Path(__file__).resolve().parent
WEIGHTS_DIR = PACKAGE_DIR / "weights"
MANIFEST_PATH = WEIGHTS_DIR / "manifest.json"
CARDS_DIR = PACKAGE_DIR / "model_cards"  # package data: an installed zoo keeps its cards
INDEX_PATH = PACKAGE_DIR / "models.json"  # `zoo list` reads it (no torch): `zoo list --live --json` writes it
DEFAULT_FILES = ("model.safetensors", "config.json")


@dataclass(frozen=True)
class FileRecord:
    """One weight file as published: its name, sha256 (hex) and size in bytes."""

    filename: str
    sha256: str
    size: int


@dataclass
class ModelEntry:
    """Everything needed to find, verify, build and describe one zoo model."""

    name: str
    task: str
    summary: str
    builder: Callable[..., Any]  # builds the torch module: builder(**model_kwargs)
    model_kwargs: dict[str, Any]
    pipeline_cls: Any  # the zoo.pipelines class that wraps the module
    repo_id: str
    revision: str = "main"
    files: tuple[FileRecord, ...] = ()
    card_path: Path | None = None
    tags: tuple[str, ...] = ()
    # the weights' licence, as a Hugging Face card names it ("mit", "agpl-3.0", ...): the card's front
    # matter is written from it, and `zoo list` shows it
    license: str = "other"
    # what the model takes and gives: channels, input size (or its range), value range, normalisation,
    # stride, size limits (timm's pretrained_cfg, for users who feed the module directly)
    data_config: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def damage_options(self) -> dict[str, Any]:
        """The keyword options of the pipeline's `corrupt` (`zoo run --corrupt --damage KEY=VALUE`),
        with their defaults; the seed is given apart."""
        import inspect

        corrupt = getattr(self.pipeline_cls, "corrupt", None)
        if corrupt is None:
            return {}
        params = list(inspect.signature(corrupt).parameters.values())[2:]  # self, image
        return {
            p.name: p.default for p in params if p.name != "seed" and p.default is not inspect.Parameter.empty
        }

    def metadata(self) -> dict[str, Any]:
        """The entry as JSON-ready data (what `zoo list --json` prints, one object per model)."""
        return {
            "name": self.name,
            "task": self.task,
            "license": self.license,
            "summary": self.summary,
            "tags": list(self.tags),
            "architecture": getattr(self.builder, "__name__", str(self.builder)),
            "model_kwargs": json.loads(json.dumps(self.model_kwargs)),
            "data_config": json.loads(json.dumps(self.data_config)),
            "damage_options": self.damage_options(),
            "repo_id": self.repo_id,
            "revision": self.revision,
            "files": {r.filename: {"sha256": r.sha256, "size": r.size} for r in self.files},
        }

    def file(self, filename: str) -> FileRecord:
        for rec in self.files:
            if rec.filename == filename:
                return rec
        raise KeyError(f"{self.name!r} has no file {filename!r}; it has {[f.filename for f in self.files]}")


_entries: dict[str, ModelEntry] = {}


def read_manifest(path: Path | None = None) -> dict[str, Any]:
    """The weights manifest {name: {repo_id, revision, files}} (default: the package's, read at call time)."""
    path = Path(path) if path is not None else MANIFEST_PATH
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def write_manifest_entry(name: str, record: dict[str, Any], path: Path | None = None) -> None:
    """Replace one model's manifest record (repo_id, revision, files) and keep the others."""
    path = Path(path) if path is not None else MANIFEST_PATH
    manifest = read_manifest(path)
    manifest[name] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")


def _files_from_manifest(record: dict[str, Any]) -> tuple[FileRecord, ...]:
    return tuple(
        FileRecord(filename=fn, sha256=meta["sha256"], size=int(meta["size"]))
        for fn, meta in sorted(record.get("files", {}).items())
    )


def register_model(
    name: str,
    *,
    task: str,
    summary: str,
    model_kwargs: dict[str, Any],
    pipeline_cls: Any,
    builder: Callable[..., Any] | None = None,
    repo_id: str | None = None,
    tags: tuple[str, ...] = (),
    files: tuple[FileRecord, ...] | None = None,
    revision: str | None = None,
    card_path: Path | None = None,
    license: str = "other",
    data_config: dict[str, Any] | None = None,
    **extra: Any,
) -> Any:
    """Add (or replace) a registry entry; hashes come from the manifest unless given. Third-party
    models register the same way (README: "Adding a model").

    With `builder`, registers at once and returns the `ModelEntry`. Without it, a decorator for the
    builder function, as timm's `@register_model`:

        @zoo.register_model("my-denoiser", task="denoising", summary="...", pipeline_cls=DenoisePipeline,
                            model_kwargs=dict(in_channels=1, out_channels=1, base_channels=8, depth=2))
        def my_unet(**kwargs):
            return UNet(**kwargs)
    """
    if builder is None:

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            register_model(
                name,
                task=task,
                summary=summary,
                model_kwargs=model_kwargs,
                pipeline_cls=pipeline_cls,
                builder=fn,
                repo_id=repo_id,
                tags=tags,
                files=files,
                revision=revision,
                card_path=card_path,
                license=license,
                data_config=data_config,
                **extra,
            )
            return fn

        return decorate
    record = read_manifest().get(name, {})
    entry = ModelEntry(
        name=name,
        task=task,
        summary=summary,
        builder=builder,
        model_kwargs=dict(model_kwargs),
        pipeline_cls=pipeline_cls,
        repo_id=repo_id or record.get("repo_id") or f"restoration-zoo/{name}",
        revision=revision or record.get("revision") or "main",
        files=files if files is not None else _files_from_manifest(record),
        card_path=card_path or CARDS_DIR / f"{name}.md",
        tags=tuple(tags),
        license=license,
        data_config=dict(data_config or {}),
        extra=extra,
    )
    _entries[name] = entry
    return entry


def unregister_model(name: str) -> None:
    """Remove an entry (tests register tiny models and take them away again)."""
    _entries.pop(name, None)


_builtin_loaded = False


def _ensure_builtin() -> None:
    """Register the zoo's own models (importing `zoo.pipelines`) on first use of the registry."""
    global _builtin_loaded
    if not _builtin_loaded:
        _builtin_loaded = True
        importlib.import_module("zoo.pipelines")


def list_models(
    pattern: str = "*",
    *,
    tags: str | Iterable[str] | None = None,
    task: str | None = None,
    license: str | None = None,
) -> list[str]:
    """Sorted registered names matching an fnmatch `pattern` (``list_models("mnist-*")``), having every
    tag in `tags`, a task matching `task` (fnmatch) and the licence `license`."""
    _ensure_builtin()
    wanted = {tags} if isinstance(tags, str) else set(tags or ())
    return sorted(
        n
        for n, e in _entries.items()
        if fnmatch.fnmatch(n, pattern)
        and wanted <= set(e.tags)
        and (task is None or fnmatch.fnmatch(e.task, task))
        and (license is None or e.license == license)
    )


def is_model(name: str) -> bool:
    _ensure_builtin()
    return name in _entries


def get_entry(name: str) -> ModelEntry:
    _ensure_builtin()
    if not isinstance(name, str) or name not in _entries:
        known = ", ".join(list_models()) or "(none registered)"
        raise ValueError(f"Unknown model {name!r}. Known models: {known}.")
    return _entries[name]
