"""Which data split may be read where: training and model choice never see a test split.

Every dataset has three parts (DESIGN: evaluation protocol):

* ``train``: what a trainer fits;
* ``validation``: held out of the training file and used for every choice among runs,
  checkpoints, levers and blend weights (MNIST / Fashion-MNIST: the last 5,000 of the 60,000
  training images; the photo corpus: a content-hash slice of each source);
* ``test`` (and the photo corpus' out-of-domain ``ood``): read once, for the figure in a card,
  by ``training.evaluate`` and the benchmark.

Trainers and screening tools run inside `test_split_locked`; a loader asked for a test split
inside it raises `TestSplitLocked`. The product (hub examples, a card's quick check) is not
locked: it reads test images but chooses nothing.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from typing import Callable, Iterator, TypeVar

VALIDATION_SIZE = 5_000  # of MNIST's / Fashion-MNIST's 60,000 training images: the last 5,000
TEST_SPLITS = frozenset({"test", "ood"})


def validation_count(n: int) -> int:
    """How many of a training file's `n` images (its last ones) are held out for validation: 5,000 of
    50,000 or more (MNIST's and Fashion-MNIST's 60,000, CIFAR-10's 50,000), else a tenth (small files in
    tests and user folders), never all of them."""
    return VALIDATION_SIZE if n >= 10 * VALIDATION_SIZE else n // 10


def train_validation(n: int, split: str) -> slice:
    """The slice of a training file's `n` images that `split` ("train" or "validation") takes."""
    held = validation_count(n)
    if split == "validation":
        if held == 0:
            raise ValueError(f"a training file of {n} image(s) is too small to hold any out for validation")
        return slice(n - held, n)
    return slice(0, n - held)


_lock = threading.Lock()
_holders: list[str] = []  # the locks in force, innermost last (process-wide: trainers are processes)


class TestSplitLocked(PermissionError):
    """A trainer or screening tool asked for a test split."""

    __test__ = False  # not a pytest test class despite the name


@contextlib.contextmanager
def test_split_locked(holder: str) -> Iterator[None]:
    """Inside this block no loader hands out a test split; `holder` names who locked it."""
    with _lock:
        _holders.append(holder)
    try:
        yield
    finally:
        with _lock:
            _holders.remove(holder)


F = TypeVar("F", bound=Callable)


def no_test_split(holder: str) -> Callable[[F], F]:
    """Decorator form of `test_split_locked`, for a tool's `main`."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def locked(*args, **kwargs):
            with test_split_locked(holder):
                return fn(*args, **kwargs)

        locked.test_split_holder = holder  # type: ignore[attr-defined]  # tests find locked tools by it
        return locked  # type: ignore[return-value]

    return wrap


def locked_by() -> str | None:
    """Who holds the lock now (the innermost holder), or None."""
    with _lock:
        return _holders[-1] if _holders else None


def check_readable(split: str, dataset: str) -> None:
    """Raise `TestSplitLocked` when `split` of `dataset` is a test split and a lock is in force."""
    holder = locked_by()
    if split in TEST_SPLITS and holder is not None:
        raise TestSplitLocked(
            f"{holder} may not read the {split!r} split of {dataset}: choices are made on "
            f"split='validation'; only `python -m training.evaluate` and `python -m training.benchmark` "
            f"read test data, once, for the figures in the cards"
        )


__all__ = [
    "TEST_SPLITS",
    "TestSplitLocked",
    "VALIDATION_SIZE",
    "check_readable",
    "train_validation",
    "validation_count",
    "locked_by",
    "no_test_split",
    "test_split_locked",
]
