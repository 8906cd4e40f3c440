"""Hostile submissions under the real sandbox (bubblewrap): each gets a complete report,
earns no more than honest credit, and leaves nothing behind (no process, no file
outside its scratch folder, nothing changed in the data or the grader).

CI installs bubblewrap; a machine without it skips these with that reason, and the
fallback's own note is tested where bubblewrap is missing or made unusable.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import autograder
from autograder import sandbox
from autograder.checks import checks_for
from autograder.grading import AssignmentReport, grade_file
from autograder.outcome import FAILED, PASSED
from autograder.report import gradescope

A2 = "a2_training_loop"
FIXTURES = Path(__file__).parent / "fixtures" / "robustness"
ALL_CHECKS = [c.name for c in checks_for(A2)]

pytestmark = pytest.mark.skipif(
    not sandbox.isolation().sandboxed and not os.environ.get("CI"),
    reason=f"bubblewrap is not usable here ({sandbox.isolation().description})")


def no_child_processes(wait_s: float = 10) -> bool:
    """The kernel tears a PID namespace down in the background: give it a few seconds."""
    deadline = time.monotonic() + wait_s
    while child_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    return not child_processes()


def child_processes() -> list[str]:
    """Processes of a grading's own user still alive (forks included): there should be
    none once a grading is over, whether its child was forked by a warm worker or not."""
    low, high = sandbox._CHILD_UIDS
    return [line for line in ps("uid=,pid=,args=") if low <= int(line.split()[0]) < high]


def descendants(pid: int) -> set[int]:
    """Every process started, directly or not, by `pid` (warm workers included)."""
    children: dict[int, list[int]] = {}
    for line in ps("pid=,ppid="):
        child, parent = map(int, line.split())
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def survivors(pids: set[int]) -> list[str]:
    return [line for line in ps("pid=,args=") if int(line.split()[0]) in pids]


def ps(columns: str) -> list[str]:
    return subprocess.run(["ps", "-eww", "-o", columns], capture_output=True,
                          text=True).stdout.splitlines()


def assert_complete(report: AssignmentReport, score: float = 0) -> None:
    assert [r.name for r in report.results] == ALL_CHECKS
    assert all(r.status in (PASSED, FAILED) and (r.status == PASSED or r.message)
               for r in report.results)
    assert report.score == score, [(r.name, r.message[:120]) for r in report.results]
    assert "sandboxed by bubblewrap" in report.isolation
    assert no_child_processes()


def test_bubblewrap_is_what_grades_here():
    assert sandbox.isolation().sandboxed, sandbox.isolation().description


class LoopbackServer:
    """A real TCP server on the grader's loopback that records what reaches it."""

    def __init__(self):
        self.received: list[bytes] = []
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            with connection:
                self.received.append(connection.recv(100))

    def __enter__(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


def test_the_child_knows_its_name_though_its_user_has_none(tmp_path):
    """Its uid is in no passwd file; torch's compile cache asks getpass.getuser() at the
    first optimizer step, which raised KeyError there and ended every cold grading."""
    asks = "import getpass, os; print(os.getuid(), getpass.getuser())"
    result = sandbox.run_sandboxed([sys.executable, "-c", asks], workdir=tmp_path, timeout_s=30)
    assert result.returncode == 0, result.log_tail
    assert result.log_tail.split()[-1] == sandbox.CHILD_USER


def test_no_network_at_all(tmp_path):
    port_file = Path("/tmp/autograder-test-port")
    with LoopbackServer() as server:
        port_file.write_text(str(server.port))
        try:
            with socket.create_connection(("127.0.0.1", server.port)) as probe:
                probe.sendall(b"the test itself")  # the server works for code outside
            report = grade_file(A2, FIXTURES / "network_at_top_level.py")
        finally:
            port_file.unlink()
    assert server.received == [b"the test itself"]
    assert_complete(report)
    assert "`BinaryLogisticRegression` is not defined" in report.results[0].message


def test_solutions_are_not_there_to_copy():
    report = grade_file(A2, FIXTURES / "copies_the_solution.py")
    assert_complete(report)


def test_files_outside_scratch_survive_and_the_grader_cannot_be_rewritten(tmp_path):
    canary = Path("/tmp") / f"canary-{os.getpid()}"
    canary.write_text("still here")
    forged = Path(autograder.__file__).parent / "canary-written-by-a-student.py"
    try:
        report = grade_file(A2, FIXTURES / "deletes_and_tampers.py")
        assert canary.read_text() == "still here"
        assert not forged.exists()
    finally:
        canary.unlink(missing_ok=True)
        forged.unlink(missing_ok=True)
    assert_complete(report)
    assert not report.problems, report.problems  # the data was read-only: nothing to undo


def test_os_exit_while_loading_names_the_moment():
    report = grade_file(A2, FIXTURES / "exits_at_top_level.py")
    assert_complete(report)
    for result in report.results:
        assert "exit code 0" in result.message
        assert "while your submission's top-level code was running" in result.message


def test_process_and_memory_bombs_hit_their_caps_and_nothing_outlives_grading():
    report = grade_file(A2, FIXTURES / "process_and_memory_bombs.py")
    assert any("more processes or threads than the grader allows (128)" in p
               for p in report.problems), report.problems
    assert any("more than the grader's memory cap (4 GiB)" in p for p in report.problems)
    forward = report.results[0]
    assert forward.status == FAILED
    assert "memory cap (4 GiB)" in forward.message and "`forward`" in forward.message
    assert [r.name for r in report.results] == ALL_CHECKS
    start = time.monotonic()
    assert no_child_processes()
    print(f"the sandbox's processes were gone {time.monotonic() - start:.1f} s after grading")


def test_a_check_that_swallows_its_time_limit_costs_that_check_alone(course_config):
    course_config("[time_limits]\ncheck_s = 3\nassignment_s = 40\n")
    start = time.monotonic()
    report = grade_file(A2, FIXTURES / "swallows_time_limits.py")
    assert time.monotonic() - start < 60
    assert_complete(report, score=sum(c.points for c in checks_for(A2)
                                      if c.name.startswith(("forward", "loss"))))
    for name in ("evaluate_in_eval_mode_without_graph", "evaluate_returns_accuracy"):
        evaluate = next(r for r in report.results if r.name == name)
        assert "ran past its time limit (3 s) and did not stop when told to" in evaluate.message
    train = next(r for r in report.results if r.name == "train_returns_history")
    assert "`train` is not defined" in train.message  # the checks after it were graded


def test_stopping_the_grader_stops_everything_it_started(tmp_path):
    submission = FIXTURES / "swallows_time_limits.py"
    grader = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(submission),
                               "--assignment", A2], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not child_processes() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert child_processes(), "the grading child never started"
        started = descendants(grader.pid)
        grader.send_signal(signal.SIGTERM)
        grader.wait(timeout=30)
        assert no_child_processes()
        deadline = time.monotonic() + 10
        while (left := survivors(started)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, f"processes the grader started live on: {left}"
    finally:
        grader.kill()


def test_without_bubblewrap_every_report_says_it_was_not_sandboxed(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    sandbox.isolation.cache_clear()
    try:
        report = grade_file(A2, FIXTURES / "good_student" / A2 / f"{A2}.py")
        assert report.isolation.startswith("not sandboxed: bubblewrap (bwrap) is not installed")
        assert report.isolation in gradescope([report])["output"]
    finally:
        sandbox.isolation.cache_clear()


LEAVES_BEHIND = """
import os, subprocess, sys
open("/tmp/left_behind.txt", "w").write("a secret for the next student")
if os.path.isdir("/dev/shm"):
    open("/dev/shm/left_behind", "w").write("another")
subprocess.Popen([sys.executable, "-c", "import os, time; os.setsid(); time.sleep(600)"])
"""
LOOKS_AROUND = """
import glob, os
print("FILES LEFT:", sorted(glob.glob("/tmp/*left*") + glob.glob("/dev/shm/*left*")))
print("OTHER PROCESSES:", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()
                                 and int(p) not in (1, os.getpid(), os.getppid())))
"""


def test_a_warm_worker_hands_the_next_student_nothing_the_last_one_left(tmp_path):
    correct = (FIXTURES.parent / "a1_backprop" / "correct_mlp_loops.py").read_text()
    first, second = tmp_path / "first" / "a1_backprop.py", tmp_path / "second" / "a1_backprop.py"
    for file, prelude in ((first, LEAVES_BEHIND), (second, LOOKS_AROUND)):
        file.parent.mkdir()
        file.write_text(prelude + correct)
    grade_file("a1_backprop", first)
    report = grade_file("a1_backprop", second)  # the same warm worker: grading is serial here
    assert "FILES LEFT: []" in report.log_tail
    assert "OTHER PROCESSES: []" in report.log_tail
    assert report.score == report.max_score
