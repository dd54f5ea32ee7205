"""The README's generated sections: each is written between its markers by one script and ends with
the sha256 of every weights file it measured, so that a section no longer describing the shipped
weights fails a test (tests/test_readme_sections.py) instead of going stale unnoticed.

    <!-- reliability:start -->
    ... the section ...
    <!-- zoo:weights mnist-denoise=7393741a2de4... -->
    <!-- reliability:end -->
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# marker key -> the command that rewrites the section
SECTIONS = {
    "zoo:benchmark": "python -m training.benchmark",
    "reliability": "python -m training.reliability --readme",
}
_STAMP = re.compile(r"<!-- zoo:weights ([^>]*) -->")


def shipped_sha256(name: str) -> str:
    """The registry's sha256 of a model's weights file (what zoo.load verifies)."""
    from zoo.registry import get_entry

    return get_entry(name).file("model.safetensors").sha256


def markers(key: str) -> tuple[str, str]:
    return f"<!-- {key}:start -->", f"<!-- {key}:end -->"


def write_section(key: str, md: str, measured: list[str], path: Path | None = None) -> None:
    """Replace the section `key` with `md` and the stamp of the weights of the models `measured`."""
    path = path or README
    start, end = markers(key)
    text = path.read_text()
    if start not in text or end not in text:
        raise ValueError(f"{path} has no {start} ... {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    stamp = " ".join(f"{name}={shipped_sha256(name)}" for name in sorted(measured))
    path.write_text(f"{head}{start}\n{md.rstrip()}\n<!-- zoo:weights {stamp} -->\n{end}{tail}")


def stamped(key: str, path: Path | None = None) -> dict[str, str] | None:
    """{model: sha256} a section says it measured; None when it carries no stamp."""
    start, end = markers(key)
    text = (path or README).read_text()
    if start not in text:
        return None
    match = _STAMP.search(text.split(start, 1)[1].split(end, 1)[0])
    if match is None:
        return None
    return dict(pair.split("=", 1) for pair in match.group(1).split())
