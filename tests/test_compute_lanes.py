"""The hub's compute lanes: live frames never wait for task calls; task calls run one at a time."""

from __future__ import annotations

import contextvars
import os
import sys
import threading
import time

import pytest

from app.compute_lanes import ComputeLanes


def _in_threads(fn, n: int) -> list[threading.Thread]:
    threads = [threading.Thread(target=fn, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def test_task_calls_run_one_at_a_time_in_arrival_order():
    lanes, inside, peak, order, lock = ComputeLanes(), [0], [0], [], threading.Lock()

    def work(i):
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        time.sleep(0.03)  # longer than the spacing below: a queue forms
        order.append(i)
        with lock:
            inside[0] -= 1
        return i * 10

    results, callers = [], []
    for i in range(5):  # submitted one after another from this thread's point of view
        callers.append(threading.Thread(target=lambda i=i: results.append(lanes.run(work, i))))
        callers[-1].start()
        time.sleep(0.02)  # so the arrival order is the start order
    for t in callers:
        t.join(5)
    assert peak[0] == 1
    assert order == [0, 1, 2, 3, 4]
    assert sorted(results) == [0, 10, 20, 30, 40]


def test_a_live_frame_does_not_wait_for_a_running_task_call():
    lanes, release, started = ComputeLanes(), threading.Event(), threading.Event()

    def slow_task():
        started.set()
        release.wait(5)
        return "task"

    task = threading.Thread(target=lambda: lanes.run(slow_task))
    task.start()
    assert started.wait(5)
    t0 = time.perf_counter()
    assert lanes.run(lambda: "frame", urgent=True) == "frame"  # while the task still holds its lane
    assert time.perf_counter() - t0 < 1.0 and task.is_alive()
    release.set()
    task.join(5)


def test_live_frames_take_turns():
    lanes, inside, peak, lock = ComputeLanes(), [0], [0], threading.Lock()

    def frame(_):
        def work():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.01)
            with lock:
                inside[0] -= 1

        lanes.run(work, urgent=True)

    for t in _in_threads(frame, 4):
        t.join(5)
    assert peak[0] == 1


def test_errors_and_context_reach_the_caller_and_the_background_thread():
    lanes, var = ComputeLanes(), contextvars.ContextVar("var", default="unset")

    def boom():
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        lanes.run(boom)
    var.set("the caller's")  # Gradio keeps its progress reporting in context variables like this
    assert lanes.run(var.get) == "the caller's"
    assert lanes.run(lambda: threading.current_thread().name).startswith("zoo-background")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux-only")
def test_the_background_lane_runs_at_lower_cpu_priority_than_live_frames():
    lanes = ComputeLanes(background_nice=5)

    def nice():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    live, background = lanes.run(nice, urgent=True), lanes.run(nice)
    assert background == min(19, live + 5)
    assert nice() == live  # the caller's own priority is untouched
