"""Trainer for nca-fmnist: phase 1 the classifier on clean Fashion-MNIST, phase 2 the NCA
with stochastic cell updates, phase 2b the NCA fine-tuned with synchronous updates (every
cell fires every step, as at inference), phase 3 the classifier fine-tuned on clean images
plus NCA repairs (so it reads repaired images as well as clean ones).

    python -m training.train nca-fmnist                       # all phases, then export
    python -m training.train nca-fmnist --classifier-steps 100 --steps 50 --sync-steps 50 --limit 512  # smoke
    # phases as separate processes, then one to finish
    python -m training.train nca-fmnist --phases classifier
    python -m training.train nca-fmnist --phases nca-sync --sync-steps 2400 --init-nca OLD.safetensors
    python -m training.trainers.nca_fmnist                    # the masked-input CNN baseline
    python -m training.train nca-fmnist --phases classifier,nca-sync,classifier-ft --sync-steps 2400 \
        --init-nca OLD.safetensors

The registry's flip_tta=True (test-time mirror averaging of the classifier) adds no weights.
Each phase is a resumable `train_loop` with its own checkpoint folder
(runs/nca-fmnist/{classifier,nca,nca-sync,classifier-ft}); a finished phase is skipped on a rerun.
The classifier (`build_classifier`: the registry's small ResNet, or the SmallCNN) trains with
per-image crops, flips, random erasing, label smoothing and a weight EMA (`trainers/fmnist_batches.py`,
made on the training device; `--optimizer sgd` gives the classifier recipe of the GPU runs).
Data: the first 55,000 training images of Fashion-MNIST (Debian `dataset-fashion-mnist`
or --data PATH); the validation figures (accuracy clean and at mask ratio 0.4 after the automaton's
repair) are measured on the other 5,000. The NCA sees random mask ratios in [0.1, 0.9] (more of them high) and random step
counts (12-28 in phase 2, 16-40 in phase 2b), so it stays stable past the 20 steps used
at inference. Why phase 2b: an automaton trained only with half the cells firing per step
runs about twice as fast when every cell fires (inference is deterministic), overshoots,
and degrades after ~14 steps; the card's "PSNR by NCA steps" table shows the result.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from zoo import data
from zoo.pipelines.nca_fmnist import build_classifier, flip_averaged
from zoo.protocols.nca_fmnist import MASKED_CNN_WEIGHTS, committed_masked_cnn, labeller
from zoo.registry import WEIGHTS_DIR, get_entry

from ..common import RUNS_DIR, TrainConfig, build_model, load_init_weights, network_kwargs, train_loop
from . import batches as B
from .fmnist_batches import (
    LABEL_SMOOTHING,
    MASK_RATIOS,
    classifier_loss,
    finetune_loss,
    mask_ratios,
    masked_cnn_loss,
    nca_loss,
)

DEFAULTS = {"nca-fmnist": TrainConfig(steps=2000, batch_size=32, lr=2e-3, ckpt_every=100)}
CLASSIFIER_DEFAULT_STEPS = 4500
FINETUNE_DEFAULT_STEPS = 1000
SYNC_DEFAULT_STEPS = 3000
SYNC_STEPS_RANGE = (16, 40)
SYNC_LR = 1e-3
CLASSIFIER_BATCH = 128
CLASSIFIER_EMA = 0.999
REPAIR_BANK_SIZE = 24000
PHASES = ("classifier", "nca", "nca-sync", "classifier-ft")
SHIPPED_WEIGHTS = WEIGHTS_DIR / "nca-fmnist" / "model.safetensors"


def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--classifier-steps",
        type=int,
        default=CLASSIFIER_DEFAULT_STEPS,
        help=f"classifier optimiser steps (batch {CLASSIFIER_BATCH})",
    )
    parser.add_argument(
        "--finetune-steps",
        type=int,
        default=FINETUNE_DEFAULT_STEPS,
        help="classifier fine-tuning steps on clean + NCA-repaired images",
    )
    parser.add_argument(
        "--sync-steps",
        type=int,
        default=SYNC_DEFAULT_STEPS,
        help="NCA fine-tuning steps with synchronous cell updates (phase 2b)",
    )
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"comma-separated phases to run, of {','.join(PHASES)}; run them as separate processes "
        "in parallel, then once more with all of them (finished phases are read from their checkpoints)",
    )
    parser.add_argument(
        "--init-nca",
        default=None,
        help="start the automaton from the nca.* weights of this safetensors file (e.g. the shipped "
        "zoo/weights/nca-fmnist/model.safetensors); the classifier starts fresh",
    )
    parser.add_argument(
        "--init-classifier",
        default=None,
        help="start the classifier from this safetensors file: the classifier.* weights of an nca-fmnist "
        "file, or a bare classifier's state dict",
    )


VALIDATION_N = 500  # validation images behind the figures at each checkpoint
VALIDATION_RATIO = 0.4


def images_of(split: str, cfg: TrainConfig, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, 1, 28, 28), labels (N,)) of one Fashion-MNIST split, on the training device."""
    x, y = data.load_fashion_mnist(split, cfg.data)
    if limit:
        x, y = x[:limit], y[:limit]
    return torch.from_numpy(x)[:, None].to(cfg.device), torch.from_numpy(y).to(cfg.device)


def training_images(cfg: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    return images_of("train", cfg, cfg.limit)


def validators(cfg: TrainConfig, flip_tta: bool, n: int | None = None) -> dict:
    """The validation figure of each phase on the first `n` validation images: the classifier's clean
    accuracy, the automaton's error on the missing pixels at ratio 0.4, and the pipeline's accuracy
    after repair at that ratio ("pipeline": a function of the whole model). `flip_tta`: the
    classifier is scored with the registry's mirror averaging, as the pipeline runs it."""
    x, y = images_of("validation", cfg, n or min(VALIDATION_N, cfg.limit or VALIDATION_N))
    g = torch.Generator(device=x.device).manual_seed(2024)
    missing = B.random_pixels_missing(x, g, torch.full((len(x), 1, 1, 1), VALIDATION_RATIO, device=x.device))
    known = 1 - missing

    def accuracy(classify, images) -> float:  # classify: (N, 1, 28, 28) -> logits (N, 10)
        return float((classify(images).argmax(1) == y).float().mean())

    def missing_mse(repaired) -> float:
        return float((((repaired.clamp(0, 1) - x) ** 2) * missing).sum() / missing.sum())

    def classifier_figure(net) -> dict:
        return {"accuracy_clean": accuracy(lambda im: flip_averaged(net, im) if flip_tta else net(im), x)}

    def nca_figure(net) -> dict:
        return {"missing_mse_ratio0.4": missing_mse(net(x * known, known, steps=20))}

    def pipeline_figure(whole) -> dict:
        repaired = whole.nca(x * known, known, steps=20).clamp(0, 1)
        return {
            "accuracy_clean": accuracy(whole.classify, x),
            "accuracy_ratio0.4": accuracy(whole.classify, repaired),
            "missing_mse_ratio0.4": missing_mse(repaired),
        }

    return {"classifier": classifier_figure, "nca": nca_figure, "pipeline": pipeline_figure}


def validator(name: str, cfg: TrainConfig, args=None, n: int | None = None):
    """`validate(model) -> {figure: value}`: the whole model's figures on validation images."""
    return validators(cfg, bool(network_kwargs(name, cfg).get("flip_tta")), n)["pipeline"]


def _phase_cfg(cfg: TrainConfig, base: Path, phase: str, **changes) -> TrainConfig:
    return TrainConfig(**{**cfg.__dict__, "run_dir": str(base / phase), **changes})


def load_part(module: torch.nn.Module, path: str | Path, prefix: str, what: str) -> None:
    """The `prefix`* tensors of a shipped nca-fmnist file into `module` (strict: the same network)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{what} {path}: no such file")
    part = {k[len(prefix) :]: v for k, v in load_file(str(path)).items() if k.startswith(prefix)}
    try:
        module.load_state_dict(part)
    except RuntimeError as e:
        raise ValueError(f"{what} {path}: its {prefix}* weights do not fit this network: {e}") from e
    which = f"{prefix}* weights" if prefix else "weights"
    print(f"[nca-fmnist] {type(module).__name__} starts from the {which} of {path}")


def load_nca_init(model: torch.nn.Module, path: str) -> None:
    """--init-nca: the nca.* tensors of a shipped nca-fmnist file into model.nca."""
    load_part(model.nca, path, "nca.", "--init-nca")


def load_classifier_init(model: torch.nn.Module, path: str) -> None:
    """--init-classifier: the classifier.* tensors of an nca-fmnist file, or a bare classifier file."""
    keys = load_file(str(path)).keys() if Path(path).is_file() else ()
    prefix = "classifier." if any(k.startswith("classifier.") for k in keys) else ""
    load_part(model.classifier, path, prefix, "--init-classifier")


def classifier_origin(path: str) -> str:
    """The data line's account of --init-classifier: its file, and the recipe recorded in the .json that
    `training.fmnist_gpu` writes beside it (if there)."""
    record = Path(path).with_suffix(".json")
    text = f"classifier started from {Path(path).name}"
    if record.is_file():
        r = json.loads(record.read_text())
        recipe = r["recipe"]
        text += (
            f" (training.fmnist_gpu --kind {r['kind']}: {r['steps']:,} steps of batch {recipe['batch']}, "
            f"{r['epochs']} epochs, on {r['device']}; SGD lr {recipe['lr']}, weight EMA {recipe['ema']}, "
            + (
                "half clean images, half repairs by the automaton)"
                if r["kind"] == "classifier"
                else "masked inputs)"
            )
        )
    return text + "; "


def train(name: str, cfg: TrainConfig, args: argparse.Namespace):
    """Runs the phases named in --phases; exports only when every phase with steps > 0 was run."""
    model = build_model(name, cfg).to(cfg.device)
    images, labels = training_images(cfg)
    check = validators(cfg, model.flip_tta)
    records: dict[str, dict] = {}

    def run_phase(phase: str, module, loss, phase_cfg: TrainConfig, figure: str) -> bool:
        """One phase's resumable loop, its record kept; False when --stop-at ended it early."""
        records[phase] = {}
        out = train_loop(
            f"{name}/{phase}", module, loss, phase_cfg, validate=check[figure], record=records[phase]
        )
        return out is not None

    base = Path(cfg.run_dir) if cfg.run_dir else RUNS_DIR / name
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        raise SystemExit(f"--phases: unknown phase(s) {', '.join(unknown)}; choose from {', '.join(PHASES)}")
    init = cfg.init  # --init: the whole model (classifier + automaton) starts from this file
    if init:
        load_init_weights(model, init, name, new=cfg.init_new)
        cfg = TrainConfig(**{**cfg.__dict__, "init": None})  # the phases must not load it again
    if args.init_nca:
        load_nca_init(model, args.init_nca)
    if args.init_classifier:
        load_classifier_init(model, args.init_classifier)
    wanted = {"classifier": not (init or args.init_classifier), "nca": not (args.init_nca or init)}
    wanted.update({"nca-sync": bool(args.sync_steps), "classifier-ft": bool(args.finetune_steps)})
    done = []
    if "classifier" in phases:
        c_cfg = _phase_cfg(
            cfg,
            base,
            "classifier",
            steps=args.classifier_steps,
            batch_size=CLASSIFIER_BATCH,
            lr=2e-3,
            ema=CLASSIFIER_EMA,
        )
        loss = classifier_loss(images, labels, CLASSIFIER_BATCH)
        if not run_phase("classifier", model.classifier, loss, c_cfg, "classifier"):
            return None
        done.append(f"classifier: {args.classifier_steps} steps of batch {CLASSIFIER_BATCH} on clean images")
    if "nca" in phases:
        nca_cfg = _phase_cfg(cfg, base, "nca")
        if not run_phase("nca", model.nca, nca_loss(images, cfg.batch_size), nca_cfg, "nca"):
            return None
        done.append(
            f"NCA: {cfg.steps} steps of batch {cfg.batch_size}, half the cells firing, 12-28 random steps"
        )
    if "nca-sync" in phases and args.sync_steps:
        sync_cfg = _phase_cfg(cfg, base, "nca-sync", steps=args.sync_steps, lr=SYNC_LR)
        model.nca.fire_rate = 1.0  # every cell fires every step, as at inference
        loss = nca_loss(images, cfg.batch_size, steps_range=SYNC_STEPS_RANGE)
        if not run_phase("nca-sync", model.nca, loss, sync_cfg, "nca"):
            return None
        lo, hi = SYNC_STEPS_RANGE
        done.append(
            f"NCA: {args.sync_steps} steps of batch {cfg.batch_size} with every cell firing, {lo}-{hi} "
            "random steps"
        )
    if "classifier-ft" in phases and args.finetune_steps:
        bank, bank_labels = repair_bank(model.nca.eval(), images, labels, cfg.seed)
        ft_cfg = _phase_cfg(
            cfg,
            base,
            "classifier-ft",
            steps=args.finetune_steps,
            batch_size=CLASSIFIER_BATCH,
            lr=1e-3,
            ema=CLASSIFIER_EMA,
        )
        loss = finetune_loss(images, labels, bank, bank_labels, CLASSIFIER_BATCH)
        if not run_phase("classifier-ft", model.classifier, loss, ft_cfg, "classifier"):
            return None
        done.append(
            f"classifier fine-tuned {args.finetune_steps} steps on half clean images, half NCA repairs of "
            f"{min(REPAIR_BANK_SIZE, len(images)):,} training images"
        )
    missing = [p for p, want in wanted.items() if want and p not in phases]
    if missing:
        print(f"[{name}] phases {', '.join(missing)} not run in this process: nothing exported")
        return None
    lo, hi = MASK_RATIOS
    description = (
        f"Fashion-MNIST training split ({len(images):,} images"
        f"{' from ' + cfg.data if cfg.data else ', Debian dataset-fashion-mnist'}); "
        + (f"started from {Path(init).name}; " if init else "")
        + (f"automaton started from {Path(args.init_nca).name}; " if args.init_nca else "")
        + (classifier_origin(args.init_classifier) if args.init_classifier else "")
        + ("; ".join(done) or "no steps trained: the tensors combined as loaded")
        + f". Classifier augmentation: random 2-pixel crops, flips, random erasing, label smoothing "
        f"{LABEL_SMOOTHING}, weight EMA {CLASSIFIER_EMA}. Mask ratios in [{lo}, {hi}], density rising "
        f"towards {hi}"
    )
    model.eval()
    with torch.no_grad():
        final = {"step": sum(r.get("steps", 0) for r in records.values()), **check["pipeline"](model)}
    print(f"[{name}] validation " + ", ".join(f"{k} {v:.4f}" for k, v in final.items() if k != "step"))
    record = {"phases": records, "validation": [final]}
    return model, description, record


def repair_bank(nca: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int, steps: int = 20):
    """NCA repairs of REPAIR_BANK_SIZE random training images at random mask ratios (fixed by `seed`)."""
    g = torch.Generator(device=images.device).manual_seed(seed * 1000 + 7)
    idx = torch.randperm(len(images), generator=g, device=images.device)[: min(REPAIR_BANK_SIZE, len(images))]
    x = images[idx]
    known = 1 - B.random_pixels_missing(x, g, mask_ratios(g, len(x)))
    return nca.repair(x * known, known, steps=steps), labels[idx]


def train_masked_cnn(
    cfg: TrainConfig,
    steps: int = CLASSIFIER_DEFAULT_STEPS,
    finetune_steps: int = FINETUNE_DEFAULT_STEPS,
    init: str | Path | None = SHIPPED_WEIGHTS,
) -> torch.nn.Module:
    """Baseline for the evaluation (not shipped): the same architecture, started from the classifier.*
    weights of `init` (by default the shipped classifier, so it has at least the shipped budget), then
    `steps` + `finetune_steps` (at the fine-tuning learning rate) on masked inputs.
    Checkpointed in runs/nca-fmnist/masked-cnn{,-ft}; finished runs are reused.
    """
    kwargs = get_entry("nca-fmnist").model_kwargs
    torch.manual_seed(cfg.seed + 1)
    net = build_classifier(kwargs.get("classifier", "cnn"), kwargs["width"])
    if init:
        load_part(net, init, "classifier.", "masked-CNN init")
    images, labels = training_images(cfg)
    base = Path(cfg.run_dir) if cfg.run_dir else RUNS_DIR / "nca-fmnist"
    loss = masked_cnn_loss(images, labels, CLASSIFIER_BATCH)
    phase_cfg = TrainConfig(
        **{
            **cfg.__dict__,
            "steps": steps,
            "batch_size": CLASSIFIER_BATCH,
            "lr": 1e-3 if init else 2e-3,  # from a trained classifier: a fine-tuning rate
            "run_dir": str(base / "masked-cnn"),
            "stop_at": None,
            "ema": CLASSIFIER_EMA,
        }
    )
    net = train_loop("nca-fmnist/masked-cnn", net, loss, phase_cfg)
    if finetune_steps:
        ft_cfg = TrainConfig(
            **{
                **phase_cfg.__dict__,
                "steps": finetune_steps,
                "lr": 1e-3,
                "run_dir": str(base / "masked-cnn-ft"),
            }
        )
        net = train_loop("nca-fmnist/masked-cnn-ft", net, loss, ft_cfg)
    return net


def evaluation_extras(name: str, data_path: str | None = None) -> dict:
    """The masked-input CNN baseline of the protocol, as a labeller: the committed one, or (when it is
    missing or no longer fits the registry's classifier) one trained here on the CPU."""
    net = committed_masked_cnn()
    if net is None:
        print(f"[nca-fmnist] no usable {MASKED_CNN_WEIGHTS.name}: training a masked-input CNN on the CPU")
        net = train_masked_cnn(TrainConfig(data=data_path)).eval()
    return {"masked_cnn": labeller(net)}


if __name__ == "__main__":  # python -m training.trainers.nca_fmnist: train only the masked-input baseline
    train_masked_cnn(TrainConfig())
