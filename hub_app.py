"""The restoration model zoo's Gradio hub: one tab per task, a webcam tab, the cards.

    python hub_app.py          # serves on http://127.0.0.1:7860 (GRADIO_SERVER_PORT to change)
`demo` is built at import time, so `gradio hub_app.py` and Hugging Face Spaces work too.
"""

from __future__ import annotations

import os

import gradio as gr

from app import tabs

INTRO = """# Restoration model zoo
Small image-restoration models, each next to the classical method you would otherwise use.
Load any of them in Python with `zoo.load(NAME)`; every number on the cards can be rerun."""


MAX_UPLOAD = os.environ.get("ZOO_MAX_UPLOAD", "20mb")
# Sessions whose state Gradio keeps (its default 10,000 held ~320 KB each, never released: a copy of
# every component's config per session). The oldest are dropped beyond this many.
SESSIONS = int(os.environ.get("ZOO_HUB_SESSIONS", "100"))
# Handlers of one endpoint that may run at once. Their computations still go one at a time through
# app.compute_lanes; what runs in parallel is decoding uploads (zoo.decode's workers), so one visitor's
# hostile file does not hold up the next visitor of the same tab.
CONCURRENCY = int(os.environ.get("ZOO_HUB_CONCURRENCY", "4"))
# Gradio's upload and output cache: files older than an hour are deleted, checked every 10 minutes.
DELETE_CACHE = (600, 3600)


def mcp_enabled() -> bool:
    """Gradio's MCP server (for agents, at /gradio_api/mcp/) when its `mcp` package is installed;
    ZOO_MCP=0 turns it off."""
    import importlib.util

    return os.environ.get("ZOO_MCP", "1") != "0" and importlib.util.find_spec("mcp") is not None


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Restoration model zoo", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            tabs.build_all()  # every tab module under app/ registers itself (app.tabs)
    return demo


demo = build_demo()


def _unknown_api_name(request, exc):
    """An api_name no endpoint has: 404 with the names there are (Gradio answers 500 and a traceback)."""
    from fastapi.responses import JSONResponse

    names = sorted(d.api_name for d in demo.fns.values() if d.api_name and d.api_visibility == "public")
    return JSONResponse({"error": f"{exc}. Endpoints: {', '.join('/' + n for n in names)}"}, status_code=404)


def launch(**overrides):
    """Serve `demo` with the hub's settings (the tests and benchmarks start it the same way)."""
    from gradio.route_utils import FnIndexInferError

    settings = dict(
        app_kwargs={"exception_handlers": {FnIndexInferError: _unknown_api_name}},
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        # errors outside the tabs' handlers (Gradio's payload checks, MCP's file fetching) reach API and
        # MCP clients in words instead of "the upstream app has raised an exception"; the handlers' own
        # errors are gr.Error messages already (app.common.friendly)
        show_error=True,
        state_session_capacity=SESSIONS,
        max_file_size=MAX_UPLOAD,  # bigger uploads are refused by Gradio before they are stored
        mcp_server=mcp_enabled(),
    )
    return demo.queue(default_concurrency_limit=CONCURRENCY).launch(**{**settings, **overrides})


FIRST_ANSWER_WAIT = 30.0  # seconds the warm-up waits for the first answer before loading the rest


def warm_up(first_answer_wait: float = FIRST_ANSWER_WAIT) -> list[str]:
    """Load every model and the example photos once in the background, so the first visitor of a tab
    does not wait for imports and weight checks (feature-recon's first load imports timm: several
    seconds). The first screen's model comes first; the rest waits until the hub has given its first
    answer (or `first_answer_wait` seconds have passed), so as not to slow that answer down.
    Returns the models in the order they were loaded."""
    import zoo
    from app.common import FIRST_ANSWER, pipeline
    from app.feature_tabs import preload

    names = tabs.in_tab_order(zoo.list_models())  # the first screen's model(s) first
    first_tab = tabs.tab_for(names[0]) if names else None
    first_screen = sum(tabs.tab_for(n) is first_tab for n in names)
    for i, name in enumerate(names):
        if i == first_screen:
            FIRST_ANSWER.wait(first_answer_wait)
        try:
            pipeline(name)
        except Exception:  # the tab reports a missing or broken model clearly when it is used
            pass
    from app import blocks_tab, compare_tab
    from zoo import decode as image_decoder

    image_decoder.warm(2)  # the upload decoders' processes, so no visitor waits for their start
    for decode in (preload, blocks_tab.examples, compare_tab.examples):
        try:
            decode()
        except Exception:  # the tab says what is missing when it is used
            pass
    return names


if __name__ == "__main__":
    import threading

    import torch

    # One thread per computation: with two OpenMP threads on a 2-core machine, anything else running
    # (a second request, the visitor's own browser in a local test) stalls every parallel region;
    # measured with the webcam tab: model latency 96-509 ms with 2 threads, 94-106 ms with 1.
    torch.set_num_threads(int(os.environ.get("ZOO_HUB_THREADS", "1")))

    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    launch()
