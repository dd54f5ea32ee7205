"""cifar10-blocks: the residual-over-biharmonic design, its pipeline, trainer data and photo corpus splits."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

import zoo
from zoo import baselines, photo_corpus
from zoo.datasets_cache import file_list
from zoo.pipelines.cifar10_blocks import MAX_SIDE, BlockInpaintPipeline


@pytest.fixture(scope="module")
def p():
    return zoo.load("cifar10-blocks")


@pytest.fixture(scope="module")
def photo():
    from zoo.protocols.cifar10_blocks import bundled_crops

    return bundled_crops()[3]


def test_shapes_ranges_determinism_and_known_pixels(p, photo):
    damaged, mask = p.corrupt(photo, n_blocks=50, block_size=2, seed=4)
    again, mask2 = p.corrupt(photo, n_blocks=50, block_size=2, seed=4)
    assert np.array_equal(damaged, again) and np.array_equal(mask, mask2) and mask.any()
    out = p(damaged, mask=mask).image
    assert out.shape == (32, 32, 3) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert np.array_equal(out[~mask], damaged[~mask])  # known pixels are never touched
    assert np.array_equal(out, p(damaged, mask=mask).image)
    batch = p.batch([damaged, damaged], [mask, mask])
    assert np.allclose(batch[0].image, out, atol=1e-6) and np.allclose(batch[1].image, out, atol=1e-6)


def test_an_untrained_network_is_exactly_the_biharmonic_fill(photo):
    entry = zoo.get_entry("cifar10-blocks")
    untrained = BlockInpaintPipeline(entry, entry.builder(**entry.model_kwargs))  # zero-initialised head
    damaged, mask = untrained.corrupt(photo, n_blocks=80, block_size=4, seed=1)
    assert np.allclose(
        untrained(damaged, mask=mask).image, baselines.inpaint_biharmonic_(damaged, mask), atol=1e-6
    )


def test_the_shipped_model_beats_biharmonic_in_the_holes(p):
    from zoo import metrics
    from zoo.protocols.cifar10_blocks import bundled_crops, damaged_set

    x = bundled_crops()[:24]
    damaged, masks = damaged_set(x, 50, 2)
    ours = np.mean([metrics.hole_psnr(c, r.image, m) for c, r, m in zip(x, p.batch(damaged, masks), masks)])
    bih = np.mean(
        [metrics.hole_psnr(c, baselines.inpaint_biharmonic_(d, m), m) for c, d, m in zip(x, damaged, masks)]
    )
    assert ours > bih + 0.3, (ours, bih)


def test_large_grey_and_oversized_images(p):
    rng = np.random.default_rng(0)
    grey = rng.random((300, 420), dtype=np.float32)  # larger than a tile: runs tiled, grey is repeated
    damaged, mask = p.corrupt(grey, n_blocks=400, block_size=4, seed=0)
    out = p(damaged, mask=mask).image
    assert out.shape == (300, 420, 3) and np.array_equal(out[~mask], damaged[~mask])
    with pytest.raises(ValueError, match=str(MAX_SIDE)):
        p(np.zeros((MAX_SIDE + 1, 16, 3), np.float32), mask=np.zeros((MAX_SIDE + 1, 16), bool))
    with pytest.raises(ValueError, match="mask"):
        p(damaged)


def test_tiled_output_matches_the_whole_image_where_both_fit(p):
    from zoo.tiling import tiled

    rng = np.random.default_rng(1)
    img = rng.random((200, 240, 3), dtype=np.float32)
    damaged, mask = p.corrupt(img, n_blocks=300, block_size=2, seed=2)
    whole = p._restore(damaged, mask)
    pieces = tiled(p._restore, damaged, 96, 32, mask)
    assert np.abs(whole - pieces).max() < 0.02  # biharmonic sees the tile only: close, not identical


def test_trainer_reads_cifar_python_batches(tmp_path):
    from training.common import TrainConfig
    from training.trainers.cifar10_blocks import build

    rng = np.random.default_rng(0)
    batch = {b"data": rng.integers(0, 256, (6, 3072), dtype=np.uint8), b"labels": list(range(6))}
    with open(tmp_path / "data_batch_1", "wb") as fh:
        pickle.dump(batch, fh)
    model, loss_fn, description, validate = build(
        "cifar10-blocks", TrainConfig(data=str(tmp_path), batch_size=4)
    )
    assert "CIFAR-10 python batches" in description
    assert validate is None  # six images hold no validation split (a tenth of six is none)
    loss = loss_fn(model, torch.Generator().manual_seed(0))
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()  # the residual head gets a gradient: training can move away from the fill
    assert model.head.weight.grad.abs().sum() > 0


def test_photo_corpus_splits_by_whole_photo_and_holds_one_source_out():
    names = list(photo_corpus._fetched_splits())  # one name per content
    splits = {n: photo_corpus.split_of(n) for n in names}
    assert {splits[n] for n in names if n.startswith(photo_corpus.OOD_SOURCE + "/")} == {"ood"}
    sources = {photo_corpus.source_of(n) for n in names} - {photo_corpus.OOD_SOURCE}
    for src in sources:  # every in-domain source keeps at least one photo out, and trains on the rest
        held = [n for n in names if photo_corpus.source_of(n) == src and splits[n] == "test"]
        assert 1 <= len(held) <= 0.15 * sum(photo_corpus.source_of(n) == src for n in names) + 1
    assert sum(v == "train" for v in splits.values()) > 400
    assert (
        photo_corpus.split_of("skimage:chelsea") == "test"
        and photo_corpus.split_of("skimage:astronaut") == "train"
    )
    with pytest.raises(photo_corpus.DatasetNotFoundError, match="zoo data fetch photos"):
        photo_corpus.corpus_names("train")  # not fetched in the tests' environment


def test_corpus_is_content_addressed_and_no_held_out_photo_is_a_copy_of_a_training_photo():
    """The npm source repeats placeholder pictures under several names: each content appears once,
    and no test or validation photo has the bytes of a training photo (10 of 59 test photos had)."""
    files = file_list("photos")
    splits = photo_corpus._fetched_splits()
    assert len({files[n]["sha256"] for n in splits}) == len(splits)  # one name per content
    contents = {s: {files[n]["sha256"] for n, v in splits.items() if v == s} for s in photo_corpus.SPLITS}
    assert not contents["test"] & contents["train"] and not contents["validation"] & contents["train"]
    assert len(files) - len(splits) == 79  # names dropped: their bytes are another name's
    # The shipped photo models trained on every name outside the tenth held out by name hash: no test
    # photo may have the bytes of any of those names.
    import hashlib

    for src in photo_corpus.NAME_SPLIT_SOURCES:
        names = sorted(
            (n for n in files if photo_corpus.source_of(n) == src),
            key=lambda n: hashlib.sha256(n.encode()).hexdigest(),
        )
        trained = {files[n]["sha256"] for n in names[max(1, round(len(names) * 0.1)) :]}
        assert not trained & contents["test"], src
    for src in {photo_corpus.source_of(n) for n in splits} - {photo_corpus.OOD_SOURCE}:
        assert {splits[n] for n in splits if photo_corpus.source_of(n) == src} == {
            "train",
            "validation",
            "test",
        }


@pytest.mark.parametrize(
    "n, has", [(1, {"train"}), (2, {"train", "test"}), (5, {"train", "validation", "test"})]
)
def test_a_small_user_folder_gets_a_sensible_split_or_a_clear_error(tmp_path, n, has):
    from PIL import Image

    from zoo import data

    for i in range(n):
        Image.new("RGB", (16, 16), (i * 40, 0, 0)).save(tmp_path / f"{i}.png")
    Image.new("RGB", (16, 16), (0, 0, 0)).save(tmp_path / "copy-of-0.png")  # the same bytes as 0.png
    got = {}
    for split in ("train", "validation", "test"):
        try:
            got[split] = set(data.photo_split(split, tmp_path))
        except data.DatasetNotFoundError as exc:
            assert "too few" in str(exc) and split not in has
    assert set(got) == has
    assert sum(len(v) for v in got.values()) == n  # every distinct photo once, the copy dropped
