"""The one place a check's id, points, visibility and time limit are declared.

Every front-end (pytest, nbgrader cells, the CLI) reads checks from here, so a
check's points can never differ between them.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Callable

ASSIGNMENTS = ("a1_backprop", "a2_training_loop", "a3_regularization", "a4_early_stopping")
DEFAULT_TIMEOUT_S = 60.0

_CHECKS: dict[str, list["Check"]] = {}


@dataclass(frozen=True)
class Check:
    """A named property of a submission, worth `points` when it holds."""

    assignment: str
    name: str
    points: float
    hidden: bool
    timeout_s: float
    func: Callable[[ModuleType], None]

    @property
    def id(self) -> str:
        return f"{self.assignment}.{self.name}"

    @property
    def title(self) -> str:
        return (self.func.__doc__ or self.name).strip().splitlines()[0]


def checker(assignment: str):
    """Return the `@check(points=…, hidden=…)` decorator for one assignment."""

    def check(*, points: float, hidden: bool = False, timeout_s: float = DEFAULT_TIMEOUT_S):
        def register(func: Callable[[ModuleType], None]) -> Callable[[ModuleType], None]:
            entry = Check(assignment, func.__name__, points, hidden, timeout_s, func)
            _CHECKS.setdefault(assignment, []).append(entry)
            return func

        return register

    return check


def checks_for(assignment: str) -> list[Check]:
    """The checks of one assignment, in the order they are defined."""
    if assignment not in ASSIGNMENTS:
        raise KeyError(f"unknown assignment {assignment!r}; known: {', '.join(ASSIGNMENTS)}")
    importlib.import_module(f"autograder.checks.{assignment}")
    return list(_CHECKS[assignment])


def check_by_id(check_id: str) -> Check:
    """Look up `assignment.check_name`."""
    assignment, _, name = check_id.partition(".")
    for entry in checks_for(assignment):
        if entry.name == name:
            return entry
    raise KeyError(f"unknown check {check_id!r}")
