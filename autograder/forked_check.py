"""Run one check in a forked copy of the process that loaded the submission, so that a
check that hangs, swallows its time limit, or ends the interpreter (a segfault,
`os._exit`) costs that check alone, and no check sees what an earlier one changed.

The fork inherits the loaded submission as it is; the check's outcome comes back on a
pipe. Where forking is unsafe or impossible, the check runs in this process as before:
once CUDA is initialized (it cannot be used again in a fork), while other threads run
(a lock one of them holds would stay held in the fork; on a machine with a GPU, the first
backward pass starts autograd's threads, and a fork could not run backward), or when the
submission has used up the process cap.
"""
from __future__ import annotations

import gc
import json
import os
import select
import signal
import sys
import threading
import time
from dataclasses import asdict
from types import ModuleType

import torch

from autograder.checks import Check
from autograder.outcome import FAILED, Outcome, run_check
from autograder.sandbox import ChildResult

GRACE_S = 5.0  # after its time limit, for a check to stop by itself before it is killed


def run_isolated(check: Check, submission: ModuleType) -> Outcome:
    """The check's outcome, computed in a fork where that is safe."""
    if torch.cuda.is_initialized() or _other_threads_run():
        return run_check(check, submission)
    gc.freeze()  # the fork's collector leaves the loaded objects alone: fewer pages copied
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # the submission used up the process cap: run it here, as before
        os.close(read_end)
        os.close(write_end)
        return run_check(check, submission)
    if pid == 0:
        os.close(read_end)
        _run_in_child(check, submission, write_end)
    os.close(write_end)
    signal.setitimer(signal.ITIMER_REAL, 0)  # the fork keeps the time limit, not this process
    payload, ended = _collect(pid, read_end, check.timeout_s + GRACE_S)
    if not ended:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if ended and payload:
        return Outcome(**json.loads(payload))
    if not ended:
        return Outcome(FAILED, f"stopped: it ran past its time limit ({check.timeout_s:g} s) "
                       "and did not stop when told to. Look for an endless loop, or code that "
                       "catches every exception (a bare `except:` or `except BaseException`).")
    child = ChildResult(os.waitstatus_to_exitcode(status), False, "")
    return Outcome(FAILED, f"not graded: {child.describe_end()} while this check was running.")


def _other_threads_run() -> bool:
    """Whether this process runs threads besides this one: Python's and native ones
    (autograd's device threads, OpenMP's pool) alike."""
    try:
        return len(os.listdir("/proc/self/task")) > 1
    except OSError:  # no /proc: Python's own threads are all that can be seen
        return threading.active_count() > 1


def _run_in_child(check: Check, submission: ModuleType, write_end: int) -> None:
    """Run the check under its own time limit (pytest-timeout's handler, inherited, raises
    when the timer fires), send the outcome, and leave without running exit handlers."""
    try:
        signal.setitimer(signal.ITIMER_REAL, check.timeout_s)
        outcome = run_check(check, submission)
        signal.setitimer(signal.ITIMER_REAL, 0)
        with os.fdopen(write_end, "w", encoding="utf-8") as pipe:
            pipe.write(json.dumps(asdict(outcome)))
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(0)


def _collect(pid: int, read_end: int, timeout_s: float) -> tuple[bytes, bool]:
    """(what the fork sent, whether it ended within `timeout_s`). Reads as it comes, so a
    long outcome never blocks the fork on a full pipe; waits for the fork's end, not the
    pipe's, as a process it started may hold the pipe open."""
    pidfd = os.pidfd_open(pid)
    deadline = time.monotonic() + timeout_s
    chunks, watched, ended = [], [read_end, pidfd], False
    try:
        while not ended and (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(watched, [], [], remaining)
            if read_end in ready:
                chunk = os.read(read_end, 1 << 16)
                chunks.append(chunk)
                if not chunk:
                    watched.remove(read_end)
            ended = pidfd in ready
        if ended and read_end in watched:
            os.set_blocking(read_end, False)
            while chunk := _read_available(read_end):
                chunks.append(chunk)
    finally:
        os.close(pidfd)
        os.close(read_end)
    return b"".join(chunks), ended


def _read_available(fd: int) -> bytes:
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return b""
