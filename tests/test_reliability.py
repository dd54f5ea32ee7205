"""Reliability of weight resolution: verify agrees with load, the network cannot stall the caller,
and a corrupt cached blob is replaced by `zoo download --force`."""

from __future__ import annotations

import socket
import time

import pytest

import zoo
from zoo import hub
from zoo.__main__ import main as zoo_main
from zoo.__main__ import verify_model

from .conftest import TINY_COMMIT, TINY_NAME, TINY_REPO


def _loads(name: str) -> bool:
    try:
        zoo.load(name)
        return True
    except (zoo.WeightsError, ValueError, OSError):
        return False


def test_verify_fails_exactly_when_load_fails(tiny_entry, tiny_files, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    home = tmp_path / "home" / TINY_NAME
    results = {"no copy anywhere": (verify_model(TINY_NAME), _loads(TINY_NAME))}
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    home.mkdir(parents=True)
    (home / "model.safetensors").write_bytes(tiny_files["model.safetensors"])
    results["ZOO_HOME without config.json"] = (verify_model(TINY_NAME), _loads(TINY_NAME))
    (home / "model.safetensors").unlink()
    (home / "pytorch_model.bin").write_bytes(b"pickle")
    results["ZOO_HOME with only pytorch_model.bin"] = (verify_model(TINY_NAME), _loads(TINY_NAME))
    for fn, body in tiny_files.items():
        (home / fn).write_bytes(body)
    results["complete ZOO_HOME copy"] = (verify_model(TINY_NAME), _loads(TINY_NAME))
    for case, (problems, loaded) in results.items():
        assert (problems == []) == loaded, (case, problems, loaded)
    assert results["complete ZOO_HOME copy"][1] and not results["no copy anywhere"][1]


def test_verify_covers_the_feature_encoder(tmp_path, monkeypatch):
    from zoo.models.efficientnet_encoder import converted_weights_path

    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    assert verify_model("feature-recon") == []
    path = converted_weights_path()
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    problems = verify_model("feature-recon")
    assert problems and "converted encoder" in problems[0]
    assert not _loads("feature-recon")


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never answers (the kernel completes the handshake)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_an_endpoint_that_never_answers_fails_in_bounded_time(tiny_entry, silent_server, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", silent_server)
    monkeypatch.setenv("ZOO_HUB_TIMEOUT", "3")
    t0 = time.perf_counter()
    with pytest.raises(zoo.WeightsNotFoundError) as err:
        zoo.load(TINY_NAME)
    assert time.perf_counter() - t0 < 10
    assert silent_server in str(err.value) and "did not answer" in str(err.value)


@pytest.mark.slow
def test_a_dead_port_fails_fast_and_says_refused(tiny_entry, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    t0 = time.perf_counter()
    with pytest.raises(zoo.WeightsNotFoundError) as err:
        zoo.load(TINY_NAME)
    assert time.perf_counter() - t0 < hub.NETWORK_DEADLINE_S
    assert f"127.0.0.1:{port}" in str(err.value) and "refused" in str(err.value)


def test_download_force_replaces_a_corrupt_blob(tiny_entry, tiny_files, hub_server, capsys):
    good = tiny_files["model.safetensors"]
    bad = bytearray(good)
    bad[-1] ^= 0xFF
    hub_server.state.add(TINY_REPO, TINY_COMMIT, {**tiny_files, "model.safetensors": bytes(bad)})
    assert zoo_main(["download", TINY_NAME]) == 1  # the corrupt bytes are refused ...
    assert "--force" in capsys.readouterr().err  # ... with the repair that works
    hub_server.state.add(TINY_REPO, TINY_COMMIT, tiny_files)  # the server is fixed
    assert zoo_main(["download", TINY_NAME, "--force"]) == 0
    assert zoo.load(TINY_NAME).weights_source == "hf-cache"


def test_a_broken_zoo_home_is_said_once_and_a_wrong_size_is_not_hashed(
    tiny_entry, tiny_files, tmp_path, monkeypatch
):
    import warnings

    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "loop"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not _loads(TINY_NAME)
        assert not _loads(TINY_NAME)
    assert sum("ZOO_HOME" in str(w.message) for w in caught) == 1
    monkeypatch.delenv("ZOO_HOME")
    big = tmp_path / "big.safetensors"
    big.write_bytes(b"\\0" * 1000)
    hashed = []
    monkeypatch.setattr(hub, "sha256_file", lambda p: hashed.append(p) or "0" * 64)
    with pytest.raises(zoo.WeightsIntegrityError, match="not hashed"):
        hub.verify_file(tiny_entry, tiny_entry.files[0], big, "ZOO_HOME")
    assert hashed == []


def test_verify_reports_a_corrupt_cache_copy_even_when_load_uses_the_package(
    tiny_entry, tiny_files, hub_server
):
    assert zoo_main(["download", TINY_NAME]) == 0
    package = hub.WEIGHTS_DIR / TINY_NAME
    package.mkdir()
    for fn, body in tiny_files.items():
        (package / fn).write_bytes(body)
    assert zoo_main(["verify", TINY_NAME]) == 0
    cached = hub.hub_source(tiny_entry, TINY_COMMIT, local_only=True).paths["model.safetensors"]
    data = bytearray(cached.read_bytes())
    data[-1] ^= 0xFF
    cached.resolve().write_bytes(bytes(data))
    assert verify_model(TINY_NAME) == []  # load still works: the package copy comes first
    assert zoo_main(["verify", TINY_NAME]) == 1  # but the broken cache copy is a failure


def test_weights_swapped_between_check_and_load_are_never_loaded(
    tiny_entry, tiny_files, tmp_path, monkeypatch
):
    """A thread swaps model.safetensors between the real file and a same-sized copy with zeroed tensors,
    as fast as it can, while the model loads again and again: every load is the real weights or a
    WeightsIntegrityError (the bytes hashed are the bytes loaded). Before the fix: 43 of 150 tampered."""
    from training.hostile_probes import swap_race_counts, zeroed_copy

    home = tmp_path / "home"
    (home / TINY_NAME).mkdir(parents=True)
    for fn, body in tiny_files.items():
        (home / TINY_NAME / fn).write_bytes(body)
    monkeypatch.setenv("ZOO_HOME", str(home))
    real = tiny_files["model.safetensors"]
    counts = swap_race_counts(TINY_NAME, real, zeroed_copy(real), loads=150)
    assert counts["tampered"] == 0 and counts["real"] > 0 and counts["refused"] > 0, counts
