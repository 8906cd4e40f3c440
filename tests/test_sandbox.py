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


def no_child_processes(submission: str, wait_s: float = 10) -> bool:
    """The kernel tears a PID namespace down in the background: give it a few seconds."""
    deadline = time.monotonic() + wait_s
    while child_processes(submission) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not child_processes(submission)


def child_processes(submission: str) -> list[str]:
    """Processes of a sandbox's own user still alive for `submission` (their command line
    names it, forks included): there should be none."""
    low, high = sandbox._CHILD_UIDS
    listing = subprocess.run(["ps", "-eww", "-o", "uid=,pid=,args="], capture_output=True,
                             text=True)
    return [line for line in listing.stdout.splitlines()
            if low <= int(line.split()[0]) < high and submission in line]


def assert_complete(report: AssignmentReport, score: float = 0) -> None:
    assert [r.name for r in report.results] == ALL_CHECKS
    assert all(r.status in (PASSED, FAILED) and (r.status == PASSED or r.message)
               for r in report.results)
    assert report.score == score, [(r.name, r.message[:120]) for r in report.results]
    assert "sandboxed by bubblewrap" in report.isolation
    assert no_child_processes(Path(report.submission).name)


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
    assert no_child_processes("process_and_memory_bombs.py")
    print(f"the sandbox's processes were gone {time.monotonic() - start:.1f} s after grading")


def test_a_check_that_swallows_its_time_limit_costs_only_the_assignment_limit(course_config):
    course_config("[time_limits]\ncheck_s = 3\nassignment_s = 40\n")
    start = time.monotonic()
    report = grade_file(A2, FIXTURES / "swallows_time_limits.py")
    assert time.monotonic() - start < 60
    assert_complete(report, score=sum(c.points for c in checks_for(A2)
                                      if c.name.startswith(("forward", "loss"))))
    evaluate = next(r for r in report.results if r.name == "evaluate_in_eval_mode_without_graph")
    assert "while this check was running" in evaluate.message


def test_stopping_the_grader_stops_everything_it_started(tmp_path):
    submission = FIXTURES / "swallows_time_limits.py"
    grader = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(submission),
                               "--assignment", A2], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while not child_processes(submission.name) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert child_processes(submission.name), "the grading child never started"
        grader.send_signal(signal.SIGTERM)
        grader.wait(timeout=30)
        assert no_child_processes(submission.name)
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
