"""Network bounds for weight downloads: every request times out, and all of them together too.

An endpoint that accepts connections and never answers must not stall `zoo.load` for
minutes; a dead port must say "refused". Both are tested against servers on 127.0.0.1.
"""

from __future__ import annotations

import os

NETWORK_DEADLINE_S = 45.0  # the most a download may take in all (every file, retries included)
REQUEST_TIMEOUT_S = 10.0  # per HTTP request: connect, or a silence while reading


def network_deadline() -> float:
    """Seconds a download may take in all: `$ZOO_HUB_TIMEOUT`, default NETWORK_DEADLINE_S."""
    try:
        return float(os.environ.get("ZOO_HUB_TIMEOUT", NETWORK_DEADLINE_S))
    except ValueError:
        return NETWORK_DEADLINE_S


def endpoint_name() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def _with_deadline(fn, what: str):
    """Run fn() on a daemon thread; give up after network_deadline() with an error naming the endpoint.

    The per-request timeouts bound each request; the deadline bounds them all together, so an
    endpoint that accepts connections and never answers cannot stall the caller for minutes.
    """
    import threading

    box: dict = {}

    def work():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=work, name="zoo-download", daemon=True)
    thread.start()
    thread.join(network_deadline())
    if thread.is_alive():
        raise TimeoutError(f"{endpoint_name()} did not answer within {network_deadline():.0f} s while {what}")
    if "error" in box:
        raise box["error"]
    return box["value"]


def describe_network_error(exc: BaseException) -> str:
    """A one-line reason that names the endpoint (refused, timed out, unknown host, HTTP status)."""
    text = " ".join(str(exc).split())[:200]
    chain, cur = [], exc
    while cur is not None and len(chain) < 6:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text.lower():
        reason = "connection refused (nothing listens there)"
    elif any(isinstance(e, TimeoutError) for e in chain) or "timed out" in text.lower():
        reason = f"no answer in time ({text})"
    else:
        reason = f"{type(exc).__name__}: {text}"
    return f"could not download from {endpoint_name()}: {reason}"
