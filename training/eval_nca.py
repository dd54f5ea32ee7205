"""Evaluation protocol of nca-fmnist (see its card).

Fashion-MNIST test set; each pixel dropped with probability r (r = 0.2/0.4/0.6/0.8),
the mask of test image i drawn from default_rng(1000 + i). Reported per ratio:
clean accuracy (the ceiling), accuracy on the damaged images, after biharmonic
inpainting, of a same-size CNN trained on masked inputs, and after NCA repair;
PSNR of both repairs; NCA milliseconds per image. Then PSNR at ratio 0.4 after
STABILITY_STEPS automaton steps: the automaton must not drift past the 20 steps used.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from tqdm.auto import tqdm

import zoo
from zoo import baselines, corruptions, data, metrics
from zoo.cards import EvalReport, Metric

from .common import TrainConfig
from .eval_common import CHECK_N, markdown_table, mean_metric, round_check, seed_for

RATIOS = (0.2, 0.4, 0.6, 0.8)
SOURCE_ACCURACY_AT_0_4 = 0.85
STEPS = 20
STABILITY_STEPS = (10, 20, 40, 60)  # 60: the hub's slider maximum


@torch.inference_mode()
def _classify(net: torch.nn.Module, x: np.ndarray, batch: int = 1000) -> np.ndarray:
    net.eval()
    preds = [net(torch.from_numpy(x[i : i + batch])[:, None]).argmax(1).numpy() for i in range(0, len(x), batch)]
    return np.concatenate(preds)


def _repair(nca: torch.nn.Module, damaged: np.ndarray, masks: np.ndarray, steps: int = STEPS) -> tuple[np.ndarray, float]:
    """NCA repair of (N, 28, 28) images; returns (repaired (N, 28, 28), milliseconds per image)."""
    known = torch.from_numpy((~masks).astype(np.float32))[:, None]
    t0 = time.perf_counter()
    repaired = nca.repair(torch.from_numpy(damaged)[:, None], known, steps=steps)[:, 0].numpy()
    return repaired, 1000 * (time.perf_counter() - t0) / len(damaged)


def evaluate(limit: int | None = None, data_path: str | None = None, with_baselines: bool = True) -> EvalReport:
    p = zoo.load("nca-fmnist")
    x, y = data.load_fashion_mnist("test", data_path)
    x, y = (x[:limit], y[:limit]) if limit else (x, y)
    masked_cnn = None
    if with_baselines:
        from .nca_fmnist import train_masked_cnn

        masked_cnn = train_masked_cnn(TrainConfig(data=data_path))
    clean_acc = metrics.accuracy(y, _classify(p.model.classifier, x))
    rows, found, check = [], [Metric("accuracy", "clean accuracy", clean_acc)], {}
    for ratio in RATIOS:
        pairs = [corruptions.random_pixel_mask(img, ratio, seed_for(i)) for i, img in enumerate(x)]
        damaged = np.stack([d for d, _ in pairs])
        masks = np.stack([m for _, m in pairs])
        repaired, ms = _repair(p.model.nca, damaged, masks)
        nca_acc = metrics.accuracy(y, _classify(p.model.classifier, repaired))
        nca_psnr = mean_metric(metrics.psnr, x, repaired)
        row = {"ratio": ratio, "clean": clean_acc,
               "damaged": metrics.accuracy(y, _classify(p.model.classifier, damaged))}
        if with_baselines:
            bih = np.stack([baselines.inpaint_biharmonic_(d, m) for d, m in tqdm(zip(damaged, masks), total=len(x),
                                                                                 desc=f"biharmonic r={ratio}", leave=False)])
            row["biharmonic"] = metrics.accuracy(y, _classify(p.model.classifier, bih))
            row["masked_cnn"] = metrics.accuracy(y, _classify(masked_cnn, damaged))
            row["bih_psnr"] = mean_metric(metrics.psnr, x, bih)
        row.update(nca=nca_acc, nca_psnr=nca_psnr, ms=ms)
        rows.append(row)
        found += [Metric("accuracy", f"accuracy after NCA repair, mask ratio {ratio}", nca_acc, f"mask_ratio={ratio}"),
                  Metric("psnr", f"PSNR of NCA repair, mask ratio {ratio}", nca_psnr, f"mask_ratio={ratio}")]
        if ratio == 0.4:
            by_steps = [[s, nca_psnr if s == STEPS else mean_metric(metrics.psnr, x, _repair(p.model.nca, damaged, masks, s)[0])]
                        for s in tqdm(STABILITY_STEPS, desc="PSNR by NCA steps", leave=False)]
            n = min(CHECK_N, len(x))
            check = {"n": n, "metrics": round_check({
                "psnr_ratio0.4": mean_metric(metrics.psnr, x[:n], repaired[:n]),
                "accuracy_ratio0.4": metrics.accuracy(y[:n], _classify(p.model.classifier, repaired[:n])),
            })}
    headers = ["mask ratio", "clean (ceiling)", "damaged, no repair", "biharmonic + CNN", "CNN trained on masked",
               "**NCA + CNN**", "PSNR biharmonic", "**PSNR NCA**", "NCA ms/image", "source project"]
    table_rows = [[r["ratio"], r["clean"], r["damaged"], r.get("biharmonic", "-"), r.get("masked_cnn", "-"),
                   r["nca"], r.get("bih_psnr", "-"), r["nca_psnr"], r["ms"],
                   SOURCE_ACCURACY_AT_0_4 if r["ratio"] == 0.4 else "-"] for r in rows]
    table = markdown_table(headers, table_rows)
    table += (f"\n\nAccuracies of the shipped classifier unless stated; {len(x):,} Fashion-MNIST test images; "
              f"NCA {STEPS} steps in batches of 32 on the CPU ({torch.get_num_threads()} threads; ms/image includes batching).")
    table += (f"\n\nPSNR by NCA steps at mask ratio 0.4 (the automaton is run {STEPS} steps; a stable one holds its "
              "repair when run longer, as in the hub's step slider):\n\n" + markdown_table(["NCA steps", "PSNR (dB)"], by_steps))
    name = f"Fashion-MNIST test split ({len(x):,} images)"
    return EvalReport("image-classification", "fashion_mnist", name, "test", found, table, check)
