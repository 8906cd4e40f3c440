"""The one place a check's id, points, visibility, time limit and threshold are declared.

Every front-end (pytest, nbgrader cells, the CLI) reads checks from here, so a
check's points can never differ between them. The assignments are the check
modules of this package named `a<N>_<name>`: adding one is adding its module. Its
hidden checks live apart, in `hidden/<same name>` (see that package), which the student
kit leaves out.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Callable

from autograder.course import course_settings

DEFAULT_TIMEOUT_S = 60.0  # for a check not yet measured on the reference
# A check's time limit is this many times what it takes on the reference solution, and
# never under the floor: slow but correct code (loops, a loaded machine) still finishes,
# while code that hangs every check costs about ten times the reference's grading.
LIMIT_FACTOR = 10
LIMIT_FLOOR_S = 10.0
REFERENCE_TIMES = Path(__file__).with_name("reference_times.toml")
_ASSIGNMENT_MODULE = re.compile(r"a\d+_\w+")
HIDDEN_PACKAGE = "autograder.checks.hidden"
ASSIGNMENTS = tuple(sorted(
    module.name for module in pkgutil.iter_modules([str(Path(__file__).parent)])
    if _ASSIGNMENT_MODULE.fullmatch(module.name)))

_CHECKS: dict[str, list["Check"]] = {}
_DATASETS: dict[str, tuple[str, ...]] = {}


class CourseSettingsError(ValueError):
    """The course's autograder.toml names something the kit does not know."""


@dataclass(frozen=True)
class Check:
    """A named property of a submission, worth `points` when it holds."""

    assignment: str
    name: str
    points: float
    hidden: bool
    declared_timeout_s: float | None
    func: Callable[[ModuleType], None]
    threshold: float | None = None
    gpu_only: bool = False  # runs only with CUDA (`require_cuda()`), skipped elsewhere

    @property
    def id(self) -> str:
        return f"{self.assignment}.{self.name}"

    @property
    def timeout_s(self) -> float:
        """The course's limit for this check (`[time_limits]`, by id, else `check_s`), else
        the one declared with it, else the one derived from its measured reference time."""
        course = course_settings().get("time_limits", {})
        if self.id in course or "check_s" in course:
            return float(course.get(self.id, course.get("check_s")))
        if self.declared_timeout_s is not None:
            return self.declared_timeout_s
        measured = reference_times().get(self.id)
        return DEFAULT_TIMEOUT_S if measured is None else limit_from_reference(measured)

    @property
    def title(self) -> str:
        return (self.func.__doc__ or self.name).strip().splitlines()[0]


def checker(assignment: str, *, datasets: tuple[str, ...] = ()):
    """Return the `@check(points=…, hidden=…)` decorator for one assignment, whose
    checks read `datasets` (prepared by the grader before any child starts)."""
    _DATASETS[assignment] = tuple(datasets)

    def check(*, points: float, hidden: bool = False, timeout_s: float | None = None,
              threshold: float | None = None, gpu_only: bool = False):
        """`threshold`: the calibrated default of the one number a course may move
        (`[thresholds]` in autograder.toml), read in the check with `threshold(id)`.
        `timeout_s`: only where the measured reference time is not the right base.
        `gpu_only`: the check starts with `require_cuda()`, so a report made without
        running it (no submission, a crash) treats it as that would."""
        def register(func: Callable[[ModuleType], None]) -> Callable[[ModuleType], None]:
            entry = Check(assignment, func.__name__, points, hidden, timeout_s, func, threshold,
                          gpu_only)
            _CHECKS.setdefault(assignment, []).append(entry)
            return func

        return register

    return check


def limit_from_reference(seconds: float) -> float:
    return max(LIMIT_FLOOR_S, LIMIT_FACTOR * seconds)


@cache
def reference_times() -> dict[str, float]:
    """Seconds each check takes on the reference (benchmarks/check_times.py --write)."""
    with open(REFERENCE_TIMES, "rb") as handle:
        return tomllib.load(handle)


def checks_for(assignment: str) -> list[Check]:
    """The checks of one assignment, in the order they are defined: the public ones, then
    the hidden ones where this install has them (a student's has not)."""
    _require_known(assignment)
    importlib.import_module(f"autograder.checks.{assignment}")
    _import_hidden(assignment)
    return list(_CHECKS[assignment])


def _import_hidden(assignment: str) -> None:
    """Register the assignment's hidden checks. Only a missing hidden package or module
    means there are none here; any other failing import is the kit's bug and is raised."""
    module = f"{HIDDEN_PACKAGE}.{assignment}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name not in (HIDDEN_PACKAGE, module):
            raise


def datasets_for(assignment: str) -> tuple[str, ...]:
    """The datasets an assignment's checks read."""
    checks_for(assignment)
    return _DATASETS[assignment]


def check_by_id(check_id: str) -> Check:
    """Look up `assignment.check_name`."""
    assignment, _, name = check_id.partition(".")
    for entry in checks_for(assignment):
        if entry.name == name:
            return entry
    raise KeyError(f"unknown check {check_id!r}")


def thresholds() -> dict[str, float]:
    """Every check's threshold, the course's where autograder.toml sets one."""
    defaults = {c.id: c.threshold for a in ASSIGNMENTS for c in checks_for(a)
                if c.threshold is not None}
    _validate_course_thresholds()
    return {**defaults, **_course_thresholds()}


def threshold(check_id: str) -> float:
    """The threshold a check compares against: the course's, else the calibrated one.
    Only the assignments the course file names are imported (a6's imports Lightning)."""
    _validate_course_thresholds()
    return _course_thresholds().get(check_id, check_by_id(check_id).threshold)


def _course_thresholds() -> dict[str, float]:
    return {key: float(value) for key, value in
            course_settings().get("thresholds", {}).items()}


def _validate_course_thresholds() -> None:
    """A key that names no check with a threshold is an error that lists the known keys."""
    for key in _course_thresholds():
        assignment, _, name = key.partition(".")
        if assignment in ASSIGNMENTS and any(c.name == name and c.threshold is not None
                                             for c in checks_for(assignment)):
            continue
        known = sorted(c.id for a in ASSIGNMENTS for c in checks_for(a)
                       if c.threshold is not None)
        raise CourseSettingsError(
            f"autograder.toml sets [thresholds] for {key!r}, which the kit does not know; "
            f"the known keys are: {', '.join(known)}.")


def _require_known(assignment: str) -> None:
    if assignment not in ASSIGNMENTS:
        raise KeyError(f"unknown assignment {assignment!r}; known: {', '.join(ASSIGNMENTS)}")
