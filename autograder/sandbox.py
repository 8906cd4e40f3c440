"""Run a command in a child process that cannot take the grader, or anyone else's
files, down with it.

Under bubblewrap (`bwrap`, the sandbox Flatpak uses), the child has no network, its
own PID namespace (a fork bomb or `kill(-1, 9)` stays inside, and everything in it dies
with the grader), a read-only view of the system and the kit, the data read-only,
and only its scratch directory writable; `solutions/`, the course's files and other
students' submissions are not there at all. It runs as an unprivileged user of its
own, so the process cap holds. Without bubblewrap, the child gets a process group of
its own behind a relay process, and every report says that it was not sandboxed.

Either way: caps on memory, file size (a huge print fails instead of filling the
disk) and wall time; no stdin; output to a log whose tail is kept for the instructor.
"""
from __future__ import annotations

import functools
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from autograder import limits

LOG_TAIL_BYTES = 4000
SANDBOXED = "sandboxed by bubblewrap"  # how every report's isolation line starts, when it is
SIGNAL_MEANINGS = {signal.SIGSEGV: "a segmentation fault: the Python interpreter crashed",
                   signal.SIGKILL: "killed (often: out of memory, or the process was ended)",
                   signal.SIGABRT: "aborted by a fatal error in native code",
                   signal.SIGBUS: "a bus error: the Python interpreter crashed",
                   signal.SIGFPE: "a fatal arithmetic error in native code"}
# The GPU's two: which card the course gives the grader, and where its libraries are found.
_KEPT_ENV = ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV", "PYTHONPATH", "AUTOGRADER_DATA_DIR",
             "AUTOGRADER_CONFIG", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH")
_NAMESPACES = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
               "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/sys")
# The child's user: unprivileged and unnamed, one per grading so process counts are its own.
_CHILD_UIDS = (200_000, 900_000)
# The name the child goes by: its uid has no passwd entry, and code that asks who it runs
# as (torch's compile cache, through getpass.getuser()) would otherwise fail.
CHILD_USER = "student"
_CHILDREN: set[subprocess.Popen] = set()
_CHILDREN_LOCK = threading.Lock()
_STOPPING = threading.Event()


class GraderStopping(RuntimeError):
    """The grader is being stopped, so no grading child is started."""


@dataclass(frozen=True)
class Isolation:
    sandboxed: bool
    description: str


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


@functools.cache
def isolation() -> Isolation:
    """Whether children run under bubblewrap here, found by trying it once."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Isolation(False, "not sandboxed: bubblewrap (bwrap) is not installed, so the "
                                "submission ran as the grader's user with network access and "
                                "the grader's files in reach (apt-get install bubblewrap)")
    probe = subprocess.run([bwrap, *_NAMESPACES, "--ro-bind", "/", "/", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return Isolation(False, "not sandboxed: bubblewrap could not create its namespaces "
                                f"here ({probe.stderr.strip()[:200]}), so the submission ran "
                                "as the grader's user with network access")
    return Isolation(True, f"{SANDBOXED}: no network, its own processes, a read-only "
                           "system, only its scratch folder writable")


def run_sandboxed(argv: list[str], *, workdir: Path, timeout_s: float,
                  readable: tuple[Path, ...] = (), env: dict[str, str] | None = None,
                  pass_fds: tuple[int, ...] = ()) -> ChildResult:
    """Run `argv` in `workdir` (writable) with the caps; `readable` paths are mounted
    read-only where the sandbox hides the rest of the file system."""
    uid = child_uid()
    if uid is not None:
        os.chown(workdir, uid, uid)
    log_path = workdir / "output.log"
    with open(log_path, "wb") as log:
        child = start_child(sandboxed_command(argv, workdir, readable, uid), cwd=workdir,
                            env=child_env(workdir, env), stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, pass_fds=pass_fds,
                            preexec_fn=functools.partial(limit_process, uid is not None))
        try:
            child.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:  # also when the grader itself is interrupted or told to stop
            end_child(child)
    returncode = child.returncode
    if isolation().sandboxed and returncode > 128:  # bwrap reports a signal as 128 + number
        returncode = 128 - returncode
    return ChildResult(returncode, timed_out, read_log_tail(log_path))


def start_child(command: list[str], **popen_args) -> subprocess.Popen:
    """Start a grading child or warm worker in a session of its own, known to
    `end_every_child`; refused once the grader is stopping."""
    with _CHILDREN_LOCK:
        if _STOPPING.is_set():
            raise GraderStopping("the grader is stopping: no new grading is started")
        child = subprocess.Popen(command, start_new_session=True, **popen_args)
        _CHILDREN.add(child)
    return child


def end_child(child: subprocess.Popen) -> None:
    kill_group(child.pid)
    child.wait()
    with _CHILDREN_LOCK:
        _CHILDREN.discard(child)


def end_every_child() -> None:
    """Kill every grading child and warm worker this process started, and start no more:
    the grader was told to stop (SIGTERM from a platform's time limit, Ctrl-C)."""
    with _CHILDREN_LOCK:
        _STOPPING.set()
        children = list(_CHILDREN)
    for child in children:
        kill_group(child.pid)


def child_uid() -> int | None:
    """A fresh unprivileged user for one grading, where the grader may switch to one (as
    root, under bubblewrap); None where the child runs as the grader's own user."""
    if isolation().sandboxed and os.geteuid() == 0:
        return random.randrange(*_CHILD_UIDS)
    return None


def child_env(workdir: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a grading child sees: the kit's variables, its home and temporary
    files in its scratch folder, one thread per process."""
    kept = {k: os.environ[k] for k in _KEPT_ENV if k in os.environ}
    kept.update(HOME=str(workdir), TMPDIR=str(workdir), USER=CHILD_USER, LOGNAME=CHILD_USER,
                MPLBACKEND="Agg", MPLCONFIGDIR=str(workdir), OMP_NUM_THREADS="1",
                PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1",
                # torch.cuda.is_available() asks NVML, so a fork after it can still use CUDA
                PYTORCH_NVML_BASED_CUDA_CHECK="1")
    return {**kept, **(env or {})}


def sandboxed_command(argv: list[str], workdir: Path, readable: tuple[Path, ...],
                      uid: int | None) -> list[str]:
    """`argv` under bubblewrap (as `uid`, where given), or behind the relay without it."""
    if isolation().sandboxed:
        return _bwrap_command(argv, workdir, readable, uid)
    return [sys.executable, "-m", "autograder.sandbox", *argv]


def _bwrap_command(argv: list[str], workdir: Path, readable: tuple[Path, ...],
                   uid: int | None) -> list[str]:
    mounts: list[str] = []
    for system_dir in _SYSTEM_DIRS:
        path = Path(system_dir)
        if path.is_symlink():
            mounts += ["--symlink", os.readlink(path), system_dir]
        elif path.is_dir():
            mounts += ["--ro-bind", system_dir, system_dir]
    mounts += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    mounts += [arg for device in sorted(Path("/dev").glob("nvidia*"))  # the GPU, where present
               for arg in ("--dev-bind", str(device), str(device))]
    code = {Path(sys.prefix), Path(sys.base_prefix), Path(__file__).resolve().parent}
    wanted = code | {p.resolve() for p in readable if p.exists()}
    outermost = [p for p in wanted if not any(p != q and p.is_relative_to(q) for q in wanted)]
    for path in sorted(outermost):
        mounts += _parents_traversable(path) + ["--ro-bind", str(path), str(path)]
    mounts += _parents_traversable(workdir) + ["--bind", str(workdir), str(workdir)]
    become_child = ([] if uid is None else
                    ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"])
    return [shutil.which("bwrap"), *_NAMESPACES, *mounts, "--chdir", str(workdir),
            *become_child, *argv]


def _parents_traversable(path: Path) -> list[str]:
    """Directories above a mount, created readable by all (bwrap would copy a parent's
    0700, as /root's, and lock the child out of what lies below)."""
    return [arg for parent in reversed(path.parents) if parent != Path("/")
            for arg in ("--perms", "0755", "--dir", str(parent))]


def limit_process(own_user: bool) -> None:
    """The caps, set in the child and inherited. The process cap counts every process of
    the user, so it is set only for a grading's own user, never the grader's."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # oversized writes fail with an error
    # Memory is capped as data (private writable memory), not address space: CUDA reserves
    # far more address space than any cap, and a CUDA build of torch maps gigabytes of
    # libraries, so an address-space cap stops every GPU grading at its first CUDA call.
    caps = [(resource.RLIMIT_FSIZE, limits.file_bytes()),
            (resource.RLIMIT_DATA, limits.memory_bytes()), (resource.RLIMIT_CORE, 0)]
    if own_user:
        caps.append((resource.RLIMIT_NPROC, limits.processes()))
    for cap, value in caps:
        resource.setrlimit(cap, (value, value))


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def read_log_tail(path: Path) -> str:
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
