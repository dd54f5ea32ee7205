"""nca-fmnist's protocol: the Fashion-MNIST test set, each pixel dropped with probability r.

r in 0.2 / 0.4 / 0.6 / 0.8 (0.4 is the source's setting); mask of test image i from
default_rng(1000 + i). Per ratio: clean accuracy (the ceiling), accuracy on the damaged
images, after biharmonic inpainting, of a same-size CNN trained on masked inputs (the committed
`zoo/weights/baselines/nca-fmnist-masked-cnn.safetensors`, or the caller's `masked_cnn`), and after
NCA repair; PSNR of both repairs; NCA
milliseconds per image. Then PSNR at ratio 0.4 after 10-60 automaton steps (stability).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import baselines, corruptions, data, metrics
from ..cards import EvalReport, Metric
from .base import Protocol, register_protocol
from .common import (
    damage_each,
    CHECK_N,
    headline_row,
    images_of,
    markdown_table,
    mean_metric,
    round_check,
    timed,
)

NAME = "nca-fmnist"
RATIOS = (0.2, 0.4, 0.6, 0.8)
SOURCE = {"accuracy_ratio0.4": 0.85}
STEPS = 20
STABILITY_STEPS = (10, 20, 40, 60)  # 60: the hub's slider maximum
NCA_BATCH = 32  # measured ~2x faster per image than batches of 500 on the CPU (state fits in cache)
SPEED_N = 256  # images timed per batch size in the speed table


def damaged_set(x: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    return damage_each(corruptions.random_pixel_mask, x, ratio)


def repair(p, damaged: np.ndarray, masks: np.ndarray, steps: int = STEPS, batch_size: int = NCA_BATCH):
    """(results, milliseconds per image) of the public batched call, without frames."""
    results, secs = timed(p.batch, damaged, masks, batch_size=batch_size, steps=steps, frames=False)
    return results, 1000 * secs / len(damaged)


def _labels(p, images: np.ndarray) -> np.ndarray:
    return p.classify_batch(images).argmax(1)


def speed(p, damaged: np.ndarray, masks: np.ndarray, n: int = SPEED_N) -> dict:
    """Milliseconds per image: the automaton (STEPS steps, no frames) at batch 1, NCA_BATCH and 256,
    the hub's call (one image, with the animation frames), and biharmonic inpainting; on `n` images."""
    d, m = damaged[:n], masks[:n]
    out = {f"NCA, batch {b}": repair(p, d, m, batch_size=b)[1] for b in (1, NCA_BATCH, 256)}
    k = min(n, 32)
    out["hub call (1 image, 20 animation frames)"] = (
        1000 * timed(lambda: [p(d[i], mask=m[i]) for i in range(k)])[1] / k
    )
    out["biharmonic"] = (
        1000 * timed(lambda: [baselines.inpaint_biharmonic_(a, b) for a, b in zip(d, m)])[1] / len(d)
    )
    return out


MASKED_CNN_WEIGHTS = (
    Path(__file__).resolve().parents[1] / "weights" / "baselines" / "nca-fmnist-masked-cnn.safetensors"
)


def committed_masked_cnn(path: Path = MASKED_CNN_WEIGHTS) -> torch.nn.Module | None:
    """The committed masked-input CNN (the registry's classifier architecture trained on masked inputs,
    its record in the .json beside it), or None when absent or no longer the registry's classifier."""
    from safetensors.torch import load_file

    from ..pipelines.nca_fmnist import build_classifier
    from ..registry import get_entry

    if not path.is_file():
        return None
    kwargs = get_entry(NAME).model_kwargs
    net = build_classifier(kwargs.get("classifier", "cnn"), kwargs["width"])
    try:
        net.load_state_dict(load_file(str(path)))
    except RuntimeError:
        return None
    return net.eval()


def labeller(net: torch.nn.Module):
    """(N, 28, 28) damaged images -> (N,) labels by `net`, with the shipped classifier's flip averaging."""
    from ..pipelines.nca_fmnist import flip_averaged
    from ..registry import get_entry

    flip = get_entry(NAME).model_kwargs.get("flip_tta", False)

    @torch.inference_mode()
    def labels(damaged: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.asarray(damaged, dtype=np.float32))[:, None]
        logits = [flip_averaged(net, b) if flip else net(b) for b in x.split(1000)]
        return torch.cat(logits).argmax(1).numpy()

    return labels


def evaluate(limit: int | None = None, data_path: str | None = None, masked_cnn=None, **extras) -> EvalReport:
    """masked_cnn: (N, 28, 28) damaged images -> (N,) labels, the same-size CNN trained on masked inputs
    (default: the committed one; none: its column shows "-")."""
    import zoo

    if masked_cnn is None and (net := committed_masked_cnn()) is not None:
        masked_cnn = labeller(net)
    p = zoo.load(NAME)
    x, y = data.load_fashion_mnist("test", data_path)
    x, y = (x[:limit], y[:limit]) if limit else (x, y)
    clean_acc = metrics.accuracy(y, _labels(p, x))
    rows, found, by_steps = [], [Metric("accuracy", "clean accuracy", clean_acc)], []
    for ratio in RATIOS:
        damaged, masks = damaged_set(x, ratio)
        results, ms = repair(p, damaged, masks)
        repaired = images_of(results)
        nca_psnr = mean_metric(metrics.psnr, x, repaired)
        bih = np.stack(
            [
                baselines.inpaint_biharmonic_(d, m)
                for d, m in tqdm(zip(damaged, masks), total=len(x), desc=f"biharmonic r={ratio}", leave=False)
            ]
        )
        rows.append(
            [
                ratio,
                clean_acc,
                metrics.accuracy(y, _labels(p, damaged)),
                metrics.accuracy(y, _labels(p, bih)),
                "-" if masked_cnn is None else metrics.accuracy(y, masked_cnn(damaged)),
                metrics.accuracy(y, [r.label for r in results]),
                mean_metric(metrics.psnr, x, bih),
                nca_psnr,
                ms,
                SOURCE["accuracy_ratio0.4"] if ratio == 0.4 else "-",
            ]
        )
        found += [
            Metric(
                "accuracy",
                f"accuracy after NCA repair, mask ratio {ratio}",
                rows[-1][5],
                f"mask_ratio={ratio}",
            ),
            Metric("psnr", f"PSNR of NCA repair, mask ratio {ratio}", nca_psnr, f"mask_ratio={ratio}"),
        ]
        if ratio == 0.4:
            speeds = speed(p, damaged, masks)
            by_steps = [
                [
                    s,
                    (
                        nca_psnr
                        if s == STEPS
                        else mean_metric(metrics.psnr, x, images_of(repair(p, damaged, masks, s)[0]))
                    ),
                ]
                for s in tqdm(STABILITY_STEPS, desc="PSNR by NCA steps", leave=False)
            ]
    headers = [
        "mask ratio",
        "clean (ceiling)",
        "damaged, no repair",
        "biharmonic + CNN",
        "CNN trained on masked",
        "**NCA + CNN**",
        "PSNR biharmonic",
        "**PSNR NCA**",
        "NCA ms/image",
        "source project",
    ]
    table = markdown_table(headers, rows)
    table += (
        f"\n\nAccuracies of the shipped classifier unless stated; {len(x):,} Fashion-MNIST test images; "
        f"NCA {STEPS} steps in batches of {NCA_BATCH} on the CPU ({torch.get_num_threads()} threads; "
        "ms/image includes batching)."
    )
    table += (
        f"\n\nPSNR by NCA steps at mask ratio 0.4 (the automaton is run {STEPS} steps; a stable one holds "
        "its "
        "repair when run longer, as in the hub's step slider):\n\n"
        + markdown_table(["NCA steps", "PSNR (dB)"], by_steps)
    )
    table += (
        f"\n\nSpeed at mask ratio 0.4 ({min(SPEED_N, len(x))} test images, {STEPS} automaton steps, "
        f"{torch.get_num_threads()} CPU threads):\n\n"
        + markdown_table(["method", "ms per image"], [[k, v] for k, v in speeds.items()])
    )
    return EvalReport(
        "image-classification",
        "fashion_mnist",
        f"Fashion-MNIST test split ({len(x):,} images)",
        "test",
        found,
        table,
        check(),
    )


def check() -> dict:
    import zoo

    p = zoo.load(NAME)
    x, y = data.load_fashion_mnist("test")
    x, y = x[:CHECK_N], y[:CHECK_N]
    damaged, masks = damaged_set(x, 0.4)
    results, _ = repair(p, damaged, masks)
    return {
        "n": len(x),
        "data": "Fashion-MNIST test split",
        "metrics": round_check(
            {
                "psnr_ratio0.4": mean_metric(metrics.psnr, x, images_of(results)),
                "accuracy_ratio0.4": metrics.accuracy(y, [r.label for r in results]),
            }
        ),
    }


def headline(n: int) -> dict:
    import zoo

    p = zoo.load(NAME)
    x, y = data.load_fashion_mnist("test")
    x, y = x[:n], y[:n]
    damaged, masks = damaged_set(x, 0.4)
    outs, secs = timed(lambda: [p(d, mask=m) for d, m in zip(damaged, masks)])
    bih, bsecs = timed(lambda: [baselines.inpaint_biharmonic_(d, m) for d, m in zip(damaged, masks)])
    batched = {b: repair(p, damaged, masks, batch_size=b)[1] for b in (1, 256)}
    model_ms, bih_ms = 1000 * secs / len(x), 1000 * bsecs / len(x)
    return headline_row(
        NAME,
        "accuracy, 40% pixels masked",
        metrics.accuracy(y, [o.label for o in outs]),
        "biharmonic inpainting + same CNN",
        metrics.accuracy(y, _labels(p, np.stack(bih))),
        SOURCE["accuracy_ratio0.4"],
        model_ms,
        bih_ms,
        len(x),
        note=(
            f"the automaton alone ({STEPS} steps, no animation frames) {batched[1]:.2f} ms/image at batch 1, "
            f"{batched[256]:.2f} at batch 256; biharmonic {bih_ms:.2f}; the hub's call with its 20-frame "
            f"animation {model_ms:.1f} ms (target < 500)"
        ),
    )


register_protocol(
    Protocol(NAME, evaluate, check, headline, api_call=("/nca-fmnist", (None, 5, 0.4, 20, 0)), source=SOURCE)
)
