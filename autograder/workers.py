"""Where a grading child comes from: a fork of a warm worker (the default), or a fresh
interpreter per grading (`cold`, slower; kept to measure against and to rule the warm
path out when debugging the grader).

A warm worker (`zygote`) starts inside the sandbox with the same mounts a cold child
gets, plus a folder of its own that holds each grading's scratch folder in turn. Workers
are kept in a pool for the life of the grading process, one per grading running at once,
and a worker is only reused for gradings that need the same mounts and environment.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Protocol

from autograder import verdicts
from autograder.sandbox import (
    ChildResult,
    child_env,
    child_uid,
    end_child,
    isolation,
    read_log_tail,
    run_sandboxed,
    sandboxed_command,
    start_child,
)

WORKER_START_S = 600.0  # importing torch and lightning on a loaded machine
KEPT_SIGNATURES = 2  # see WarmPool._take
REPLY_MARGIN_S = 30.0  # beyond the child's own limit, which the worker enforces
_COLD_PYTEST = [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin"]
# bubblewrap's --die-with-parent follows the *thread* that started it: workers are started
# from this one, which lives as long as the process, not from a grading's thread.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm-worker-spawner")


class Runner(Protocol):
    scratch_parent: Path | None

    def run(self, args: list[str], *, workdir: Path, timeout_s: float,
            key: bytes) -> ChildResult:
        """Run pytest with `args` on the scratch folder `workdir`; verdicts signed with
        `key` are written where `args` say."""


class WorkerError(RuntimeError):
    """A warm worker could not start (its log's tail says why)."""


class ColdRunner:
    """A fresh, sandboxed interpreter per grading."""

    scratch_parent = None

    def __init__(self, readable: tuple[Path, ...], env: dict[str, str]) -> None:
        self.readable, self.env = readable, env

    def run(self, args: list[str], *, workdir: Path, timeout_s: float,
            key: bytes) -> ChildResult:
        key_fd = verdicts.key_pipe(key)
        try:
            return run_sandboxed([*_COLD_PYTEST, *args, "--key-fd", str(key_fd)],
                                 workdir=workdir, timeout_s=timeout_s,
                                 readable=self.readable, env=self.env, pass_fds=(key_fd,))
        finally:
            os.close(key_fd)


class WarmWorker:
    """One warm worker process and the folder its gradings' scratch folders live in."""

    def __init__(self, readable: tuple[Path, ...], env: dict[str, str]) -> None:
        self.signature = _signature(readable, env)
        self.scratch_parent = Path(tempfile.mkdtemp(prefix="autograder-worker-"))
        self.scratch_parent.chmod(0o711)  # each grading's user may enter its own folder only
        self._log = tempfile.TemporaryFile()  # the worker's own output, outside the sandbox
        self.env = env
        argv = [sys.executable, "-m", "autograder.zygote"]
        argv += ["--sandboxed"] if isolation().sandboxed else []
        self._process = _SPAWNER.submit(
            start_child, sandboxed_command(argv, self.scratch_parent, readable, uid=None),
            cwd=self.scratch_parent, env=child_env(self.scratch_parent, env),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            text=True).result()
        if self._read(WORKER_START_S) is None:
            tail = self._log_tail()  # before close(), which closes the log
            self.close()
            raise WorkerError(f"a warm grading worker did not start: {tail}")

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def run(self, args: list[str], *, workdir: Path, timeout_s: float,
            key: bytes) -> ChildResult:
        uid = child_uid()
        if uid is not None:
            os.chown(workdir, uid, uid)
        request = {"workdir": str(workdir), "args": args, "key": key.hex(), "uid": uid,
                   "timeout_s": timeout_s, "env": child_env(workdir, self.env)}
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        reply = self._read(timeout_s + REPLY_MARGIN_S)
        log_tail = read_log_tail(workdir / "output.log")
        if reply is None:  # the worker died with the child (killed from inside) or hung
            self.close()
            return ChildResult(-signal.SIGKILL, False, log_tail)
        return ChildResult(reply["returncode"], reply["timed_out"], log_tail)

    def _read(self, timeout_s: float) -> dict | None:
        ready, _, _ = select.select([self._process.stdout], [], [], timeout_s)
        line = self._process.stdout.readline() if ready else ""
        return json.loads(line) if line else None

    def _log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:].strip()

    def close(self) -> None:
        end_child(self._process)
        for stream in (self._process.stdin, self._process.stdout, self._log):
            stream.close()
        shutil.rmtree(self.scratch_parent, ignore_errors=True)


class WarmPool:
    """Idle warm workers, reused by gradings that need the same mounts and environment."""

    def __init__(self) -> None:
        self._idle: list[WarmWorker] = []
        self._recent: list[tuple] = []  # signatures, the most recently asked for first
        self._lock = threading.Lock()
        atexit.register(self.close)

    @contextmanager
    def borrow(self, readable: tuple[Path, ...], env: dict[str, str]) -> Iterator[WarmWorker]:
        worker = self._take(_signature(readable, env)) or WarmWorker(readable, env)
        try:
            yield worker
        finally:
            if worker.alive:
                with self._lock:
                    self._idle.append(worker)

    def _take(self, signature: tuple) -> WarmWorker | None:
        """An idle worker with these mounts. Idle workers of the KEPT_SIGNATURES most
        recently asked-for signatures stay (a grader that alternates between two course
        files keeps both warm: a worker takes seconds to start); others are closed, as a
        data folder or course file no longer in use will not be asked for again."""
        with self._lock:
            others = [s for s in self._recent if s != signature]
            self._recent = [signature, *others][:KEPT_SIGNATURES]
            kept = set(self._recent)
            stale = [w for w in self._idle if w.signature not in kept or not w.alive]
            self._idle = [w for w in self._idle if w not in stale]
            match = next((w for w in self._idle if w.signature == signature), None)
            if match is not None:
                self._idle.remove(match)
        for worker in stale:
            worker.close()
        return match

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


_POOL = WarmPool()


@contextmanager
def runner(readable: tuple[Path, ...], env: dict[str, str], *, cold: bool) -> Iterator[Runner]:
    """A way to run one grading's child: borrowed from the pool, or a cold one."""
    if cold:
        yield ColdRunner(readable, env)
        return
    with _POOL.borrow(readable, env) as worker:
        yield worker


def _signature(readable: tuple[Path, ...], env: dict[str, str]) -> tuple:
    """What a worker was started with: only a grading that needs the same may use it."""
    return (isolation().sandboxed, tuple(str(p) for p in readable),
            tuple(sorted(env.items())))
