"""Weights from anywhere, and back to the Hub: a folder, `hf-hub:org/repo[@revision]`, `save_pretrained`,
`push_to_hub`.

A weights folder holds what `Pipeline.save_pretrained` writes, as `huggingface_hub`'s
`PyTorchModelHubMixin` lays it out:

    model.safetensors   the module's state dict
    config.json         the module's init arguments at the top level (what the mixin passes to
                        `__init__`), plus the zoo's keys: "architecture" (the builder), "task", "name"
                        (the registry model it is a version of) and "lineage" (how it was made)
    README.md           the model card (optional)

The registry's models keep their sha256 pinning (`zoo.hub`). Other weights are checked against what
their source says: a Hub file against the sha256 (LFS) or git blob hash its ETag carries, at the commit
the revision resolved to; a folder is the user's own. Their pipelines say where they came from in
`weights_source`, never that they are the registry's weights.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from .hub import (
    ZOO_KEYS,
    WeightsError,
    WeightsIntegrityError,
    WeightsNotFoundError,
    describe_network_error,
    init_kwargs,
)
from .registry import ModelEntry, get_entry, is_model, list_models

HF_PREFIX = "hf-hub:"
WEIGHTS_NAME, CONFIG_NAME, CARD_NAME = "model.safetensors", "config.json", "README.md"


# ---------------------------------------------------------------- config.json
def mixin_config(entry: ModelEntry, model_kwargs: dict, config: dict | None = None) -> dict:
    """A config.json for `PyTorchModelHubMixin` readers and for `zoo.load`: init arguments at the top
    level, the zoo's keys beside them, and what else the loaded config recorded (data, lineage, ...)."""
    kept = {k: v for k, v in (config or {}).items() if k in ZOO_KEYS}
    kwargs = json.loads(json.dumps(model_kwargs))  # tuples as JSON stores them
    clash = sorted(set(kwargs) & ZOO_KEYS)
    if clash:
        raise ValueError(f"init arguments {clash} clash with the zoo's config keys; rename them")
    return {**kwargs, **kept, "name": entry.name, "architecture": entry.builder.__name__, "task": entry.task}


def entry_for(config: dict, where: str) -> ModelEntry:
    """The registry entry whose pipeline serves a config: its "name" when registered (a fine-tuned copy),
    else the first model with the same architecture and task."""
    name, arch, task = config.get("name"), config.get("architecture"), config.get("task")
    if name and is_model(name):
        base = get_entry(name)
        if arch and arch != base.builder.__name__:
            raise WeightsError(
                f"{where}: config.json says architecture {arch!r}, but {name} is built by "
                f"{base.builder.__name__}; fix the config's 'architecture' or 'name'"
            )
    else:
        same = [get_entry(n) for n in list_models() if get_entry(n).builder.__name__ == arch]
        same = [e for e in same if task in (None, e.task)] or same
        if not same:
            archs = sorted({get_entry(n).builder.__name__ for n in list_models()})
            raise WeightsError(
                f"{where}: config.json names architecture {arch!r} (task {task!r}), which no zoo model "
                f"uses; known architectures: {', '.join(archs)}. A folder from `Pipeline.save_pretrained` "
                "has the right keys"
            )
        base = same[0]
    return dataclasses.replace(base, model_kwargs=init_kwargs(config), files=())


# ---------------------------------------------------------------- building a pipeline from bytes
def build(config: dict, weights: bytes, where: str, source: str, card: Path | None, device: str, dtype: str):
    """The pipeline of these weights: the module built from the config, the tensors loaded strictly."""
    from safetensors.torch import load as load_tensors

    from .pipelines.base import check_dtype, resolve_device

    entry = entry_for(config, where)
    if card is not None:
        entry = dataclasses.replace(entry, card_path=card)
    label = check_dtype(entry.name, dtype, entry.pipeline_cls.supported_dtypes)
    resolve_device(device)
    try:
        model = entry.builder(**entry.model_kwargs)
    except TypeError as exc:
        raise WeightsError(
            f"{where}: config.json's init arguments do not build {entry.builder.__name__}: {exc}"
        )
    try:
        state = load_tensors(weights)
    except Exception as exc:  # a damaged or foreign file: safetensors' own message
        raise WeightsIntegrityError(f"{where}: {WEIGHTS_NAME} is not a readable safetensors file: {exc}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(
            f"{where}: {WEIGHTS_NAME} does not fit {entry.builder.__name__}({entry.model_kwargs}): "
            f"{str(exc)[:400]}"
        ) from exc
    p = entry.pipeline_cls(entry, model.eval(), config=config, device=device, source=source)
    return p.to(dtype=label) if label != "float32" else p


def read_config(path: Path, where: str) -> dict:
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{where}: {CONFIG_NAME} is not readable JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise WeightsError(f"{where}: {CONFIG_NAME} holds {type(config).__name__}, expected an object")
    return config


# ---------------------------------------------------------------- a folder
def from_folder(folder: str | Path, *, device: str = "cpu", dtype: str = "float32"):
    folder = Path(folder)
    missing = [f for f in (WEIGHTS_NAME, CONFIG_NAME) if not (folder / f).is_file()]
    if missing:
        raise WeightsNotFoundError(
            f"{folder} holds no {' / '.join(missing)}: a weights folder has model.safetensors and config.json "
            "(what `Pipeline.save_pretrained(folder)` writes)"
        )
    where = str(folder)
    weights = (folder / WEIGHTS_NAME).read_bytes()
    digest = hashlib.sha256(weights).hexdigest()
    source = f"folder {folder.resolve()} (sha256 {digest[:12]}; your files, not the registry's weights)"
    card = folder / CARD_NAME if (folder / CARD_NAME).is_file() else None
    return build(read_config(folder / CONFIG_NAME, where), weights, where, source, card, device, dtype)


# ---------------------------------------------------------------- the Hub
def parse_hub_id(spec: str, revision: str | None = None) -> tuple[str, str | None]:
    """'hf-hub:org/repo@rev' -> ('org/repo', 'rev'); an explicit `revision` wins over '@rev'."""
    body = spec[len(HF_PREFIX) :] if spec.startswith(HF_PREFIX) else spec
    repo_id, _, at = body.partition("@")
    if not re.fullmatch(r"[\w.\-]+/[\w.\-]+", repo_id):
        raise ValueError(f"{spec!r} is not hf-hub:ORG/NAME[@REVISION]")
    return repo_id, revision or at or None


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check_against_etag(data: bytes, etag: str, where: str) -> None:
    """A downloaded file against the hash the Hub gave for it: sha256 for LFS files, git's blob sha1
    for regular ones. A file the Hub gave no such hash for is refused."""
    etag = etag.strip('"').removeprefix("W/").strip('"')
    if re.fullmatch(r"[0-9a-f]{64}", etag):
        got = hashlib.sha256(data).hexdigest()
    elif re.fullmatch(r"[0-9a-f]{40}", etag):
        got = git_blob_sha1(data)
    else:
        raise WeightsIntegrityError(f"{where}: the Hub gave no content hash for the file (ETag {etag!r})")
    if got != etag:
        raise WeightsIntegrityError(
            f"{where}: the file's hash {got[:12]}... differs from the Hub's {etag[:12]}...: damaged in the "
            "cache or in transit; download it again (`zoo download` with --force, or delete it from the "
            "Hugging Face cache)"
        )


def from_hub(spec: str, *, revision: str | None = None, device: str = "cpu", dtype: str = "float32"):
    """`hf-hub:org/repo[@revision]`: config.json, model.safetensors and the card from the Hub (or its
    cache), each checked against the hash the Hub reports, at one commit."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError

    from .hub import hf_cache_dir, hf_offline

    repo_id, rev = parse_hub_id(spec, revision)
    endpoint = os.environ.get("HF_ENDPOINT") or None
    where = f"{HF_PREFIX}{repo_id}@{rev or 'main'}"
    data, commit, card = {}, None, None
    try:
        for filename in (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME):
            try:
                path = Path(
                    hf_hub_download(
                        repo_id,
                        filename,
                        revision=commit or rev,  # every file from the commit the first one came from
                        cache_dir=hf_cache_dir(),
                        endpoint=endpoint,
                        local_files_only=hf_offline(),
                    )
                )
            except EntryNotFoundError:
                if filename == CARD_NAME:
                    continue  # a card is optional
                raise
            commit = commit or path.parent.name
            body = path.read_bytes()
            if not hf_offline():
                meta = get_hf_file_metadata(hf_hub_url(repo_id, filename, revision=commit, endpoint=endpoint))
                check_against_etag(body, meta.etag or "", f"{where} {filename}")
            elif Path(os.path.realpath(path)).name not in (
                hashlib.sha256(body).hexdigest(),
                git_blob_sha1(body),
            ):
                raise WeightsIntegrityError(
                    f"{where} {filename}: the cached file differs from the hash it was stored under"
                )
            if filename == CARD_NAME:
                card = path
            data[filename] = body
    except WeightsError:
        raise
    except Exception as exc:  # offline, 404, auth: one readable line
        raise WeightsNotFoundError(f"{where}: {describe_network_error(exc)}") from exc
    source = f"{HF_PREFIX}{repo_id}@{commit} (checked against the Hub's hashes; not the registry's weights)"
    config = json.loads(data[CONFIG_NAME])
    return build(config, data[WEIGHTS_NAME], where, source, card, device, dtype)


# ---------------------------------------------------------------- writing and publishing
def save_pretrained(pipeline, folder: str | Path) -> Path:
    """Write `pipeline`'s weights, a mixin-compatible config.json and its card into `folder`."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().float().cpu().contiguous() for k, v in pipeline.model.state_dict().items()}
    config = mixin_config(pipeline.entry, pipeline.entry.model_kwargs, pipeline.config)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".saving-") as tmp:  # nothing half-written
        save_file(tensors, str(Path(tmp) / WEIGHTS_NAME), metadata={"format": "pt"})
        (Path(tmp) / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        card = pipeline.entry.card_path
        if card is not None and Path(card).is_file():
            (Path(tmp) / CARD_NAME).write_bytes(Path(card).read_bytes())
        for name in (WEIGHTS_NAME, CONFIG_NAME, CARD_NAME):
            if (Path(tmp) / name).is_file():
                os.replace(Path(tmp) / name, folder / name)
    return folder


def push_to_hub(
    pipeline,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
) -> str:
    """Upload what `save_pretrained` writes to the Hub repo `repo_id` (created if missing) on branch
    `revision` (default main, created if missing); returns the commit hash, which pins these files:
    `zoo.load(f"hf-hub:{repo_id}@{commit}")`."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            save_pretrained(pipeline, tmp)
            info = api.upload_folder(
                repo_id=repo_id,
                folder_path=tmp,
                revision=revision or "main",
                commit_message=commit_message or f"Upload {pipeline.name} from the restoration model zoo",
            )
    except Exception as exc:
        raise WeightsError(f"pushing to {repo_id}: {describe_network_error(exc)}") from exc
    return info.oid


def load_any(spec: str, *, revision: str | None, device: str, dtype: str):
    """`zoo.load`'s other sources: an `hf-hub:` id or a folder; a clear error otherwise."""
    if spec.startswith(HF_PREFIX):
        return from_hub(spec, revision=revision, device=device, dtype=dtype)
    path = Path(spec).expanduser()
    if path.is_dir():
        return from_folder(path, device=device, dtype=dtype)
    raise ValueError(
        f"Unknown model {spec!r}: not a registry name ({', '.join(list_models())}), not a folder, not "
        "hf-hub:ORG/NAME[@REVISION]"
    )
