"""The caps a grading child runs under, in one place: the sandbox applies them and the
verdicts name the one a submission ran into. A course moves them in autograder.toml:

    [limits]
    memory_mib = 4096      # memory the grading child may allocate (its data, not its code)
    processes = 128        # processes and threads it may run at once (under bubblewrap)
    file_mib = 64          # any one file it writes, its printed output included
"""
from __future__ import annotations

import errno

from autograder.course import course_settings

DEFAULTS = {"memory_mib": 4096, "processes": 128, "file_mib": 64}


def limit(key: str) -> int:
    """A cap's value, the course's where it sets one."""
    return int(course_settings().get("limits", {}).get(key, DEFAULTS[key]))


def memory_bytes() -> int:
    return limit("memory_mib") * 2**20


def file_bytes() -> int:
    return limit("file_mib") * 2**20


def processes() -> int:
    return limit("processes")


def cap_reached(exc: BaseException) -> tuple[str, str] | None:
    """(which cap the code ran into, what usually causes it), when the exception says so."""
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return (f"your code printed or wrote more than the grader keeps "
                f"({describe_bytes(file_bytes())})",
                "A print inside a loop over the data is the usual cause.")
    if isinstance(exc, MemoryError) or (
            isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)):
        return (f"your code used more than the grader's memory cap "
                f"({describe_bytes(memory_bytes())})",
                "Look for a tensor far larger than the task needs (a dense matrix of the "
                "whole dataset, an outer product) or results kept from every step.")
    if (isinstance(exc, OSError) and exc.errno == errno.EAGAIN) or (
            isinstance(exc, RuntimeError) and "can't start new thread" in str(exc)):
        return (f"your code started more processes or threads than the grader allows "
                f"({processes()})",
                "Start at most a few (DataLoader's `num_workers=0` is fine here).")
    return None


def describe_bytes(count: int) -> str:
    """'4 GiB' or '64 MiB', as a student reads a cap."""
    return f"{count / 2**30:g} GiB" if count >= 2**30 else f"{count / 2**20:g} MiB"
