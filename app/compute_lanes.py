"""Two compute lanes in the hub process: live frames at normal CPU priority, everything else
one at a time on a background thread at lower priority.

Why: the hub runs each computation with one PyTorch thread (hub_app.py), so two lanes keep the
two cores of a small machine busy without oversubscribing them. Under load the CPU is
saturated anyway (50 callers' HTTP handling, Gradio's per-session work, the browser); a fair
scheduler then gives a webcam frame only a small share, and the stream stalls. The background
lane's thread has a higher nice value, so whenever a live frame and a task call both want the
CPU, the frame wins (CFS weights: nice 0 = 1024, nice 10 = 110), while a task call still gets the
CPU whenever frames leave it idle. Measured with `python -m training.load_test --runs 5` (50
callers, same machine) while the idle stream ran at 10 FPS: it kept 71-79% of that with the
background lane at nice 10, and 35-42% with both lanes at equal priority (ZOO_HUB_BACKGROUND_NICE=0,
3 runs). With today's faster stream (20-27 FPS idle) it keeps 7.6-9.4 FPS under load, 31-39%: the
rest goes to the hub's HTTP serving for the 50 callers (its event loop, normal priority), the callers'
own process and the browser, all on the same two cores (README, load test).

Task calls run in arrival order on the one background thread (so two of them never compete for
the CPU with each other); live frames take turns on their own lock.
"""

from __future__ import annotations

import contextvars
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

# Added to the background thread's nice value (max 19); ZOO_HUB_BACKGROUND_NICE=0 gives both lanes
# the same priority (how the load test's comparison figure is rerun).
BACKGROUND_NICE = int(os.environ.get("ZOO_HUB_BACKGROUND_NICE", "10"))


def _lower_this_threads_priority(increment: int) -> None:
    """Raise the calling thread's nice value by `increment` (allowed without privileges).

    Linux only: there a thread is a schedulable task with its own nice value. Elsewhere
    os.setpriority would change the whole process, so the lane just runs at normal priority.
    """
    if increment <= 0 or not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
    except OSError:  # a sandbox may forbid it: normal priority still works, just less smoothly
        pass


class ComputeLanes:
    def __init__(self, background_nice: int | None = None) -> None:
        background_nice = BACKGROUND_NICE if background_nice is None else background_nice
        self._live = threading.Lock()
        self._background = ThreadPoolExecutor(
            1,
            thread_name_prefix="zoo-background",
            initializer=_lower_this_threads_priority,
            initargs=(background_nice,),
        )

    def run(self, fn: Callable[..., Any], *args: Any, urgent: bool = False, **kwargs: Any) -> Any:
        """fn(*args, **kwargs) on its lane; returns its result or raises its exception.

        urgent=True (a live frame): on the caller's thread, one live frame at a time.
        Otherwise: queued to the background thread, with the caller's context variables
        (Gradio's progress reporting lives in them).
        """
        if urgent:
            with self._live:
                return fn(*args, **kwargs)
        context = contextvars.copy_context()
        return self._background.submit(context.run, fn, *args, **kwargs).result()


LANES = ComputeLanes()
