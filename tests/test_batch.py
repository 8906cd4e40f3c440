"""`grade-all` grades a class several students at a time, writes each report the
moment it is done, and resumes an interrupted run without grading anyone twice."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

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


def grade_all(students: Path, out: Path, *options: str) -> pd.DataFrame:
    result = CliRunner().invoke(main, ["grade-all", str(students), "--assignment", A1,
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
