"""The feature-recon family's protocol: how well decoder(encoder(x)) rebuilds held-out photos.

Test sets, reported apart (no crop of a test photo is ever trained on):
* bundled: the six bundled held-out photos (`zoo.data.HELDOUT_PHOTOS`) at short sides
  224 / 320 / 448, 224x224 centre crops (18 images; on every machine, so zoo_check uses it);
* in-domain: the held-out photos of the fetched corpus' training sources (`zoo.photo_corpus`);
* out-of-domain: every photo of the source never trained on (OpenCV's test images).
Corpus photos are shrunk to a short side of 224 (never enlarged) and centre-cropped to
224x224 (smaller photos: their largest centre square). Reference in the same run: bicubic
upsampling of the image shrunk to as many values as the feature map holds. Speed: frames
per second at 224x224, batch 1, encoder+decoder through `p(image)`, and the encoder alone.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .. import baselines, data, metrics
from ..cards import EvalReport, Metric
from .base import Protocol, register_protocol
from .common import CHECK_N, headline_row, images_of, markdown_table, mean_metric, round_check, timed

SIZE = 224
NAMES = ("feature-recon", "feature-recon-s4", "feature-recon-s16")
SOURCE = {"note": "not published (the source project reported no PSNR / SSIM)"}


def bundled_test_images(limit: int | None = None) -> np.ndarray:
    crops, _ = data.zoomed_center_crops(data.photo_split("test"), SIZE)
    return crops[:limit] if limit else crops


def corpus_test_images(split: str) -> list[np.ndarray]:
    """224x224 centre crops (or the largest centre square of a smaller photo) of a corpus split's
    permissively licensed photos (the ones the models train on)."""
    from ..photo_corpus import load_photos

    out = []
    for img in load_photos(split, max_side=1024, bundled=False).values():
        side = min(img.shape[:2])
        out.append(data.center_crop(img, SIZE) if side >= SIZE else data.center_crop(img, side))
    return out


def equal_values_side(channels: int, stride: int, size: int = SIZE) -> int:
    """Side of the RGB image holding as many numbers as the (channels, size/stride, size/stride) feature
    map."""
    return round(size * baselines.same_values_scale(channels, stride))


def calls_per_second(fn, frames: int = 30, warmup: int = 5) -> float:
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


def _scores(p, images) -> tuple[float, float, float, float]:
    """(model PSNR, model SSIM, bicubic PSNR, bicubic SSIM) over a list of images."""
    kw = p.entry.model_kwargs
    recon = [r.image for r in p.batch(images, batch_size=8)]
    ref = [baselines.bicubic_same_values(img, kw["in_channels"], kw["stride"]) for img in images]
    return (
        mean_metric(metrics.psnr, images, recon),
        mean_metric(metrics.ssim, images, recon),
        mean_metric(metrics.psnr, images, ref),
        mean_metric(metrics.ssim, images, ref),
    )


def _evaluator(name: str):
    def evaluate(limit: int | None = None, data_path: str | None = None, **extras) -> EvalReport:
        import zoo

        from ..photo_corpus import DatasetNotFoundError

        p = zoo.load(name)
        kw = p.entry.model_kwargs
        side = equal_values_side(kw["in_channels"], kw["stride"])
        sets = {"bundled held-out photos (18 crops)": list(bundled_test_images(limit))}
        try:
            sets["in-domain: corpus held-out photos"] = corpus_test_images("test")[:limit]
            sets["out-of-domain: OpenCV test images (never trained on)"] = corpus_test_images("ood")[:limit]
        except DatasetNotFoundError:
            pass  # the corpus is not fetched here: the bundled set only
        rows, found = [], []
        for label, images in sets.items():
            psnr, ssim, bpsnr, bssim = _scores(p, images)
            rows.append([label, len(images), psnr, ssim, bpsnr, bssim])
            key = label.split(":")[0].split(" (")[0]
            found += [Metric("psnr", f"PSNR, {key}", psnr), Metric("ssim", f"SSIM, {key}", ssim)]
        table = markdown_table(
            [
                "test set",
                "images",
                f"**{name}** PSNR (dB)",
                "SSIM",
                f"bicubic from {side}x{side}x3 PSNR",
                "bicubic SSIM",
            ],
            rows,
        )
        values = kw["in_channels"] * (SIZE // kw["stride"]) ** 2
        table += (
            f"\n\nDecoder: {p.num_parameters():,} parameters; it sees "
            f"{kw['in_channels']}x{SIZE // kw['stride']}x{SIZE // kw['stride']} = {values:,} numbers per "
            f"224x224 image ({values / (SIZE * SIZE * 3):.2f}x the image's {SIZE * SIZE * 3:,}); the "
            f"bicubic reference gets as many. Source project: {SOURCE['note']}."
        )
        if not limit:
            fps, enc_fps = frames_per_second(p)
            table += (
                f"\n\nSpeed at 224x224, batch 1, CPU ({torch.get_num_threads()} threads): encoder+decoder "
                f"**{fps:.1f} FPS** ({1000 / fps:.1f} ms), encoder alone {enc_fps:.1f} FPS "
                f"(ratio {fps / enc_fps:.2f})."
            )
            found.append(Metric("fps", "frames per second (224x224, CPU)", fps))
        dataset = "held-out photos: " + "; ".join(f"{k} ({len(v)})" for k, v in sets.items())
        return EvalReport("image-to-image", "natural-photos", dataset, "test", found, table, _checker(name)())

    return evaluate


def _checker(name: str):
    def check() -> dict:
        import zoo

        x = bundled_test_images()[:CHECK_N]
        out = images_of(zoo.load(name).batch(list(x), batch_size=8))
        return {
            "n": len(x),
            "data": "bundled held-out photos, 224x224 crops",
            "metrics": round_check(
                {"psnr": mean_metric(metrics.psnr, x, out), "ssim": mean_metric(metrics.ssim, x, out)}
            ),
        }

    return check


def _headline(name: str):
    def headline(n: int) -> dict:
        import zoo

        from ..photo_corpus import DatasetNotFoundError

        p = zoo.load(name)
        try:  # the corpus' in-domain held-out photos where fetched, else the bundled ones
            x, where = corpus_test_images("test")[:n], "corpus held-out photos"
        except DatasetNotFoundError:
            x, where = list(bundled_test_images(n)), "bundled held-out photos"
        kw = p.entry.model_kwargs
        side = equal_values_side(kw["in_channels"], kw["stride"])
        outs, secs = timed(lambda: [p(z).image for z in x])
        ref, bsecs = timed(
            lambda: [baselines.bicubic_same_values(z, kw["in_channels"], kw["stride"]) for z in x]
        )
        return headline_row(
            name,
            f"PSNR dB from stride-{kw['stride']} features, 224x224, {where}",
            mean_metric(metrics.psnr, x, outs),
            f"bicubic from {side}x{side}x3 (same number of values)",
            mean_metric(metrics.psnr, x, ref),
            "not published",
            1000 * secs / len(x),
            1000 * bsecs / len(x),
            len(x),
        )

    return headline


for _name in NAMES:
    register_protocol(
        Protocol(
            _name,
            _evaluator(_name),
            _checker(_name),
            _headline(_name),
            api_call=("/feature-recon", (None, data.HELDOUT_PHOTOS[1], _name)),
            source=SOURCE,
        )
    )
