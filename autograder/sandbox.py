"""Run a command in a child process that cannot take the grader down with it.

The child gets its own process group (killed whole at the time limit), a
scratch directory as its working directory, HOME and TMPDIR, no stdin, a cap on
the size of any file it writes (a huge print fails instead of filling the
disk), and its output goes to a log whose tail is kept for the instructor.
A relay process stands between the grader and the child, so a submission that
signals its parent (`os.kill(os.getppid(), 9)`) ends the relay, not the grader.

Running as the grader's own user, the child can still reach what that user
can; grading hostile code calls for a container or a dedicated user per run.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 64 * 2**20
LOG_TAIL_BYTES = 4000
SIGNAL_MEANINGS = {signal.SIGSEGV: "a segmentation fault: the Python interpreter crashed",
                   signal.SIGKILL: "killed (often: out of memory, or the process was ended)",
                   signal.SIGABRT: "aborted by a fatal error in native code",
                   signal.SIGBUS: "a bus error: the Python interpreter crashed",
                   signal.SIGFPE: "a fatal arithmetic error in native code"}
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
            number = -self.returncode
            name = signal.Signals(number).name if number in signal.valid_signals() else number
            return (f"the grading process ended with {SIGNAL_MEANINGS.get(number, 'a signal')} "
                    f"({name})")
        return (f"the grading process ended early (exit code {self.returncode}); the "
                "submission may call os._exit() or crash the interpreter")


def _limit_child() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # oversized writes fail with an error
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_sandboxed(argv: list[str], *, workdir: Path, timeout_s: float,
                  env: dict[str, str] | None = None, pass_fds: tuple[int, ...] = ()
                  ) -> ChildResult:
    child_env = {k: os.environ[k] for k in _KEPT_ENV if k in os.environ}
    child_env.update(HOME=str(workdir), TMPDIR=str(workdir), MPLBACKEND="Agg",
                     MPLCONFIGDIR=str(workdir), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                     PYTHONDONTWRITEBYTECODE="1")
    child_env.update(env or {})
    log_path = workdir / "output.log"
    with open(log_path, "wb") as log:
        relayed = [sys.executable, "-m", "autograder.sandbox", *argv]
        child = subprocess.Popen(relayed, cwd=workdir, env=child_env, stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT, pass_fds=pass_fds,
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
    if not path.is_file():  # the submission may have deleted it
        return ""
    with open(path, "rb") as log:
        log.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
        return log.read().decode("utf-8", errors="replace")


def _relay(argv: list[str]) -> None:
    """Run `argv` and end the way it ended, signal included."""
    returncode = subprocess.call(argv, close_fds=False)
    if returncode < 0:
        signal.signal(-returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -returncode)
    sys.exit(returncode)


if __name__ == "__main__":
    _relay(sys.argv[1:])
