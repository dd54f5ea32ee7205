"""One computation at a time in the hub process, live frames taking turns with the rest.

Why: every handler runs PyTorch with one OpenMP team of torch.get_num_threads() threads.
Two handlers at once on a 2-core machine put 4 busy threads on 2 cores, and OpenMP's
spin-waiting makes both far slower than running one after the other; a webcam frame stuck
behind a queue of uploads stalls the stream. The gate admits one handler at a time and
alternates between the two classes when both wait: an urgent caller (a webcam frame) waits
for at most the one computation in flight, and a normal caller is never starved by a
stream, since after an urgent turn a waiting normal caller goes first.

A long normal handler calls `checkpoint()` between its stages: when a live frame is waiting,
it hands the gate over and resumes right after that frame (before any other normal caller),
so a frame waits for one stage, not for the whole handler.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


class ComputeGate:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._waiting = {True: 0, False: 0}  # urgent?: number of callers waiting to enter
        self._resuming = 0  # normal holders paused at a checkpoint, waiting to continue
        self._last_urgent = False
        self._urgent_turns = 0  # how many urgent callers have entered so far
        self._holder = threading.local()  # .urgent: this thread's class while it holds the gate

    def _may_enter(self, urgent: bool, resuming: bool = False) -> bool:
        if self._busy:
            return False
        if urgent:  # a frame goes first unless the last turn was a frame and a normal caller waits
            return not (self._waiting[False] or self._resuming) or not self._last_urgent
        if self._resuming and not resuming:  # a paused handler continues before new ones start
            return False
        return not self._waiting[True] or self._last_urgent

    @contextmanager
    def hold(self, urgent: bool = False) -> Iterator[None]:
        with self._cond:
            self._waiting[urgent] += 1
            try:
                self._cond.wait_for(lambda: self._may_enter(urgent))
            finally:
                self._waiting[urgent] -= 1
            self._busy, self._last_urgent = True, urgent
            self._urgent_turns += urgent
        self._holder.urgent = urgent
        try:
            yield
        finally:
            self._holder.urgent = None
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def checkpoint(self) -> bool:
        """Between two stages of a normal handler: let waiting live frames through, then continue.

        Returns True when it paused. A no-op outside `hold()` and for urgent holders.
        """
        if getattr(self._holder, "urgent", None) is not False:
            return False
        with self._cond:
            if not self._waiting[True]:
                return False
            self._busy, self._last_urgent = False, False
            self._resuming += 1
            turns = self._urgent_turns
            self._cond.notify_all()
            try:  # continue once a waiting frame has had its turn (or gave up waiting)
                self._cond.wait_for(lambda: (self._urgent_turns > turns or not self._waiting[True])
                                    and self._may_enter(False, resuming=True))
            finally:
                self._resuming -= 1
            self._busy, self._last_urgent = True, False
        return True


GATE = ComputeGate()
