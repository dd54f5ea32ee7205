"""Evaluation protocol of the feature-recon decoders (see their cards).

Held-out photos (never cropped for training: `zoo.data.HELDOUT_PHOTOS`), each resized
to short sides 224/320/448 px and centre-cropped to 224x224: 18 test images. For each:
PSNR and SSIM of decoder(encoder(x)) against x. Reference in the same run: bicubic
upsampling of the image downscaled to as many values as the feature map holds
(C x 224/s x 224/s numbers -> a d x d x 3 image with d = 224/s * sqrt(C/3)).
Speed: frames per second at 224x224, batch 1, encoder+decoder and encoder alone.
"""
from __future__ import annotations

import time

import numpy as np
import torch

import zoo
from zoo import baselines, data, metrics
from zoo.cards import EvalReport, Metric

from .eval_common import CHECK_N, markdown_table, mean_metric, round_check

SIZE = 224
FEATURE_NAMES = ("feature-recon-s4", "feature-recon", "feature-recon-s16")


def test_images(data_path: str | None = None, limit: int | None = None) -> tuple[np.ndarray, list[str]]:
    crops, names = data.zoomed_center_crops(data.photo_split("test", data_path), SIZE)
    return (crops[:limit], names[:limit]) if limit else (crops, names)


def equal_values_side(channels: int, stride: int, size: int = SIZE) -> int:
    """Side of the RGB image holding as many numbers as the (channels, size/stride, size/stride) feature map."""
    return round(size * baselines.same_values_scale(channels, stride))


def calls_per_second(fn, frames: int = 30, warmup: int = 5) -> float:
    """How often `fn()` runs per second, timed over `frames` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(frames):
        fn()
    return frames / (time.perf_counter() - t0)


@torch.inference_mode()
def frames_per_second(p, frames: int = 30) -> tuple[float, float]:
    """(end-to-end FPS of p(image), encoder-only FPS) at 224x224 RGB, batch 1, on p's device."""
    img = np.random.default_rng(0).random((SIZE, SIZE, 3), dtype=np.float32)
    x, _, _ = p._padded(img)
    return calls_per_second(lambda: p(img), frames), calls_per_second(lambda: p.encoder(x), frames)


def evaluate(name: str, limit: int | None = None, data_path: str | None = None) -> EvalReport:
    p = zoo.load(name)
    x, _ = test_images(data_path, limit)
    kw = p.entry.model_kwargs
    side = equal_values_side(kw["in_channels"], kw["stride"])
    recon = np.stack([p(img).image for img in x])
    bicubic = np.stack([baselines.bicubic_same_values(img, kw["in_channels"], kw["stride"]) for img in x])
    psnr, ssim = mean_metric(metrics.psnr, x, recon), mean_metric(metrics.ssim, x, recon)
    n = min(CHECK_N, len(x))
    check = {"n": n, "metrics": round_check({"psnr": mean_metric(metrics.psnr, x[:n], recon[:n]),
                                             "ssim": mean_metric(metrics.ssim, x[:n], recon[:n])})}
    values = kw["in_channels"] * (SIZE // kw["stride"]) ** 2
    rows = [[f"{name} (decoder, {p.num_parameters():,} parameters)", f"{kw['in_channels']}x{SIZE // kw['stride']}x{SIZE // kw['stride']}",
             psnr, ssim],
            [f"bicubic from {side}x{side}x3 (same number of values)", f"{side}x{side}x3",
             mean_metric(metrics.psnr, x, bicubic), mean_metric(metrics.ssim, x, bicubic)],
            ["source project (decoder on 56x56x256 features)", "56x56x256", "not published", "not published"]]
    table = markdown_table(["method", "what the decoder sees", "PSNR (dB)", "SSIM"], rows)
    table += (f"\n\n{len(x)} test images: {len(x) // 3} held-out photos x short sides 224/320/448, 224x224 centre crops. "
              f"The feature map holds {values:,} numbers, {values / (SIZE * SIZE * 3):.2f}x the image's {SIZE * SIZE * 3:,}.")
    found = [Metric("psnr", "PSNR", psnr), Metric("ssim", "SSIM", ssim)]
    if not limit:
        fps, enc_fps = frames_per_second(p)
        table += (f"\n\nSpeed at 224x224, batch 1, CPU ({torch.get_num_threads()} threads): "
                  f"encoder+decoder **{fps:.1f} FPS** ({1000 / fps:.1f} ms), encoder alone {enc_fps:.1f} FPS.")
        found.append(Metric("fps", "frames per second (224x224, CPU)", fps))
    dataset = f"held-out photos {'from ' + data_path if data_path else '(' + ', '.join(data.HELDOUT_PHOTOS) + ')'}"
    return EvalReport("image-to-image", "natural-photos", dataset, "test", found, table, check)
