"""(Maintainers, in a checkout) publish a registered model's shipped files to the Hub and pin the registry.

    zoo push mnist-denoise --repo-id my-org/mnist-denoise --pin
    zoo push feature-recon --repo-id my-org/feature-recon --revision main --private --pin

(Without --pin, `zoo push` uploads any model, folder or hf-hub: id through `Pipeline.push_to_hub`.)

Uploads zoo/weights/NAME/{model.safetensors,config.json} and zoo/model_cards/NAME.md (as the
repo's README.md, so the Hub renders the card) in one commit with `huggingface_hub`,
then records the repo id and the *commit hash* of that upload in
zoo/weights/manifest.json: users get exactly these bytes, whatever the branch does later.
Files whose sha256 or size differ from the manifest are refused: retrain or
re-export first, so the registry never points at unverified weights.
Authenticate with `hf auth login` or HF_TOKEN; HF_ENDPOINT selects another Hub.
"""

from __future__ import annotations

import os

from . import registry
from .hub import file_record


def check_files(name: str) -> list:
    """The shipped files of `name`, each verified against the manifest; ValueError otherwise."""
    record = registry.read_manifest(registry.MANIFEST_PATH).get(name)
    if not record:
        raise ValueError(
            f"{name} has no manifest record; build its weights in a checkout: `python -m training.train {name}`"
        )
    folder = registry.WEIGHTS_DIR / name
    paths = []
    for filename, meta in sorted(record["files"].items()):
        path = folder / filename
        if not path.is_file():
            raise ValueError(f"{path} is missing; rebuild it with `python -m training.train {name}`")
        rec = file_record(path)
        if (rec.sha256, rec.size) != (meta["sha256"], int(meta["size"])):
            raise ValueError(
                f"{path} does not match the manifest (sha256 {rec.sha256[:12]}..., expected "
                f"{meta['sha256'][:12]}...): re-export it before publishing"
            )
        paths.append(path)
    return paths


def publish(
    name: str, repo_id: str, revision: str = "main", private: bool = False, token: str | None = None
) -> str:
    """Upload and pin; returns the commit hash now recorded in the manifest."""
    from huggingface_hub import CommitOperationAdd, HfApi

    entry = registry.get_entry(name)
    files = check_files(name)
    operations = [CommitOperationAdd(path_in_repo=p.name, path_or_fileobj=str(p)) for p in files]
    if entry.card_path is not None and entry.card_path.is_file():
        operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=str(entry.card_path)))
    # HF_ENDPOINT read now, not at import (huggingface_hub reads its constant once).
    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    if revision != "main":
        api.create_branch(repo_id, branch=revision, exist_ok=True)
    info = api.create_commit(
        repo_id,
        operations=operations,
        revision=revision,
        commit_message=f"Publish {name} from the restoration model zoo",
    )
    record = registry.read_manifest(registry.MANIFEST_PATH)[name]
    registry.write_manifest_entry(
        name, {**record, "repo_id": repo_id, "revision": info.oid}, registry.MANIFEST_PATH
    )
    return info.oid
