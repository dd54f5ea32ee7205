"""Whole-file writes for Gradio's output cache (a fix for gradio 6.31, applied at import of app.common).

Gradio saves every image a handler returns to `<cache>/<hash of the bytes>/image.<fmt>`
with `Path.write_bytes`, which first truncates the file. Two requests that return the
same image (many visitors running the same example) write the same path at once; the
download of the first can then read a file cut to 0 bytes, and the client fails with
"peer closed connection without sending complete message body (received 0 bytes,
expected N)". `python -m training.load_test` hit that 3 times in 60 calls.

The folder is named by the hash of the content, so a file already at the path holds
exactly these bytes: it is kept as it is. A new file is written beside it and renamed
over the target (`os.replace`, atomic on POSIX), so a reader always sees a whole file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from pathlib import Path

from gradio import processing_utils


def write_once(path: Path, data: bytes) -> None:
    """Write `data` to `path` unless it is already there; readers never see a partial file."""
    if path.is_file() and path.stat().st_size == len(data):
        return  # same hash folder + same name = same bytes (and whole: only complete files are renamed in)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; Gradio's own files are world-readable
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """Drop-in for gradio.processing_utils.save_pil_to_cache (same arguments, same path)."""
    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    write_once(path, data)
    return str(path)


def save_bytes_to_cache(data: bytes, file_name: str, cache_dir: str) -> str:
    """Drop-in for gradio.processing_utils.save_bytes_to_cache."""
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    if not Path(file_name).suffix:
        file_name += processing_utils.detect_audio_format(data)
    path = (folder / Path(file_name).name).resolve()
    write_once(path, data)
    return str(path)


def install() -> bool:
    """Replace Gradio's two cache writers (other Gradio code looks them up in the module at call time).

    Returns False, with a warning, when this Gradio lacks the functions the fix replaces.
    """
    needed = (
        "save_pil_to_cache",
        "save_bytes_to_cache",
        "encode_pil_to_bytes",
        "hash_bytes",
        "detect_audio_format",
    )
    if not all(hasattr(processing_utils, n) for n in needed):
        warnings.warn(
            "this Gradio's cache writers differ from 6.31's; identical outputs served at once may fail "
            "to download (see app/gradio_cache.py)",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    processing_utils.save_pil_to_cache = save_pil_to_cache
    processing_utils.save_bytes_to_cache = save_bytes_to_cache
    return True
