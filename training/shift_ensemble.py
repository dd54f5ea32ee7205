"""Does a self-ensemble over small shifts pay for the MNIST U-Nets? (A test-time lever, measured.)

    python -m training.shift_ensemble --out reports/mnist-shift-ensemble

Flips and quarter turns are no self-ensemble for digits (mnist-denoise's card: -0.5 dB), but
shifts are: both U-Nets were trained on digits shifted by up to 2 px, and their two stride-2
levels make them exactly equivariant only to shifts of 4 px, so each shift of 1 px gives another
estimate. Each shifted input goes through the U-Net, is shifted back, and the estimates are
averaged (torch.roll: what wraps round is black border or noise). Measured on the first --n
validation digits with the cards' protocols: mnist-denoise at sigma 0.5 (PSNR, SSIM), and mnist-masked
on three of its holes (whole-image MSE, the test fives and sevens).
"""

from __future__ import annotations

import numpy as np
import torch

import zoo
from zoo import data, metrics
from zoo.protocols.common import markdown_table, mean_metric
from zoo.protocols.mnist_denoise import noisy_digits
from zoo.protocols.mnist_masked import damaged_set
from zoo.splits import no_test_split

from .common import mnist_report_cli

SHIFTS = {  # name -> (dy, dx) shifts averaged
    "single": [(0, 0)],
    "9 shifts (-1..1 px)": [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)],
}
HOLES = (("vertical", 11), ("patch", 15), ("horizontal", 21))


@torch.inference_mode()
def shift_ensemble(model: torch.nn.Module, x: np.ndarray, shifts) -> np.ndarray:
    """(N, C, 28, 28) inputs -> (N, 28, 28): the model's first output channel, clamped to [0, 1] and
    averaged over the shifted copies of the input (each shifted back)."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    total = torch.zeros(t.shape[0], 1, *t.shape[2:])
    for dy, dx in shifts:
        out = model(torch.roll(t, (dy, dx), (2, 3)))[:, :1].clamp(0, 1)
        total += torch.roll(out, (-dy, -dx), (2, 3))
    return (total / len(shifts))[:, 0].numpy()


def probe(n: int = 2000, data_path: str | None = None) -> dict:
    x_all, y_all = data.load_mnist("validation", data_path, source="full")  # as --data says: never the subset
    rows = []
    denoise = zoo.load("mnist-denoise").model.eval()
    clean = x_all[:n]
    noisy = noisy_digits(clean, 0.5)[:, None]  # (n, 1, 28, 28)
    for name, shifts in SHIFTS.items():
        out = shift_ensemble(denoise, noisy, shifts)
        psnr, ssim = mean_metric(metrics.psnr, clean, out), mean_metric(metrics.ssim, clean, out)
        rows.append(dict(model="mnist-denoise", setting="sigma 0.5", method=name, psnr=psnr, ssim=ssim))
    masked = zoo.load("mnist-masked").model.eval()
    fives_sevens = x_all[np.isin(y_all, (5, 7))][:n]
    for kind, size in HOLES:
        damaged, masks = damaged_set(fives_sevens, kind, size)
        damaged = np.where(masks, 0.0, damaged).astype(np.float32)  # holes zero, as the pipeline has them
        inputs = np.stack([damaged, masks.astype(np.float32)], 1)  # (n, 2, 28, 28)
        for name, shifts in SHIFTS.items():
            out = np.where(masks, shift_ensemble(masked, inputs, shifts), damaged)
            rows.append(
                dict(
                    model="mnist-masked",
                    setting=f"{kind} {size}",
                    method=name,
                    mse=mean_metric(metrics.mse, fives_sevens, out),
                )
            )
    return dict(n=n, data=data.describe_mnist(data_path), rows=rows)


def report(r: dict) -> str:
    def cell(row, key, fmt):
        return format(row[key], fmt) if key in row else ""

    table = markdown_table(
        ["model", "setting", "method", "PSNR (dB)", "SSIM", "MSE"],
        [
            [
                w["model"],
                w["setting"],
                w["method"],
                cell(w, "psnr", ".3f"),
                cell(w, "ssim", ".4f"),
                cell(w, "mse", ".5f"),
            ]
            for w in r["rows"]
        ],
    )
    return (
        "# MNIST U-Nets: a self-ensemble over shifts\n\n"
        f"`python -m training.shift_ensemble --n {r['n']}`: {r['data']}, the first {r['n']:,} validation digits "
        "(mnist-masked: the first that many fives and sevens). Each method runs the U-Net once per shift.\n\n"
        + table
        + "\n"
    )


@no_test_split("python -m training.shift_ensemble")
def main() -> None:
    mnist_report_cli(__doc__, probe, report, 2000, "validation digits")


if __name__ == "__main__":
    main()
