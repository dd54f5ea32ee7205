"""The hub's background warm-up: the first screen's model first, the rest only after the first answer
(so it does not slow that answer down), and a model asked for twice at once is loaded once."""

from __future__ import annotations

import threading
import time

import pytest

import zoo


@pytest.fixture()
def fake_loads(monkeypatch):
    """zoo.load replaced by a recorder (slow enough for two callers to overlap); the cache emptied."""
    from app import blocks_tab, common, compare_tab, feature_tabs

    loaded = []

    def fake_load(name):
        loaded.append(name)
        time.sleep(0.05)
        return object()

    monkeypatch.setattr(common.zoo, "load", fake_load)
    for module, attr in ((feature_tabs, "preload"), (blocks_tab, "examples"), (compare_tab, "examples")):
        monkeypatch.setattr(module, attr, lambda: None)
    common._loaded.cache_clear()
    common.FIRST_ANSWER.clear()
    yield loaded
    common._loaded.cache_clear()
    common.FIRST_ANSWER.clear()


def test_warm_up_loads_the_first_screen_then_waits_for_the_first_answer(fake_loads):
    import hub_app
    from app import common, tabs

    order = tabs.in_tab_order(zoo.list_models())
    first_tab = tabs.tab_for(order[0])
    first_screen = [n for n in order if tabs.tab_for(n) is first_tab]
    positions = [tabs.registered().index(tabs.tab_for(n)) for n in order]
    assert positions == sorted(positions)  # the tabs' order, as a visitor sees them left to right
    done = []
    worker = threading.Thread(target=lambda: done.append(hub_app.warm_up(first_answer_wait=30)))
    worker.start()
    time.sleep(1.0)
    assert fake_loads == first_screen  # the rest waits for the first answer
    common.FIRST_ANSWER.set()  # as friendly() does once a tab has answered
    worker.join(30)
    assert done == [order] and fake_loads == order and sorted(order) == sorted(zoo.list_models())


def test_warm_up_goes_on_after_its_wait_when_nobody_asks(fake_loads):
    import hub_app

    t0 = time.perf_counter()
    assert sorted(hub_app.warm_up(first_answer_wait=0.3)) == sorted(zoo.list_models())
    assert 0.3 <= time.perf_counter() - t0 < 10 and len(fake_loads) == len(zoo.list_models())


def test_a_model_asked_for_twice_at_once_is_loaded_once(fake_loads):
    from app import common

    got = []
    threads = [threading.Thread(target=lambda: got.append(common.pipeline("mnist-ae2d"))) for _ in range(3)]
    [t.start() for t in threads], [t.join() for t in threads]
    assert fake_loads == ["mnist-ae2d"] and all(g is got[0] for g in got)


def test_any_answer_sets_the_first_answer_event(fake_loads):
    from app import common

    @common.friendly
    def fails():
        raise ValueError("bad input")

    assert not common.FIRST_ANSWER.is_set()
    with pytest.raises(Exception, match="bad input"):
        fails()
    assert common.FIRST_ANSWER.is_set()  # an error is an answer too: the visitor is no longer waiting
