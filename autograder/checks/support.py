"""What checks use to look up the student's names and to fail with a message."""
from __future__ import annotations

from contextlib import contextmanager
from types import ModuleType
from typing import Any, Callable, Iterator, NoReturn

import torch

from autograder.course import course_settings


class CheckFailed(AssertionError):
    """A check's verdict on the submission, worded for the student."""


class CheckSkipped(Exception):
    """The check cannot run on this machine (no GPU): neither passed nor failed, and
    left out of the maximum score."""


class GraderSetupError(RuntimeError):
    """The grading machine lacks what the course requires (`require_gpu`)."""


NO_CUDA = "skipped: no CUDA device"
# The contract's `device` argument, which every check passes (positionally) rather than
# leaving it to the student's default: a correct `device=DEVICE` default would otherwise
# move the check's CPU data onto a GPU where the grading machine has one.
CPU = "cpu"


def fail(message: str) -> NoReturn:
    raise CheckFailed(message)


def require_cuda() -> None:
    """Skip the calling check where there is no GPU, or stop with a grader error when
    the course's settings say `require_gpu = true`."""
    if torch.cuda.is_available():
        return
    if course_settings().get("require_gpu", False):
        raise GraderSetupError("this course requires a GPU (`require_gpu = true` in "
                               "autograder.toml) but the grading machine has no CUDA device")
    raise CheckSkipped(GPU_ONLY_SKIPPED)


GPU_ONLY_SKIPPED = f"{NO_CUDA} on the grading machine; this check runs only on a GPU"


def gpu_checks_skipped_here() -> bool:
    """Whether `require_cuda()` skips here: no CUDA, and a course that allows that."""
    return not torch.cuda.is_available() and not course_settings().get("require_gpu", False)


def require(submission: ModuleType, name: str) -> Any:
    """The student's `name`, or a failure saying it is missing."""
    try:
        return getattr(submission, name)
    except AttributeError:
        fail(
            f"`{name}` is not defined in your submission. Keep the name and signature "
            "given in the assignment; the grader calls it by that name."
        )


def weight_and_bias(model, vocab_size: int, class_name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A logistic regression's weight and bias, found by size as the contracts promise,
    never by attribute name."""
    params = list(model.parameters())
    weights = [p for p in params if p.numel() == vocab_size]
    biases = [p for p in params if p.numel() == 1]
    if len(params) != 2 or len(weights) != 1 or len(biases) != 1:
        fail(f"{class_name}({vocab_size}) has parameters of shapes "
             f"{[tuple(p.shape) for p in params]}; expected one weight with {vocab_size} "
             "elements and one bias (a single `nn.Linear(vocab_size, 1)`).")
    return weights[0], biases[0]


def describe(value: Any) -> str:
    """A short description of a value for messages: shape and dtype for tensors."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:200]


def as_float(value: Any, what: str) -> float:
    """Accept a Python number or a 0-d tensor, as the contract allows."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            fail(f"{what} should be a single number; got {describe(value)}.")
        return float(value.detach().reshape(()).item())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return float(value)
    except ImportError:  # pragma: no cover - numpy ships with torch
        pass
    fail(f"{what} should be a number; got {describe(value)}.")


@contextmanager
def trusted(submission: ModuleType, **replacements: Callable) -> Iterator[None]:
    """Swap some of the student's functions for trusted ones while a check runs, so a
    function that calls them is judged on its own (a bug costs its own check only).
    The swap reaches the student's code because it looks names up in the namespace."""
    missing = object()
    saved = {name: getattr(submission, name, missing) for name in replacements}
    for name, function in replacements.items():
        setattr(submission, name, function)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                delattr(submission, name)
            else:
                setattr(submission, name, value)
