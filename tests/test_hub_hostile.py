"""The hub against hostile and malformed input: every image it receives (uploads, editor layers, the
editor's blob route, webcam frames) goes through zoo.decode; numbers and payloads it cannot use get a
readable message; per-session state is bounded."""

from __future__ import annotations

import resource
import uuid

import httpx
import pytest
from PIL import Image

from training.reliability_probes import ico_around_png


@pytest.fixture(scope="module")
def hub():
    import hub_app

    _, url, _ = hub_app.launch(server_port=None, prevent_thread_lock=True, quiet=True, mcp_server=False)
    try:
        yield hub_app, url
    finally:
        hub_app.demo.close()


@pytest.fixture(scope="module")
def client(hub):
    from gradio_client import Client

    return Client(hub[1], verbose=False)


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory):
    """A 120 KB PNG of 13000x13000 pixels (zeros): 507 MB as RGB, 2 GB as float32."""
    path = tmp_path_factory.mktemp("hostile") / "huge.png"
    Image.new("L", (13000, 13000)).save(path)
    return path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_small_file_that_decodes_huge_is_refused_in_every_input(client, hub, huge_png, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    before = _peak_mb()
    with pytest.raises(AppError, match="limit of 16,777,216 pixels"):
        client.predict(handle_file(str(huge_png)), 3, 0.5, 0, api_name="/mnist-denoise")
    ico = tmp_path / "a.ico"
    ico_around_png(ico, 13000)
    with pytest.raises(AppError, match="not an image file the zoo reads"):
        client.predict(handle_file(str(ico)), 3, 0.5, 0, api_name="/mnist-denoise")
    layer = {"background": None, "layers": [handle_file(str(huge_png))], "composite": None}
    with pytest.raises(AppError, match="the editor's layer.*limit"):
        client.predict(None, 0, "drawn", 7, 0, layer, api_name="/mnist-masked")
    assert _peak_mb() - before < 150  # nothing of that size was decoded in the hub's process

    from gradio.data_classes import FileData

    camera = next(
        b for b in hub[0].demo.blocks.values() if getattr(b, "streaming", False) and b.label == "camera"
    )
    import gradio as gr

    with pytest.raises(gr.Error, match="camera frame.*limit"):
        camera.preprocess(FileData(path=str(huge_png)))
    frame = tmp_path / "frame.png"
    Image.new("RGB", (64, 48), (1, 2, 3)).save(frame)
    assert camera.preprocess(FileData(path=str(frame))).shape == (48, 64, 3)


def _blob(url: str, editor_id: int, index, size: int, blob_id: str | None = None) -> httpx.Response:
    data = {
        "component_id": str(editor_id),
        "session_hash": "s" + uuid.uuid4().hex[:8],
        "fn_name": "accept_blobs",
        "id": blob_id or uuid.uuid4().hex,
        "type": "layer",
        "index": str(index),
    }
    return httpx.post(
        url + "gradio_api/component_server", data=data, files={"file": ("blob", b"\0" * size)}, timeout=60
    )


def test_the_editor_blob_route_is_bounded(hub):
    hub_app, url = hub
    editor = next(b for b in hub_app.demo.blocks.values() if type(b).__name__ == "ImageEditor")
    response = _blob(url, editor._id, 100_000_000, 1)
    assert response.status_code == 400 and "layer index" in response.text
    assert _blob(url, editor._id, 0, 1).status_code == 200
    assert _blob(url, editor._id, 0, 21 * 2**20).status_code == 413  # over the 20 MB upload limit
    for _ in range(30):  # 30 drawings of 5 MB each: only the newest are kept, up to the store's bound
        assert _blob(url, editor._id, 0, 5 * 2**20).status_code == 200
    from app.components import MAX_EDITOR_STORED_BYTES

    stored = sum(len(layer or b"") for blobs in editor.blob_storage.values() for layer in blobs.layers)
    assert 0 < stored <= MAX_EDITOR_STORED_BYTES


def test_numbers_payloads_and_names_the_hub_cannot_use_get_readable_answers(client, hub):
    from gradio_client.exceptions import AppError

    for seed, said in (
        (1e308, "seed must lie in 0.."),
        (2**64, "seed must lie in 0.."),
        (None, "whole number"),
    ):
        with pytest.raises(AppError, match=said):
            client.predict(None, 3, 0.5, seed, api_name="/mnist-denoise")
    url = hub[1]
    response = httpx.post(url + "gradio_api/call/no-such-model", json={"data": []})
    assert response.status_code == 404 and "/mnist-denoise" in response.json()["error"]
    event = httpx.post(url + "gradio_api/call/mnist-denoise", json={"data": [{"path": 5}, 3, 0.5, 0]})
    answer = httpx.get(url + f"gradio_api/call/mnist-denoise/{event.json()['event_id']}", timeout=60).text
    assert "not an image payload" in answer and "null" not in answer


@pytest.mark.slow
def test_session_state_is_bounded(hub):
    """Every new session costs Gradio a copy of each component's config; the hub keeps at most
    hub_app.SESSIONS of them (Gradio's default: 10,000, never released). Each /call/ is a new session."""
    hub_app, url = hub
    holder = hub_app.demo.state_holder
    for _ in range(hub_app.SESSIONS + 20):
        event = httpx.post(url + "gradio_api/call/mnist-denoise", json={"data": [None, 3, 0.5, 0]})
        assert "complete" in httpx.get(url + f"gradio_api/call/mnist-denoise/{event.json()['event_id']}").text
    assert hub_app.SESSIONS <= 200 and len(holder.session_data) <= hub_app.SESSIONS
