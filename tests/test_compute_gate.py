"""The hub's compute gate: one computation at a time, live frames and the rest taking turns."""
from __future__ import annotations

import threading
import time

from app.compute_gate import ComputeGate


def _wait_until(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def _queue(gate: ComputeGate, order: list, label: str, urgent: bool) -> threading.Thread:
    def run():
        with gate.hold(urgent=urgent):
            order.append(label)

    t = threading.Thread(target=run)
    before = gate._waiting[urgent]
    t.start()
    _wait_until(lambda: gate._waiting[urgent] == before + 1)
    return t


def test_one_holder_at_a_time():
    gate, inside, peak, lock = ComputeGate(), [0], [0], threading.Lock()

    def work(urgent):
        for _ in range(20):
            with gate.hold(urgent=urgent):
                with lock:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                time.sleep(0.001)
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=work, args=(i % 2 == 0,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 1


def test_a_live_frame_jumps_the_queue_of_uploads():
    gate, order = ComputeGate(), []
    with gate.hold():  # an upload is being computed
        threads = [_queue(gate, order, "upload-1", False), _queue(gate, order, "upload-2", False),
                   _queue(gate, order, "frame", True)]
    for t in threads:
        t.join()
    assert order[0] == "frame"


def test_a_stream_does_not_starve_uploads():
    gate, order = ComputeGate(), []
    with gate.hold(urgent=True):  # a frame is being computed
        threads = [_queue(gate, order, "frame-2", True), _queue(gate, order, "upload", False)]
    for t in threads:
        t.join()
    assert order == ["upload", "frame-2"]


def test_alone_each_class_goes_straight_in():
    gate, order = ComputeGate(), []
    for urgent in (True, True, False, False):
        with gate.hold(urgent=urgent):
            order.append(urgent)
    assert order == [True, True, False, False]


def test_a_checkpoint_lets_a_waiting_frame_through_then_resumes_before_other_uploads():
    gate, order = ComputeGate(), []
    paused = []
    with gate.hold():  # upload-1, first stage
        order.append("upload-1 stage 1")
        threads = [_queue(gate, order, "upload-2", False), _queue(gate, order, "frame", True)]
        paused.append(gate.checkpoint())
        order.append("upload-1 stage 2")
    for t in threads:
        t.join()
    assert paused == [True]
    assert order == ["upload-1 stage 1", "frame", "upload-1 stage 2", "upload-2"]


def test_a_checkpoint_without_a_waiting_frame_or_outside_the_gate_does_nothing():
    gate, order = ComputeGate(), []
    assert gate.checkpoint() is False  # not holding the gate
    with gate.hold():
        upload = _queue(gate, order, "upload-2", False)
        assert gate.checkpoint() is False  # only normal callers wait: keep going
        order.append("upload-1")
    with gate.hold(urgent=True):
        assert gate.checkpoint() is False  # frames never pause
    upload.join()
    assert order == ["upload-1", "upload-2"]
