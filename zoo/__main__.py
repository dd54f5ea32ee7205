"""Command line: python -m zoo {list,info,download,verify,export,run}.

python -m zoo list [PATTERN]      registered models (fnmatch pattern)
python -m zoo info NAME           card summary, metrics, where the weights resolve from
python -m zoo download NAME       fetch into the Hugging Face cache (progress bar)
python -m zoo verify [NAME]       exit 1 exactly when zoo.load(NAME) would fail on its files
                                  (then also re-hashes every other local copy)
python -m zoo export NAME --out F  the model's graph as ONNX, checked against PyTorch (onnxruntime)
python -m zoo run NAME IN... --out D  restore files / folders / globs into D (see zoo/cli_run.py)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import cli_export, cli_run, hub, list_models
from .cards import card_metrics, load_card
from .data import DatasetNotFoundError
from .registry import WEIGHTS_DIR, get_entry


def _cmd_list(args: argparse.Namespace) -> int:
    names = list_models(args.pattern)
    if not names:
        print(f"no model matches {args.pattern!r}; registered: {', '.join(list_models())}", file=sys.stderr)
        return 1
    width = max((len(n) for n in names), default=4)
    entries = [get_entry(name) for name in names]
    task_w = max(len(e.task) for e in entries)
    lic_w = max(len(e.license) for e in entries)
    print(f"{'name':<{width}}  {'task':<{task_w}}  {'licence':<{lic_w}}  summary")
    for entry in entries:
        print(f"{entry.name:<{width}}  {entry.task:<{task_w}}  {entry.license:<{lic_w}}  {entry.summary}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    entry = get_entry(args.name)
    print(
        f"name:      {entry.name}\ntask:      {entry.task}\nlicence:   {entry.license}\n"
        f"summary:   {entry.summary}"
    )
    print(f"hub:       {entry.repo_id} @ {entry.revision}")
    for rec in entry.files:
        print(f"file:      {rec.filename}  {rec.size} bytes  sha256 {rec.sha256}")
    try:
        resolved = hub.resolve(entry, allow_download=False)
        print(f"weights:   {resolved.source} ({resolved.paths['model.safetensors'].parent}), verified")
    except hub.WeightsError as exc:
        print(f"weights:   not available locally: {exc}")
    try:
        card = load_card(entry.card_path)
        print(f"card:      {entry.card_path}  (license {card.data.license})")
        for metric, value in card_metrics(card).items():
            print(f"  {metric}: {value}")
    except FileNotFoundError as exc:
        print(f"card:      {exc}")
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    entry = get_entry(args.name)
    if hub.hf_offline():
        print("HF_HUB_OFFLINE=1 is set: unset it to download.", file=sys.stderr)
        return 1
    revision = args.revision or entry.revision
    try:
        resolved = hub.hub_source(entry, revision, local_only=False, force=args.force)
    except hub.WeightsIntegrityError as exc:
        if args.force:
            raise
        print(f"{exc}\nrerun with --force to download the file again", file=sys.stderr)
        return 1
    except hub.WeightsError:
        raise
    except Exception as exc:  # network, missing repo, auth: one line, not a traceback
        print(f"error: {entry.repo_id}@{revision}: {hub.describe_network_error(exc)}", file=sys.stderr)
        return 1
    print(f"{entry.name}: downloaded and verified into {resolved.paths['model.safetensors'].parent}")
    return 0


def _local_copies(name: str) -> list[tuple[str, Path]]:
    """Every local directory that claims to hold this model's files (found, not yet hashed)."""
    from huggingface_hub import try_to_load_from_cache

    entry = get_entry(name)
    places = []
    if os.environ.get("ZOO_HOME"):
        places.append(("ZOO_HOME", Path(os.environ["ZOO_HOME"]) / name))
    places.append(("package", WEIGHTS_DIR / name))
    if entry.files:
        cached = try_to_load_from_cache(
            entry.repo_id, entry.files[0].filename, cache_dir=hub.hf_cache_dir(), revision=entry.revision
        )
        if isinstance(cached, str):
            places.append(("hf-cache", Path(cached).parent))
    return places


def _check_model(name: str) -> tuple[list[str], Path | None]:
    """(problems, the folder load would use): the same resolution as `load` (ZOO_HOME, package, Hugging
    Face cache; no download), the config.json check, and the pipeline's own extra files (the encoder)."""
    entry = get_entry(name)
    try:
        resolved = hub.resolve(entry, allow_download=False)
        hub.model_kwargs_from_config(entry, hub.read_config(resolved), resolved)
        entry.pipeline_cls.verify_dependencies()
    except (hub.WeightsError, ValueError, OSError, ImportError) as exc:
        return [str(exc)], None
    return [], next(iter(resolved.paths.values())).parent


def verify_model(name: str) -> list[str]:
    """Problems that would make `zoo.load(name)` fail on integrity or missing files ([] = it would load)."""
    return _check_model(name)[0]


def _cmd_verify(args: argparse.Namespace) -> int:
    names = [args.name] if args.name else list_models()
    failures = 0
    for name in names:
        problems, used = _check_model(name)
        failures += bool(problems)
        print(f"{'FAIL' if problems else 'ok  '}  {name}" + (f": {problems[0]}" if problems else ""))
        for source, folder in _local_copies(name):  # the other copies: load checked `used` already
            if folder == used:
                continue
            for rec in get_entry(name).files:
                path = folder / rec.filename
                if path.is_file():
                    try:
                        hub.verify_file(get_entry(name), rec, path, source)
                    except hub.WeightsIntegrityError as exc:
                        failures += 1
                        print(f"FAIL  {exc}")
    print(f"{len(names)} model(s) checked, {failures} failure(s)")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="zoo", description="The restoration model zoo (also `python -m zoo`)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list registered models")
    p.add_argument("pattern", nargs="?", default="*")
    p.set_defaults(fn=_cmd_list)
    p = sub.add_parser("info", help="card summary, metrics and weight source")
    p.add_argument("name")
    p.set_defaults(fn=_cmd_info)
    p = sub.add_parser("download", help="download a model's files into the Hugging Face cache")
    p.add_argument("name")
    p.add_argument("--revision", default=None)
    p.add_argument(
        "--force", action="store_true", help="download again, replacing a cached file that fails verification"
    )
    p.set_defaults(fn=_cmd_download)
    p = sub.add_parser("verify", help="re-hash every local copy of the weights")
    p.add_argument("name", nargs="?")
    p.set_defaults(fn=_cmd_verify)
    cli_export.add_parser(sub)
    cli_run.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except (ValueError, hub.WeightsError, DatasetNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
