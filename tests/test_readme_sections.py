"""Every generated README section says which weights it measured, and still describes the shipped ones:
change a weights file without rerunning the section's script and this fails, naming the script."""

from __future__ import annotations

import pytest

from training import readme


@pytest.mark.parametrize("key", sorted(readme.SECTIONS))
def test_each_generated_section_measured_the_shipped_weights(key):
    stamp = readme.stamped(key)
    assert (
        stamp
    ), f"README section {key} has no <!-- zoo:weights ... --> stamp: rerun `{readme.SECTIONS[key]}`"
    stale = {name: sha[:12] for name, sha in stamp.items() if readme.shipped_sha256(name) != sha}
    assert not stale, (
        f"README section {key} measured other weights than those shipped ({stale}): "
        f"rerun `{readme.SECTIONS[key]}`"
    )


def test_a_changed_weights_file_makes_its_section_stale(tmp_path, monkeypatch):
    (tmp_path / "README.md").write_text("<!-- reliability:start -->\nx\n<!-- reliability:end -->\n")
    monkeypatch.setattr(readme, "README", tmp_path / "README.md")
    readme.write_section("reliability", "figures", ["mnist-denoise"])
    assert readme.stamped("reliability") == {"mnist-denoise": readme.shipped_sha256("mnist-denoise")}
    monkeypatch.setattr(readme, "shipped_sha256", lambda name: "0" * 64)  # the shipped file changed
    with pytest.raises(AssertionError, match="rerun `python -m training.reliability --readme`"):
        test_each_generated_section_measured_the_shipped_weights("reliability")
