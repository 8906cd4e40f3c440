"""Which idle warm workers the pool keeps: those of the KEPT_SIGNATURES most recently
asked-for mounts and environments (a grader alternating between two course files keeps
both warm), never a dead one; the others are closed. The policy alone, with workers that
start in no time: a real one takes seconds, and tests/test_sandbox.py runs real ones."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder import workers
from autograder.workers import KEPT_SIGNATURES, WarmPool

COURSE_A, COURSE_B, COURSE_C = ((Path(f"/course-{c}/autograder.toml"),) for c in "abc")


class InstantWorker:
    started: list[InstantWorker] = []

    def __init__(self, readable: tuple[Path, ...], env: dict[str, str]) -> None:
        self.signature = workers._signature(readable, env)
        self.alive, self.closed = True, False
        InstantWorker.started.append(self)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> WarmPool:
    monkeypatch.setattr(workers, "WarmWorker", InstantWorker)
    InstantWorker.started = []
    return WarmPool()


def _grade(pool: WarmPool, readable: tuple[Path, ...]) -> InstantWorker:
    with pool.borrow(readable, {}) as worker:
        return worker


def test_alternating_between_two_course_files_keeps_both_warm(pool):
    assert KEPT_SIGNATURES == 2
    first_a, first_b = _grade(pool, COURSE_A), _grade(pool, COURSE_B)
    assert [_grade(pool, course) for course in (COURSE_A, COURSE_B, COURSE_A)] == \
        [first_a, first_b, first_a]
    assert InstantWorker.started == [first_a, first_b]
    assert not first_a.closed and not first_b.closed


def test_a_third_course_file_closes_the_least_recent_ones_workers(pool):
    a, b = _grade(pool, COURSE_A), _grade(pool, COURSE_B)
    _grade(pool, COURSE_C)
    assert a.closed and not b.closed
    assert _grade(pool, COURSE_B) is b


def test_a_dead_worker_is_closed_and_replaced(pool):
    dead = _grade(pool, COURSE_A)
    dead.alive = False
    assert _grade(pool, COURSE_A) is not dead
    assert dead.closed
