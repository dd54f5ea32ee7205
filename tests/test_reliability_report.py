"""The reliability report's parts: the fuzz worker counts crashes, every tampered copy is refused, the
README section is rewritten in place."""

from __future__ import annotations

import numpy as np

from training import reliability as R
from training import reliability_probes as P


def test_fuzz_inputs_start_with_the_extremes_and_are_made_one_at_a_time(tmp_path):
    gen = P.fuzz_inputs(np.random.default_rng(0), 20, tmp_path)
    labels = [label for label, _ in gen]
    assert len(labels) == 20 and labels[0] == "strip 1x20000" and "4096x4096 RGB uint8 (the limit)" in labels
    assert not isinstance(P.fuzz_inputs(np.random.default_rng(0), 3, tmp_path), list)  # a generator


def test_fuzz_worker_counts_refusals_and_crashes(monkeypatch):
    row = P.fuzz_one("mnist-denoise", 16)
    assert (
        row["inputs"] == 16 and row["crash"] == 0 and row["ok"] + row["refused"] == 16 and row["refused"] >= 6
    )
    import zoo.pipelines.mnist_denoise as md

    def broken(self, x, masks, **kw):
        raise RuntimeError("boom")

    monkeypatch.setattr(md.DenoisePipeline, "_forward", broken)
    row = P.fuzz_one("mnist-denoise", 16)
    assert row["crash"] == row["inputs"] - row["refused"] > 0 and "RuntimeError: boom" in row["crashes"][0]


def test_every_tampered_copy_is_refused_and_the_package_folder_is_restored():
    from zoo import hub

    before = hub.WEIGHTS_DIR
    rows = P.tamper_matrix()
    assert len(rows) == 3 * len(R.TAMPER) and all(r["refused"] for r in rows)
    assert {r["source"] for r in rows} == {"ZOO_HOME", "package", "hf-cache"}
    assert hub.WEIGHTS_DIR == before


def test_report_renders_and_rewrites_only_its_readme_section(tmp_path, monkeypatch):
    fuzz = [
        dict(
            model="m",
            inputs=5,
            ok=2,
            refused=3,
            crash=0,
            crashes=[],
            slowest_s=0.1,
            slowest_input="x",
            peak_extra_mb=12.0,
        )
    ]
    tamper = [dict(source="ZOO_HOME", tamper=k, refused=True, message="") for k in R.TAMPER]
    stalled = [dict(endpoint="closed port", seconds=1.0, names_endpoint=True, message="")]
    md = R.markdown({"date": "2026-01-01", "fuzz": fuzz, "tamper": tamper, "stalled": stalled, "load": "L"})
    assert "**0 crashes**" in md and f"**{len(R.TAMPER)}/{len(R.TAMPER)} refused** (100%)" in md
    from training import readme

    (tmp_path / "README.md").write_text("a\n<!-- reliability:start -->\nold\n<!-- reliability:end -->\nb\n")
    monkeypatch.setattr(readme, "README", tmp_path / "README.md")
    R.write_readme(md, ["mnist-denoise"])
    text = (tmp_path / "README.md").read_text()
    assert text.startswith("a\n") and text.endswith("b\n") and "old" not in text and "**0 crashes**" in text
    assert readme.stamped("reliability", tmp_path / "README.md") == {
        "mnist-denoise": readme.shipped_sha256("mnist-denoise")
    }
