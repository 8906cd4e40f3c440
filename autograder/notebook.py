"""The nbgrader front-end: a notebook's autograder test cell runs one check.

    from autograder.notebook import run_check
    run_check("a2_training_loop.zero_grad_once_per_batch", globals())

The cell passes (and nbgrader awards the check's points) or raises
AssertionError with the same message `autograder grade` reports. nbgrader
zeroes a grade cell that writes anything to stderr, so warnings printed while
the check runs (torch, Lightning, tqdm) are sent to stdout instead.
"""
from __future__ import annotations

import contextlib
import sys
import warnings

from autograder.checks import check_by_id
from autograder.outcome import ERROR, PASSED, SKIPPED
from autograder.outcome import run_check as outcome_of


class GraderError(RuntimeError):
    """The grader itself failed; the student is not at fault."""


class NotebookNamespace:
    """The notebook's globals seen as attributes, writes included, so checks that
    swap a helper for a trusted one affect the student's functions too."""

    def __init__(self, namespace: dict):
        object.__setattr__(self, "_namespace", namespace)

    def __getattr__(self, name: str):
        try:
            return self._namespace[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value) -> None:
        self._namespace[name] = value

    def __delattr__(self, name: str) -> None:
        del self._namespace[name]


def run_check(check_id: str, namespace: dict) -> None:
    check = check_by_id(check_id)
    with contextlib.redirect_stderr(sys.stdout), warnings.catch_warnings():
        warnings.showwarning = _warning_to_stdout
        outcome = outcome_of(check, NotebookNamespace(namespace))
    if outcome.status == PASSED:
        print(f"passed: {check.title} ({check.points:g} points)")
    elif outcome.status == SKIPPED:
        # nbgrader cannot take a cell out of the maximum: the cell scores 0, never a pass
        raise AssertionError(f"{check.title}: {outcome.message} (0 points here; graded "
                             "on a machine with a GPU)")
    elif outcome.status == ERROR:
        raise GraderError(f"{check.title}: {outcome.message}\n\n{outcome.detail}")
    else:
        raise AssertionError(f"{check.title}: {outcome.message}")


def _warning_to_stdout(message, category, filename, lineno, file=None, line=None) -> None:
    print(warnings.formatwarning(message, category, filename, lineno, line), end="")
