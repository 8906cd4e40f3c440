"""`grade-all` grades a class several students at a time, writes each report the
moment it is done, resumes an interrupted run without grading anyone twice, and gives
the same grades on a real Dask cluster, even when one of its workers dies mid-grading."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from distributed import Client

from autograder.checks import ASSIGNMENTS
from autograder.cli import main

A1 = "a1_backprop"
A1_FIXTURES = Path(__file__).parent / "fixtures" / A1
CLASS = {"ada": "correct_mlp_loops", "bob": "bug_poly_loss_sum", "cy": "bug_value_log10"}


def make_class(root: Path) -> Path:
    for student, fixture in CLASS.items():
        folder = root / student / A1
        folder.mkdir(parents=True)
        shutil.copyfile(A1_FIXTURES / f"{fixture}.py", folder / f"{A1}.py")
    (root / "dan").mkdir()  # submitted nothing
    return root


def grade_all(students: Path, out: Path, *options: str, assignment: str | None = A1
              ) -> pd.DataFrame:
    only = ["--assignment", assignment] if assignment else []
    result = CliRunner().invoke(main, ["grade-all", str(students), *only,
                                       "--out-dir", str(out), *options])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "grades.csv")


def test_parallel_grading_gives_the_serial_grades_and_resume_grades_only_the_rest(tmp_path):
    students = make_class(tmp_path / "class")
    serial = grade_all(students, tmp_path / "serial", "--jobs", "1")
    parallel = grade_all(students, tmp_path / "parallel", "--jobs", "2")
    pd.testing.assert_frame_equal(serial, parallel)
    assert list(serial["student"]) == ["ada", "bob", "cy", "dan"]
    assert serial.loc[serial.student == "ada", "score"].item() == serial["max_score"][0]
    assert 0 < serial.loc[serial.student == "bob", "score"].item() < serial["max_score"][0]
    assert serial.loc[serial.student == "dan", "score"].item() == 0

    # An interrupted run: two reports were written, the others were not.
    (tmp_path / "parallel" / "cy.json").unlink()
    (tmp_path / "parallel" / "dan.json").unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "parallel").glob("*.json")}
    resumed = grade_all(students, tmp_path / "parallel", "--jobs", "2", "--resume")
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "parallel").glob("*.json")
            if p.name in kept} == kept
    pd.testing.assert_frame_equal(serial, resumed)


def test_the_lms_grade_books_hold_each_total_with_a_row_per_student(tmp_path):
    """Graded without --assignment, every assignment is a column (a missing one scores 0)."""
    grades = grade_all(make_class(tmp_path / "class"), tmp_path / "grades", "--jobs", "2",
                       assignment=None)
    book = pd.read_csv(tmp_path / "grades" / "gradebook.csv", index_col="Username")
    assert list(book.columns) == list(ASSIGNMENTS)
    assert list(book.index) == ["ada", "bob", "cy", "dan"]
    for row in grades.itertuples():
        assert book.at[row.student, row.assignment] == row.score, row
    assert book.at["ada", A1] == grades.loc[grades.assignment == A1, "max_score"].max()
    assert not book.loc["dan"].any()

    canvas = pd.read_csv(tmp_path / "grades" / "gradebook_canvas.csv", keep_default_na=False)
    assert list(canvas.columns) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                                    *ASSIGNMENTS]
    points, students = canvas.iloc[0], canvas.iloc[1:].set_index("SIS Login ID")
    assert points["Student"] == "Points Possible"
    for row in grades.itertuples():
        assert float(points[row.assignment]) == row.max_score, row
    assert list(students.index) == list(students["Student"]) == list(book.index)
    assert (students[list(ASSIGNMENTS)].astype(float) == book).all().all()
    header = (tmp_path / "grades" / "gradebook.csv").read_text().splitlines()[0]
    assert header == ",".join(f'"{name}"' for name in ["Username", *ASSIGNMENTS])


@pytest.fixture
def dask_cluster(tmp_path: Path):
    """A real scheduler and two single-threaded workers on loopback, as separate
    processes, as `dask scheduler` and `dask worker` start them on a cluster."""
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                  "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(scheduler_file)])
    workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker",
                                 "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1",
                                 "--nthreads", "1", "--no-nanny", "--no-dashboard"])
               for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        with Client(address) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            process.kill()
            process.wait()


def test_a_dask_cluster_grades_as_one_machine_does_even_when_a_worker_dies(tmp_path,
                                                                          dask_cluster):
    address, workers = dask_cluster
    students = make_class(tmp_path / "class")
    serial = grade_all(students, tmp_path / "serial", "--jobs", "1")
    grader = subprocess.Popen([sys.executable, "-m", "autograder", "grade-all", str(students),
                               "--assignment", A1, "--out-dir", str(tmp_path / "cluster"),
                               "--scheduler", address], stderr=subprocess.PIPE, text=True)
    # The scheduler decides which worker grades first: the first one seen grading dies.
    deadline = time.monotonic() + 120
    while not (grading := [w for w in workers if started_a_process(w.pid)]) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert grading, "no worker was ever given a grading"
    grading[0].send_signal(signal.SIGKILL)  # mid-grading: its warm worker had started
    _, errors = grader.communicate(timeout=600)
    assert grader.returncode == 0, errors
    cluster = pd.read_csv(tmp_path / "cluster" / "grades.csv")
    pd.testing.assert_frame_equal(serial, cluster)


def started_a_process(pid: int) -> bool:
    listing = subprocess.run(["ps", "-e", "-o", "ppid="], capture_output=True, text=True)
    return str(pid) in listing.stdout.split()
