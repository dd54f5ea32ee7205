"""One licence story: each model's licence in the registry, its card, `zoo list`, LICENSE, the wheel's
metadata and the Space's front matter agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

import zoo
from zoo.cards import load_card
from zoo.registry import get_entry

ROOT = Path(__file__).resolve().parents[1]
SPDX = {"mit": "MIT", "agpl-3.0": "AGPL-3.0", "apache-2.0": "Apache-2.0", "cc-by-4.0": "CC-BY-4.0"}


def test_every_model_has_one_licence_everywhere(capsys):
    licences = {name: get_entry(name).license for name in zoo.list_models()}
    assert set(licences.values()) <= set(SPDX), licences  # a known licence, not the default "other"
    for name, licence in licences.items():
        assert load_card(name).data.license == licence, name
    license_file = (ROOT / "LICENSE").read_text()
    for name, licence in licences.items():
        line = next(
            line for line in license_file.splitlines() if re.search(rf"[ ,]{re.escape(name)}[,:]", line)
        )
        assert SPDX[licence] in line, (name, line)
    from zoo.__main__ import main

    main(["list"])
    rows = capsys.readouterr().out.splitlines()[1:]
    assert {row.split()[0]: row.split()[2] for row in rows} == licences


def test_package_and_space_metadata_name_every_weights_licence():
    licences = {get_entry(name).license for name in zoo.list_models()}
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]["text"]
    assert set(wheel.split(" AND ")) == {"MIT"} | {SPDX[lic] for lic in licences}
    front = yaml.safe_load((ROOT / "README.md").read_text().split("---")[1])
    if licences == {"mit"}:
        assert front["license"] == "mit"
    else:  # more than one licence: the Space says so instead of claiming one
        assert front["license"] == "other" and front["license_name"] == "-and-".join(
            ["mit", *sorted(licences - {"mit"})]
        )
