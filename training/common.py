"""Shared training machinery: one seeded step loop for every trainer, on any device; export.

* Determinism: batch `step` is drawn from `step_generator(seed, rank, step, device)`, a
  `torch.Generator` on the training device, so a resumed run sees exactly the batches an
  uninterrupted run would, and a CPU run repeats bit for bit.
* Schedule: `--steps N` (linear warm-up, cosine to 5%) or `--minutes M` (the same shape over the wall
  clock; the steps reached are recorded, so `--steps N` reruns it without a clock).
* Checkpoints: `runs/<name>/checkpoint.pt` (model, optimiser, EMA, step, clock), written every
  `ckpt_every` steps and at the end; a rerun resumes from it unless `--fresh`. The trainer's validation
  figure (`validate(model)`, on the validation split) is printed and kept at each checkpoint and at
  the end.
* Multi-process: under `torchrun --nproc_per_node=N` the model is wrapped in PyTorch DDP (gloo on CPU,
  nccl on GPU); each rank draws its own batches and rank 0 alone writes checkpoints and weights.
* Export: `model.safetensors` + `config.json` (with the lineage) + `record.json` (the validation
  figures) into `--out-dir` (a candidate for `training.promote`) or `zoo/weights/<name>/`, and the
  files' sha256/size into `zoo/weights/manifest.json` (the registry reads it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as dist
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from zoo.hub import file_record
from zoo.lineage import chain_before, lineage_for, new_run
from zoo.registry import WEIGHTS_DIR, get_entry, read_manifest, write_manifest_entry

RUNS_DIR = Path(os.environ.get("ZOO_RUNS", "runs"))


@dataclass
class TrainConfig:
    steps: int = 3000
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    seed: int = 0
    ckpt_every: int = 250
    log_every: int = 50
    device: str = "cpu"
    data: str | None = None
    fresh: bool = False
    out_dir: str | None = None  # default: the package's weights folder
    limit: int | None = None  # use only the first N training images (smoke tests)
    stop_at: int | None = None  # checkpoint and exit at this step (split a long run across sessions)
    run_dir: str | None = None  # checkpoint folder; default runs/<name>
    init: str | None = (
        None  # start from the weights in this safetensors file (fine-tuning) instead of a random init
    )
    ema: float | None = None  # keep an exponential moving average of the weights (decay) and return it
    init_new: str | None = None  # comma-separated module prefixes the --init file may lack (added blocks)
    minutes: float | None = None  # a wall-clock budget instead of `steps` (the schedule spans the clock)
    optimizer: str = "adamw"  # or "sgd" (Nesterov momentum 0.9), as the classifier's GPU recipe
    model_kwargs: dict[str, Any] | None = None  # --model-kwargs: overrides of the registry's network


def add_common_args(parser: argparse.ArgumentParser, defaults: TrainConfig) -> None:
    parser.add_argument("--steps", type=int, default=defaults.steps, help="optimiser steps")
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="a wall-clock budget instead of --steps: the schedule spans the clock and the steps reached "
        "are recorded (rerun with --steps N to repeat it without a clock)",
    )
    parser.add_argument("--optimizer", choices=("adamw", "sgd"), default=defaults.optimizer)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate (cosine decay)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--ckpt-every", type=int, default=defaults.ckpt_every)
    parser.add_argument("--device", default=defaults.device)
    parser.add_argument("--data", default=None, help="dataset path (IDX folder, CIFAR batches, image folder)")
    parser.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    parser.add_argument("--out-dir", default=None, help="write weights here instead of zoo/weights/<name>")
    parser.add_argument(
        "--ema",
        type=float,
        default=defaults.ema,
        help="export an exponential moving average of the weights (decay, e.g. 0.999)",
    )
    parser.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument(
        "--stop-at", type=int, default=None, help="checkpoint and exit at this step; rerun to resume"
    )
    parser.add_argument("--run-dir", default=None, help="checkpoint folder (default runs/<name>)")
    parser.add_argument(
        "--init",
        default=None,
        metavar="SAFETENSORS",
        help="start from these weights (e.g. the shipped ones) instead of a random init; "
        "a checkpoint to resume wins",
    )
    parser.add_argument(
        "--init-new",
        default=None,
        metavar="PREFIXES",
        help="modules (comma-separated name prefixes, e.g. context) that the --init file may lack: "
        "blocks added to a trained net keep their fresh initialisation, residual blocks zeroed to start "
        "as the identity; every other key must match",
    )
    parser.add_argument(
        "--model-kwargs",
        nargs="+",
        default=None,
        metavar="KEY=VALUE",
        help="build the network with these arguments instead of the registry's (as timm's train.py), "
        "e.g. blocks=6 up_blocks=2; written into config.json",
    )


def config_from_args(args: argparse.Namespace, defaults: TrainConfig) -> TrainConfig:
    cfg = TrainConfig(**{k: getattr(defaults, k) for k in TrainConfig.__dataclass_fields__})
    for key in (
        "steps",
        "batch_size",
        "lr",
        "seed",
        "ckpt_every",
        "device",
        "data",
        "fresh",
        "out_dir",
        "limit",
        "stop_at",
        "run_dir",
        "init",
        "ema",
        "init_new",
        "minutes",
        "optimizer",
    ):
        setattr(cfg, key, getattr(args, key))
    cfg.model_kwargs = parse_model_kwargs(args.model_kwargs) if args.model_kwargs else None
    return cfg


def parse_model_kwargs(pairs: list[str]) -> dict[str, Any]:
    """["blocks=6", "up_blocks=2"] -> {"blocks": 6, "up_blocks": 2}; values are JSON (else strings)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--model-kwargs: expected KEY=VALUE, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def network_kwargs(name: str, cfg: TrainConfig) -> dict[str, Any]:
    """The registry's model_kwargs for `name`, with the run's --model-kwargs over them."""
    return {**get_entry(name).model_kwargs, **(cfg.model_kwargs or {})}


def build_model(name: str, cfg: TrainConfig) -> torch.nn.Module:
    """The network a run trains: the registry's builder with network_kwargs (a clear error for an
    argument the builder does not take)."""
    entry = get_entry(name)
    try:
        return entry.builder(**network_kwargs(name, cfg))
    except TypeError as e:
        if not cfg.model_kwargs:
            raise
        raise SystemExit(
            f"--model-kwargs {cfg.model_kwargs}: {e}; the registry builds {name} with {entry.model_kwargs}"
        ) from e


def dist_info() -> tuple[int, int]:
    """(rank, world_size); initialises the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = (
            "nccl" if torch.cuda.is_available() and os.environ.get("ZOO_DDP_BACKEND") != "gloo" else "gloo"
        )
        dist.init_process_group(backend)
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def step_generator(seed: int, rank: int, step: int, device: torch.device | str = "cpu") -> torch.Generator:
    """The random numbers of one training step, on the training device: a function of (seed, rank, step)."""
    g = torch.Generator(device=device)
    g.manual_seed(int(np.random.SeedSequence([seed, rank, step]).generate_state(1, np.uint64)[0]) >> 1)
    return g


def load_init_weights(
    model: torch.nn.Module,
    path: str,
    name: str,
    device: str = "cpu",
    verbose=True,
    new: str | None = None,
) -> None:
    """--init: the weights of a safetensors file into `model`, strictly (another architecture is an error).

    `new` (comma-separated prefixes): keys under them may be missing from the file (a block added to a
    trained net); they keep the model's own initialisation. Any other missing or extra key is an error.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"--init {path}: no such file (give a .safetensors file, e.g. "
            f"zoo/weights/{name}/model.safetensors)"
        )
    try:  # strict: weights of another architecture are an error, not a partial load
        state = load_file(path, device=device)
        prefixes = tuple(p.strip() + "." for p in new.split(",") if p.strip()) if new else ()
        if prefixes:
            own = model.state_dict()
            if not any(k.startswith(prefixes) for k in own):
                raise ValueError(f"--init-new {new}: the model has no module of that name")
            state = {**{k: v for k, v in own.items() if k.startswith(prefixes) and k not in state}, **state}
        model.load_state_dict(state)
        start_new_modules_as_identity(model, prefixes)
    except (RuntimeError, OSError, ValueError) as e:
        detail = " ".join(str(e).split())[:300]
        raise ValueError(f"--init {path}: these weights do not fit {name}: {detail}") from e
    if verbose:
        print(f"[{name}] starting from the weights in {path}")


def start_new_modules_as_identity(model: torch.nn.Module, prefixes: tuple[str, ...]) -> None:
    """Blocks added by --init-new that can start as the identity (timm's `zero_init_last()`: a residual
    block whose last layer is zeroed) do, so the grown net first computes what the trained one did."""
    for mod_name, module in model.named_modules():
        if (mod_name + ".").startswith(prefixes) and hasattr(module, "zero_init_last"):
            module.zero_init_last()


def train_loop(
    name: str,
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, torch.Generator], torch.Tensor],
    cfg: TrainConfig,
    on_start: Callable[[int], None] | None = None,
    validate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    record: dict[str, Any] | None = None,
) -> torch.nn.Module | None:
    """Optimise `model` for cfg.steps (or cfg.minutes); `loss_fn(model, g)` draws its own batch from the
    step's generator `g` (on the training device).

    `on_start(step)` is told the step the loop starts at (0, or where a checkpoint resumes).
    `validate(model) -> {figure: value}` (validation split, eval mode) runs at each checkpoint and at
    the end; `record`, if given, receives {"steps", "seconds", "final_loss", "validation": [...]}.

    Returns the trained model in eval mode, or None when `cfg.stop_at` ended the run early.
    """
    rank, world = dist_info()
    device = torch.device(
        cfg.device if cfg.device != "cuda" else f"cuda:{rank % max(1, torch.cuda.device_count())}"
    )
    torch.manual_seed(cfg.seed)
    model.to(device)
    run_dir = Path(cfg.run_dir) if cfg.run_dir else RUNS_DIR / name
    ckpt_path = run_dir / "checkpoint.pt"
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(
            model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay
        )
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start, clock = 0, 0.0  # the step and the training seconds spent before this process
    history: list[dict[str, Any]] = []
    resuming = ckpt_path.exists() and not cfg.fresh
    if cfg.init and not resuming:
        load_init_weights(model, cfg.init, name, str(device), verbose=rank == 0, new=cfg.init_new)
    if resuming:
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, clock = int(state["step"]), float(state.get("clock", 0.0))
        history = json.loads(state.get("history", "[]"))
        if rank == 0:
            print(f"[{name}] resuming from {ckpt_path} at step {start}/{cfg.steps}")
    ema = None
    if cfg.ema:  # weights and BN statistics averaged; the average is what the run returns and exports
        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
        if resuming and "ema" in state:
            ema.load_state_dict(state["ema"])
    if on_start is not None:
        on_start(start)
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    net.train()
    budget = 60.0 * cfg.minutes if cfg.minutes else None

    def progress(step: int, seconds: float) -> float:
        return seconds / budget if budget else step / max(1, cfg.steps)

    def lr_at(step: int, seconds: float) -> float:  # linear warm-up, then cosine decay to 5%
        if budget:  # over the clock: 3% warm-up
            t, warm = seconds / budget, 0.03
            if t < warm:
                return cfg.lr * min(1.0, (t + 1e-3) / warm)
            u = (t - warm) / (1 - warm)
        else:  # over the steps: up to 200 warm-up steps
            warm = max(1, min(200, cfg.steps // 20))
            if step < warm:
                return cfg.lr * (step + 1) / warm
            u = (step - warm) / max(1, cfg.steps - warm)
        return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, u))))

    def evaluated(step: int) -> None:
        if validate is None or rank != 0:
            return
        shown = ema.module if ema is not None else model
        was_training = shown.training
        shown.eval()
        with torch.no_grad():
            figures = {k: float(v) for k, v in validate(shown).items()}
        shown.train(was_training)
        history.append({"step": step, **figures})
        print(f"[{name}] step {step} validation " + ", ".join(f"{k} {v:.5g}" for k, v in figures.items()))

    def save(step: int, seconds: float) -> None:
        if rank != 0:
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        tmp = ckpt_path.with_suffix(".tmp")
        state = {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "step": step,
            "clock": seconds,
            "history": json.dumps(history),
        }
        if ema is not None:
            state["ema"] = ema.state_dict()
        torch.save(state, tmp)
        tmp.replace(ckpt_path)  # atomic: a kill mid-write never corrupts the checkpoint

    end = min(cfg.steps, cfg.stop_at) if cfg.stop_at and not budget else cfg.steps
    total = None if budget else cfg.steps
    bar = tqdm(initial=start, total=total, desc=name, disable=rank != 0, mininterval=2)
    running, t0, step = None, time.time(), start
    while (progress(step, clock + time.time() - t0) < 1) if budget else step < end:
        if budget and cfg.stop_at and step >= cfg.stop_at:
            break
        lr = lr_at(step, clock + time.time() - t0)
        for group in opt.param_groups:
            group["lr"] = lr
        loss = loss_fn(net, step_generator(cfg.seed, rank, step, device))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"[{name}] loss became {loss.item()} at step {step}; lower --lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        if ema is not None:
            ema.update_parameters(model)
        step += 1
        bar.update(1)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % cfg.log_every == 0:
            bar.set_postfix(loss=f"{running:.5f}", lr=f"{lr:.1e}")
        if step % cfg.ckpt_every == 0:
            evaluated(step)
            save(step, clock + time.time() - t0)
    bar.close()
    seconds = clock + time.time() - t0
    finished = step >= cfg.steps if not budget else progress(step, seconds) >= 1
    if not history or history[-1]["step"] != step:
        evaluated(step)
    save(step, seconds)
    if rank == 0:
        print(f"[{name}] trained {step - start} steps in {time.time() - t0:.0f}s, final loss {running}")
    if record is not None:
        record.update(steps=step, seconds=round(seconds, 1), final_loss=running, validation=history)
    if not finished:
        print(f"[{name}] stopped at step {step} (--stop-at); rerun the same command to resume")
        return None
    if budget:
        cfg.steps = step  # what the clock allowed: recorded, and what `--steps` repeats
    if ema is not None:
        model.load_state_dict(ema.module.state_dict())
    model.eval()
    return model


def export_weights(
    name: str,
    model: torch.nn.Module,
    cfg: TrainConfig,
    data_description: str,
    extra: dict[str, Any] | None = None,
    command: str | None = None,
    record: dict[str, Any] | None = None,
) -> Path:
    """Write model.safetensors + config.json and record their hashes in the manifest (rank 0 only).

    config.json gets the `lineage` of the weights (`zoo.lineage`): this run (`command`, the exact
    command line; None: not recorded) appended to the chain that made its --init file, with its last
    validation figures. `record` (what `train_loop` filled in) is written beside as record.json."""
    rank = dist.get_rank() if dist.is_initialized() else 0
    out = Path(cfg.out_dir) if cfg.out_dir else WEIGHTS_DIR / name
    if rank != 0:
        return out
    entry = get_entry(name)
    out.mkdir(parents=True, exist_ok=True)
    # Hash the starting weights before saving: they may be the very file about to be replaced.
    init_record = (
        {
            "init": {
                "file": Path(cfg.init).name,
                "sha256": file_record(Path(cfg.init)).sha256,
                **({"new_modules": cfg.init_new} if cfg.init_new else {}),
            }
        }
        if cfg.init
        else {}
    )
    run = new_run(
        command=command,
        data={"description": data_description, "split": "train"},
        device=str(cfg.device),
        steps=cfg.steps,
        seed=cfg.seed,
        init=cfg.init,
    )
    if record and record.get("validation"):
        run["validation"] = record["validation"][-1]
    if cfg.minutes:
        run["minutes"] = cfg.minutes  # a clocked run: `--steps <steps>` repeats it without the clock
    earlier = chain_before(cfg.init)  # read before the file may be replaced below
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # One metadata key only: a multi-key metadata map is written in hash order, so the bytes (and the
    # sha256 in the manifest) would change from run to run.
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = {  # PyTorchModelHubMixin's layout: the init arguments at the top level, the zoo's keys beside
        **json.loads(json.dumps(network_kwargs(name, cfg))),
        "name": name,
        "architecture": entry.builder.__name__,
        "task": entry.task,
        "data": data_description,
        "training": {
            **{k: getattr(cfg, k) for k in ("steps", "batch_size", "lr", "seed", "limit")},
            **({"ema": cfg.ema} if cfg.ema else {}),  # the exported weights are then the average
        },
        **init_record,
        **(extra or {}),
        "lineage": lineage_for(run, earlier, out / "model.safetensors"),
    }
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    if record is not None and cfg.out_dir is not None:  # a candidate's figures, beside its weights
        (out / "record.json").write_text(json.dumps({"name": name, **record}, indent=2) + "\n")
    if cfg.out_dir is None:  # only the shipped folder defines the registry's hashes
        record_shipped(name)
    print(
        f"[{name}] wrote {out / 'model.safetensors'} "
        f"({(out / 'model.safetensors').stat().st_size / 1e6:.2f} MB)"
    )
    return out


SHIPPED_FILES = ("model.safetensors", "config.json")  # what a model's weights folder holds


def record_shipped(name: str, weights_dir: Path | None = None, manifest: Path | None = None) -> None:
    """Record the sha256 and size of <weights_dir>/<name>/{model.safetensors,config.json} in the
    manifest (default: the package's), keeping the entry's Hub location (repo_id, pinned revision)."""
    entry = get_entry(name)
    folder = Path(weights_dir if weights_dir is not None else WEIGHTS_DIR) / name
    where = (manifest,) if manifest is not None else ()  # the default path is read at call time
    old = read_manifest(*where).get(name, {})
    files = {}
    for fn in SHIPPED_FILES:
        rec = file_record(folder / fn)
        files[fn] = {"sha256": rec.sha256, "size": rec.size}
    record = {
        "repo_id": old.get("repo_id", entry.repo_id),
        "revision": old.get("revision", entry.revision),
        "files": files,
    }
    write_manifest_entry(name, record, *where)


def write_report(out: Path, text: str, record: Any) -> None:
    """A measurement script's report: OUT.md (the markdown `text`) and OUT.json (`record`, the figures
    behind it), its folder created if needed."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
