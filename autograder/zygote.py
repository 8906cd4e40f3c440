"""A warm grading worker: it imports torch, pytest and every assignment's checks once,
then forks a fresh child per grading, so a grading no longer pays the seconds a new
interpreter spends importing them (PrairieLearn's "zygote" does the same for its
question code).

It runs inside the sandbox, started by `workers`, which sends one JSON request per line
on its stdin and reads one JSON reply per line from its stdout. Each child is isolated
as a cold one is: a session of its own, the caps, its own user where the grader is root,
its scratch folder as home. When the child ends, every process left in the sandbox is
killed and /tmp is emptied, so nothing one student starts or writes reaches the next.

    python -m autograder.zygote [--sandboxed]
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import select
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder import pytest_plugin, verdicts
from autograder.checks import ASSIGNMENTS, checks_for
from autograder.course import course_settings
from autograder.sandbox import kill_group, limit_process

_PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent dies
EXIT_CHILD_SETUP_FAILED = 70  # os.EX_SOFTWARE: the child died before pytest ran
_SCRATCH_DIRS = (Path("/tmp"), Path("/dev/shm"))  # shared by every child of a sandbox


def main(sandboxed: bool) -> None:
    control_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    control_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a stray print (an import's warning) must not corrupt the replies
    _warm_up()
    _reply(control_out, {"ready": os.getpid()})
    for line in control_in:
        request = json.loads(line)
        _reply(control_out, _grade(request, sandboxed, (control_in, control_out)))


def _warm_up() -> None:
    """Everything a child would import: every assignment's checks, the first optimizer
    step's imports, pytest's plugins (one empty session), and nbformat with its JSON
    schema (seconds, the first time a notebook is read and validated)."""
    for assignment in ASSIGNMENTS:
        checks_for(assignment)
    import autograder.pytest_checks  # noqa: F401 - the test module pytest will collect
    pytest_plugin._import_what_training_imports()
    with tempfile.TemporaryDirectory() as empty:
        pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", empty, empty])
        notebook = Path(empty) / "warm-up.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]),
                       notebook)
        nbformat.read(notebook, as_version=4)
    gc.freeze()  # the collector never walks what is shared: fewer pages copied per fork


def _reply(control_out, reply: dict) -> None:
    control_out.write(json.dumps(reply) + "\n")
    control_out.flush()


def _grade(request: dict, sandboxed: bool, control: tuple) -> dict:
    """Fork a child for `request`, wait for it within its time limit, clean up after it."""
    pid = os.fork()
    if pid == 0:
        try:
            _child(request, control)
        finally:
            os._exit(EXIT_CHILD_SETUP_FAILED)
    finished = _wait(pid, request["timeout_s"], control[0])
    if not finished:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    _clean_up(pid, sandboxed)
    if finished is None:  # the grader is gone: so is this worker
        sys.exit(0)
    return {"returncode": os.waitstatus_to_exitcode(status), "timed_out": not finished}


def _wait(pid: int, timeout_s: float, control_in) -> bool | None:
    """True when the child ended in time, False past it, None if the grader went away."""
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd, control_in], [], [], timeout_s)
    finally:
        os.close(pidfd)
    if pidfd in ready:
        return True
    return None if ready else False


def _clean_up(pid: int, sandboxed: bool) -> None:
    """Kill what the child left running and delete what it left in shared folders. In the
    sandbox every other process is the child's; without it, only its session is known."""
    if sandboxed:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) not in (1, os.getpid()):
                _kill(int(entry.name))
    else:
        kill_group(pid)
    own = Path.cwd()  # the folder the gradings' scratch folders are in, maybe below /tmp
    for folder in _SCRATCH_DIRS:
        if folder.is_dir() and sandboxed:
            for entry in folder.iterdir():
                if not own.is_relative_to(entry):
                    _remove(entry)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _child(request: dict, control: tuple) -> None:
    """Become one grading's process, then run pytest in it, as the cold path's child does."""
    os.setsid()
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the worker
    for stream in control:
        os.close(stream.fileno())
    workdir = Path(request["workdir"])
    os.chdir(workdir)
    log = os.open(workdir / "output.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    uid = request["uid"]
    limit_process(uid is not None)
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None
    course_settings.cache_clear()
    key_fd = verdicts.key_pipe(bytes.fromhex(request["key"]))
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    code = pytest.main([*request["args"], "--key-fd", str(key_fd)], plugins=[pytest_plugin])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code))


if __name__ == "__main__":
    main(sandboxed="--sandboxed" in sys.argv[1:])
