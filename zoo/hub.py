"""Weight resolution and verification: where a model's files come from.

Order (first source that has the model's files wins):
  1. ``$ZOO_HOME/<name>/<file>``      a local override directory, if it exists
  2. ``zoo/weights/<name>/<file>``     the weights shipped inside the package
  3. the Hugging Face cache            ``hf_hub_download(..., local_files_only=True)``
  4. the Hugging Face Hub              ``hf_hub_download`` at the pinned revision,
                                       unless ``HF_HUB_OFFLINE=1``

Every file from every source is checked against the registry's size and sha256
before anything reads it. A mismatch raises `WeightsIntegrityError` naming the
file, the source and both hashes; nothing is loaded. There is no fall-through
past a bad file: a corrupted copy is an error to fix, not something to hide.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .network import (
    NETWORK_DEADLINE_S,
    REQUEST_TIMEOUT_S,
    _with_deadline,
    describe_network_error,
)  # noqa: F401
from .registry import WEIGHTS_DIR, FileRecord, ModelEntry

_TRUE = {"1", "on", "yes", "true"}


class WeightsError(RuntimeError):
    """Base class for every problem with a model's weight files."""


class WeightsNotFoundError(WeightsError):
    """No source has the files (e.g. offline with an empty cache)."""


class WeightsIntegrityError(WeightsError):
    """A file exists but its size or sha256 differs from the registry's record."""


@dataclass(frozen=True)
class ResolvedWeights:
    source: str  # "ZOO_HOME", "package", "hf-cache" or "hf-download"
    paths: dict[str, Path]  # filename -> local path (where the bytes were read)
    # filename -> the verified bytes: what is loaded is what was hashed (a file swapped on disk after
    # the check cannot be loaded); these files are a few MB
    data: dict[str, bytes] = field(default_factory=dict)


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_record(path: Path) -> FileRecord:
    """The record a freshly written file gets in the manifest."""
    path = Path(path)
    return FileRecord(filename=path.name, sha256=sha256_file(path), size=path.stat().st_size)


def hf_offline() -> bool:
    """Read at call time (huggingface_hub reads its constant once, at import)."""
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE or bool(constants.HF_HUB_OFFLINE)


def hf_cache_dir() -> Path:
    """The Hub cache named by the environment now (HF_HUB_CACHE > HF_HOME/hub > default)."""
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return Path(constants.HF_HUB_CACHE)


def _fix_hint(entry: ModelEntry, source: str, path: Path) -> str:
    if source == "ZOO_HOME":
        return f"replace or delete {path} (ZOO_HOME overrides every other source)"
    if source == "package":
        return (
            f"restore the shipped file (`git checkout -- {path.name}` in {path.parent}) "
            f"or reinstall the package (`pip install --force-reinstall restoration-zoo`)"
        )
    return f"run `zoo download {entry.name} --force` (replaces the cached file and its blob)"


def read_verified(entry: ModelEntry, rec: FileRecord, path: Path, source: str) -> bytes:
    """The bytes of one file, read once, checked for size then sha256; WeightsIntegrityError on any
    mismatch. Callers deserialise these very bytes, never the path again.

    The size is compared first, so a wrong file (say 1 GiB) is refused without reading it."""
    path = Path(path)
    size = path.stat().st_size
    data = b""
    if size == rec.size:
        with open(path, "rb") as fh:
            data = fh.read(rec.size + 1)  # +1: a file that grew since the stat shows as too long
        size = len(data)
    digest = hashlib.sha256(data).hexdigest() if size == rec.size else "(not hashed: the size differs)"
    if size != rec.size or digest != rec.sha256:
        raise WeightsIntegrityError(
            f"{entry.name}: {rec.filename} from {source} ({path}) failed verification: "
            f"expected sha256 {rec.sha256} ({rec.size} bytes), got sha256 {digest} ({size} bytes). "
            f"Nothing was loaded. To fix: {_fix_hint(entry, source, path)}."
        )
    return data


def verify_file(entry: ModelEntry, rec: FileRecord, path: Path, source: str) -> Path:
    """Check one file as `read_verified` does; returns its path."""
    read_verified(entry, rec, path, source)
    return Path(path)


_warned_zoo_home: set[str] = set()


def zoo_home_dir(name: str) -> Path | None:
    """`$ZOO_HOME/<name>` when it is a usable folder; a ZOO_HOME that is a file or a broken or
    looping link is said once (a warning), not silently skipped."""
    import warnings

    home = os.environ.get("ZOO_HOME")
    if not home:
        return None
    root = Path(home)
    try:
        usable = root.is_dir()
    except OSError:  # a self-looping link
        usable = False
    if not usable:
        if home not in _warned_zoo_home:
            _warned_zoo_home.add(home)
            warnings.warn(
                f"ZOO_HOME={home} is not a folder (a file, or a broken or looping link); it is ignored",
                stacklevel=3,
            )
        return None
    folder = root / name
    return folder if folder.is_dir() else None


def _local_dir_source(entry: ModelEntry, directory: Path, source: str) -> ResolvedWeights | None:
    """A directory source: all files present -> verified paths; none -> None; some -> error."""
    present = {
        rec.filename: directory / rec.filename for rec in entry.files if (directory / rec.filename).is_file()
    }
    if not present:
        if source == "ZOO_HOME":
            raise WeightsNotFoundError(
                f"{entry.name}: ZOO_HOME override directory {directory} exists but holds none of "
                f"{[r.filename for r in entry.files]}. Copy the files there or remove the directory."
            )
        return None
    missing = [rec.filename for rec in entry.files if rec.filename not in present]
    if missing:
        raise WeightsNotFoundError(f"{entry.name}: {source} directory {directory} is missing {missing}.")
    return ResolvedWeights(
        source,
        present,
        {rec.filename: read_verified(entry, rec, present[rec.filename], source) for rec in entry.files},
    )


def _drop_cached(repo_id: str, filename: str, revision: str) -> None:
    """Delete a cached file's snapshot link *and* the blob it points to: the client would otherwise
    re-link the same (corrupt) blob, since it trusts the etag it remembers for that commit."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, filename, cache_dir=hf_cache_dir(), revision=revision)
    if isinstance(cached, str):
        pointer = Path(cached)
        blob = pointer.resolve()
        pointer.unlink(missing_ok=True)
        if blob != pointer:
            blob.unlink(missing_ok=True)


def hub_source(
    entry: ModelEntry, revision: str, local_only: bool, force: bool = False
) -> ResolvedWeights | None:
    """The files from the Hugging Face cache (local_only) or downloaded at `revision`.

    force: download again even when cached (a corrupt blob is replaced, not re-linked)."""
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    source = "hf-cache" if local_only else "hf-download"
    constants.HF_HUB_DOWNLOAD_TIMEOUT = REQUEST_TIMEOUT_S  # read at each request: a silent server times out

    def fetch_all() -> tuple[dict[str, Path], dict[str, bytes]] | None:
        paths, data = {}, {}
        for rec in entry.files:
            if force and not local_only:
                _drop_cached(entry.repo_id, rec.filename, revision)
            try:
                path = hf_hub_download(
                    entry.repo_id,
                    rec.filename,
                    revision=revision,
                    cache_dir=hf_cache_dir(),
                    local_files_only=local_only,
                    endpoint=os.environ.get("HF_ENDPOINT") or None,
                    etag_timeout=REQUEST_TIMEOUT_S,
                    force_download=force and not local_only,
                )
            except LocalEntryNotFoundError:
                if local_only:
                    return None
                raise
            paths[rec.filename] = Path(path)
            data[rec.filename] = read_verified(entry, rec, Path(path), source)
        return paths, data

    # One deadline for every file together (not one per file), so the bound holds for the whole model.
    found = fetch_all() if local_only else _with_deadline(fetch_all, f"fetching {entry.repo_id}")
    return None if found is None else ResolvedWeights(source, *found)


def _not_found(entry: ModelEntry, revision: str, reason: str) -> WeightsNotFoundError:
    return WeightsNotFoundError(
        f"No weights for {entry.name!r}: {reason}. Looked in $ZOO_HOME/{entry.name}/, the package "
        f"({WEIGHTS_DIR / entry.name}), and the Hugging Face cache ({hf_cache_dir()}) for "
        f"{entry.repo_id}@{revision}. To get them: connect and run `python -m zoo download {entry.name}` "
        f"(without HF_HUB_OFFLINE=1), copy the files into $ZOO_HOME/{entry.name}/, or rebuild them in a "
        f"source checkout with `python -m training.train {entry.name}`."
    )


def resolve(
    entry: ModelEntry, revision: str | None = None, *, allow_download: bool = True
) -> ResolvedWeights:
    """Find and verify every file of `entry`, trying the four sources in order."""
    revision = revision or entry.revision
    if not entry.files:
        raise WeightsNotFoundError(
            f"{entry.name!r} has no published weight files in the registry yet; "
            f"build them in a source checkout with `python -m training.train {entry.name}`."
        )
    home = zoo_home_dir(entry.name)
    if home is not None:
        return _local_dir_source(entry, home, "ZOO_HOME")
    shipped = _local_dir_source(entry, WEIGHTS_DIR / entry.name, "package")
    if shipped is not None:
        return shipped
    cached = hub_source(entry, revision, local_only=True)
    if cached is not None:
        return cached
    if hf_offline():
        raise _not_found(entry, revision, "HF_HUB_OFFLINE=1 is set and nothing is cached")
    if not allow_download:
        raise _not_found(entry, revision, "nothing local and downloading was not allowed")
    try:
        return hub_source(entry, revision, local_only=False)
    except WeightsError:
        raise
    except Exception as exc:  # network, 404, auth: say what failed and how to get the files
        raise _not_found(entry, revision, describe_network_error(exc)) from exc


def read_config(resolved: ResolvedWeights) -> dict:
    if "config.json" in resolved.data:
        return json.loads(resolved.data["config.json"])
    path = resolved.paths.get("config.json")  # an unverified source (a training candidate)
    return json.loads(path.read_text()) if path else {}


def load_state_dict(resolved: ResolvedWeights, device: str = "cpu") -> dict:
    """safetensors only (no pickle is ever unpickled from a weight file), from the verified bytes."""
    from safetensors.torch import load

    tensors = load(resolved.data["model.safetensors"])
    return {k: v.to(device) for k, v in tensors.items()} if str(device) != "cpu" else tensors


# config.json keys that are the zoo's, not the module's init arguments
ZOO_KEYS = frozenset({"architecture", "task", "name", "data", "training", "init", "lineage", "soup", "zoo"})


def init_kwargs(config: dict) -> dict[str, Any]:
    """The module's init arguments a config.json holds: at the top level (`PyTorchModelHubMixin`'s
    layout, what `Pipeline.save_pretrained` writes), or nested under "model_kwargs" (older files)."""
    if isinstance(config.get("model_kwargs"), dict):
        return dict(config["model_kwargs"])
    return {k: v for k, v in config.items() if k not in ZOO_KEYS and k != "model_kwargs"}


def model_kwargs_from_config(entry: ModelEntry, config: dict, resolved: ResolvedWeights) -> dict:
    """The init kwargs stored in config.json (as PyTorchModelHubMixin does), checked against the registry's.

    A config written for another architecture is an error naming both, never a silent rebuild.
    """
    stored = init_kwargs(config) or None
    if stored is None:
        raise WeightsError(
            f"{entry.name}: {resolved.paths.get('config.json', 'config.json')} ({resolved.source}) "
            "has no model_kwargs; rebuild it with `python -m training.train " + entry.name + "`"
        )
    expected = json.loads(json.dumps(entry.model_kwargs))  # tuples -> lists, as config.json stores them
    if stored != expected:
        raise WeightsError(
            f"{entry.name}: config.json ({resolved.source}) was written for model_kwargs {stored}, "
            f"but the registry builds {expected}; these weights belong to another version of the "
            f"model. Retrain with `python -m training.train {entry.name}` or use matching weights."
        )
    return stored


def hub_resolve_and_build(entry: ModelEntry, revision: str | None = None):
    """Resolve + verify the files, build the module, load the tensors strictly, eval mode.

    Returns (module, config dict, source name).
    """
    resolved = resolve(entry, revision)
    config = read_config(resolved)
    model = entry.builder(**model_kwargs_from_config(entry, config, resolved))
    state = load_state_dict(resolved)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(
            f"{entry.name}: the weights in {resolved.paths['model.safetensors']} ({resolved.source}) do not "
            f"fit the registered architecture {entry.builder.__name__}({entry.model_kwargs}): {exc}"
        ) from exc
    return model.eval(), config, resolved.source
