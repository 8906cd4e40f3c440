"""Run one check and turn whatever happened into a verdict for the student.

A failure is the student's when the check says so or when the exception passed
through the student's code; an exception raised only inside the grader is a
grader error, kept apart from the score with its traceback for the instructor.
"""
from __future__ import annotations

import random
import traceback
from dataclasses import dataclass, field, replace
from types import ModuleType

import numpy as np
import pytest
import torch

from autograder import limits
from autograder.checks.figures import take as take_figures
from autograder.checks.registry import Check
from autograder.checks.support import CheckFailed, CheckSkipped
from autograder.student_code import location, student_frames

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str = ""
    detail: str = ""
    figures: list[dict] = field(default_factory=list)  # {"title", "png_base64"} (figures)


def reset_global_state() -> None:
    """Give every check the same starting point, whatever ran before it."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    torch.set_grad_enabled(True)
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)  # as fast as 2 on a shared 2-core box, and reproducible


def run_check(check: Check, submission: ModuleType) -> Outcome:
    """The check's verdict, with the pictures it attached while it ran."""
    reset_global_state()
    take_figures()  # whatever an earlier check left behind is not this one's
    try:
        check.func(submission)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - student code may raise anything
        return replace(classify(exc), figures=take_figures())
    return Outcome(PASSED, figures=take_figures())


def classify(exc: BaseException) -> Outcome:
    detail = "".join(traceback.format_exception(exc))
    frames = student_frames(traceback.extract_tb(exc.__traceback__))
    where = f" (`{frames[-1].name}`, {location(frames[-1])})" if frames else ""
    if isinstance(exc, CheckFailed):
        return Outcome(FAILED, str(exc), detail)
    if isinstance(exc, CheckSkipped):
        return Outcome(SKIPPED, str(exc))
    if isinstance(exc, pytest.fail.Exception) and "Timeout" in str(exc):
        return Outcome(FAILED, f"stopped: it ran past its time limit{where}. "
                       "Look for an endless loop or far more work than the task needs.", detail)
    if isinstance(exc, NotImplementedError) and frames:
        return Outcome(FAILED, f"not implemented yet: `{frames[-1].name}` still raises "
                       f"NotImplementedError{where}.", detail)
    if isinstance(exc, SystemExit):
        return Outcome(FAILED, f"your code called exit(){where}; a graded function must "
                       "return, not end the program.", detail)
    if frames:
        return Outcome(FAILED, _student_exception_message(exc, where), detail)
    if isinstance(exc, AssertionError):
        return Outcome(FAILED, str(exc), detail)
    return Outcome(ERROR, f"grader error (not your fault, your instructor has the details): "
                   f"{type(exc).__name__}: {exc}", detail)


def _student_exception_message(exc: BaseException, where: str) -> str:
    cap = limits.cap_reached(exc)
    if cap:
        return f"{cap[0]}{where}. {cap[1]}"
    message = f"your code raised {type(exc).__name__}: {exc}{where}."
    if isinstance(exc, NameError):
        message += (" A name your code uses was never defined: the top-level statement "
                    "that defines it failed or ran past its time budget while your "
                    "submission loaded (see the loading problems), or it is defined only in "
                    "a cell tagged `skip-execution` or under `if __name__ == \"__main__\":`, "
                    "which the grader does not run.")
    return message
