"""The hub's MCP server (Gradio's, for agents): its tools are the task endpoints, each described by its
docstring, a tool call answers, and an image URL on a private host is refused (Gradio's SSRF check)."""

from __future__ import annotations

import asyncio
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("mcp")


@pytest.fixture(scope="module")
def mcp_url():
    import hub_app

    _, url, _ = hub_app.launch(server_port=None, prevent_thread_lock=True, quiet=True, mcp_server=True)
    yield url + "gradio_api/mcp/"
    hub_app.demo.close()


@pytest.fixture()
def digit_url(tmp_path, digit):
    Image.fromarray((digit * 255).astype(np.uint8)).save(tmp_path / "digit.png")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/digit.png"
    server.shutdown()


def _session(url, work):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def run():
        async with streamablehttp_client(url) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)

    return asyncio.run(run())


def test_mcp_lists_every_task_endpoint_with_its_docstring_and_a_call_restores(mcp_url, digit_url):
    async def work(session):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        result = await session.call_tool("decode_point_view", {"z1": 1.0, "z2": -2.0})
        refused = await session.call_tool(
            "run_denoise", {"upload": digit_url, "sample_index": 0, "sigma": 0.5, "seed": 0}
        )
        return tools, result, refused

    tools, result, refused = _session(mcp_url, work)
    assert {"run_compare", "run_denoise", "run_masked", "run_nca", "run_feature_recon", "run_blocks"} <= set(
        tools
    )
    assert "Gaussian noise" in tools["run_denoise"].description  # the docstring tells an agent what it does
    assert not result.isError
    texts = " ".join(c.text for c in result.content if c.type == "text")
    assert "decoded from z = (1.0, -2.0)" in texts and "image.png" in texts  # the digit, as a file URL
    # Images come by URL; Gradio refuses private hosts (no server-side request forgery), said in words.
    assert refused.isError and "failed validation" in refused.content[0].text


IMAGE_TOOLS = (
    "run_denoise",
    "run_masked",
    "run_ae2d",
    "run_nca",
    "run_blocks",
    "run_feature_recon",
    "run_compare",
)


def _data_url(image: np.ndarray) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    Image.fromarray((image * 255).astype(np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_every_tool_runs_on_its_example_and_on_a_sent_image(mcp_url, digit):
    """No argument is required (the examples are reachable), and an image travels inside the call as a
    base64 data URL, so a private or offline deployment works too."""
    photo = np.stack([digit] * 3, -1).repeat(4, 0).repeat(4, 1)  # a 112x112 colour picture
    sent = {
        name: _data_url(photo if name in ("run_blocks", "run_feature_recon") else digit)
        for name in IMAGE_TOOLS
    }

    async def work(session):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        answers = {}
        for name in IMAGE_TOOLS:
            answers[name, "example"] = await session.call_tool(name, {})
            answers[name, "sent"] = await session.call_tool(name, {"upload": sent[name]})
        return tools, answers

    tools, answers = _session(mcp_url, work)
    for name in IMAGE_TOOLS:
        assert not tools[name].inputSchema.get("required"), name
        assert "Returns:" in tools[name].description and not tools[name].description.rstrip().endswith(
            ","
        ), name
        for how in ("example", "sent"):
            result = answers[name, how]
            text = " ".join(c.text for c in result.content if c.type == "text")
            assert not result.isError, (name, how, text[:400])


def test_a_tool_error_reaches_the_agent_in_words(mcp_url):
    import base64

    not_an_image = "data:image/png;base64," + base64.b64encode(b"these bytes are no picture").decode()

    async def work(session):
        return (
            await session.call_tool("run_denoise", {"sample_index": 10**6}),
            await session.call_tool("run_feature_recon", {"upload": not_an_image}),
        )

    out_of_range, bad_image = _session(mcp_url, work)
    for result, words in ((out_of_range, "greater than maximum"), (bad_image, "not an image")):
        text = " ".join(c.text for c in result.content if c.type == "text")
        assert result.isError and "upstream Gradio app has raised an exception" not in text
        assert words in text.lower(), text[:300]
