"""The grader's trusted versions of the students' code, where this kit has them.

Checks run a trusted version in place of one of the student's functions or classes (the
model under which their loop is tested, the `EarlyStopping` inside their training run),
so that a bug costs its own check only. Those versions are solutions, so they live in
`autograder.checks.trusted`, which only the instructor's kit holds (`autograder release
--student` leaves it out). In the student kit a check runs the student's own version in
their place: there one bug can fail more than its own check, and `autograder check` says so.
"""
from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

from autograder.checks.support import require

TRUSTED = "autograder.checks.trusted"


def have_trusted_versions() -> bool:
    """Whether this is the instructor's kit, which holds the trusted versions."""
    try:
        return importlib.util.find_spec(TRUSTED) is not None
    except ValueError:  # a test that hides the package leaves None in sys.modules
        return False


def trusted_module(name: str) -> ModuleType | None:
    """`autograder.checks.trusted.<name>`, or None in the student kit."""
    return importlib.import_module(f"{TRUSTED}.{name}") if have_trusted_versions() else None


def trusted_or_own(submission: ModuleType, module: str, name: str, own: str | None = None) -> Any:
    """The trusted `name` from `checks/trusted/<module>`, else (the student kit) the
    student's own `own` (by default also `name`), or a failure saying it is missing."""
    trusted = trusted_module(module)
    return getattr(trusted, name) if trusted is not None else require(submission, own or name)
