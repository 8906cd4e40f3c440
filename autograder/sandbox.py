"""Run a command in a child process that cannot take the grader down with it.

The child gets its own process group (killed whole at the time limit), a
scratch directory as its working directory, HOME and TMPDIR, no stdin, a cap on
the size of any file it writes (a huge print fails instead of filling the
disk), and its output goes to a log whose tail is kept for the instructor.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 64 * 2**20
LOG_TAIL_BYTES = 4000
_KEPT_ENV = ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV", "PYTHONPATH", "AUTOGRADER_DATA_DIR",
             "AUTOGRADER_CONFIG")


@dataclass(frozen=True)
class ChildResult:
    returncode: int
    timed_out: bool
    log_tail: str

    def describe_end(self) -> str:
        """Why the child stopped, in words, for checks that got no verdict."""
        if self.timed_out:
            return "grading ran past the assignment's time limit and was stopped"
        if self.returncode < 0:
            return f"the grading process was killed by signal {-self.returncode}" + (
                " (often: out of memory)" if -self.returncode == signal.SIGKILL else "")
        return (f"the grading process ended (exit code {self.returncode}) before this check "
                "finished; the submission may call os._exit() or crash the interpreter")


def _limit_child() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # oversized writes fail with an error
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_sandboxed(argv: list[str], *, workdir: Path, timeout_s: float,
                  env: dict[str, str] | None = None) -> ChildResult:
    child_env = {k: os.environ[k] for k in _KEPT_ENV if k in os.environ}
    child_env.update(HOME=str(workdir), TMPDIR=str(workdir), MPLBACKEND="Agg",
                     MPLCONFIGDIR=str(workdir), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                     PYTHONDONTWRITEBYTECODE="1")
    child_env.update(env or {})
    log_path = workdir / "output.log"
    with open(log_path, "wb") as log:
        child = subprocess.Popen(argv, cwd=workdir, env=child_env, stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, preexec_fn=_limit_child)
        try:
            child.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(child.pid)
            child.wait()
    return ChildResult(child.returncode, timed_out, _tail(log_path))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _tail(path: Path) -> str:
    with open(path, "rb") as log:
        log.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
        return log.read().decode("utf-8", errors="replace")
