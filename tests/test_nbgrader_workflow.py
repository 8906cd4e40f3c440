"""The instructor's nbgrader session, end to end, with the real `nbgrader` commands:
generate_assignment, zip_collect (an LMS-style zip), autograde, generate_feedback,
export. Five students of a2: a full solution, the untouched stub, one bug, a file
that is not a notebook, and a notebook with deleted, duplicated and stripped cells;
and for every other assignment a complete notebook.

`autograder grade-all` grades the same submitted notebooks: its `grades.csv` and its LMS
grade books must equal nbgrader's export and gradebook point for point, per student and
per check, and no feedback file may contain a hidden test's source.
"""
from __future__ import annotations

import copy
import csv
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbgrader.api import Gradebook

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.checks.support import gpu_checks_skipped_here
from autograder.release import REPO_ROOT, SOLUTIONS, run_nbgrader

pytestmark = [pytest.mark.nbgrader, pytest.mark.sst2]

ASSIGNMENT = "a2_training_loop"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
GRADED = ("alice", "bob", "carol", "erin")


def _new_course(root: Path, assignment: str) -> nbformat.NotebookNode:
    """A course directory with the kit's config and one assignment released; the release."""
    shutil.copy(REPO_ROOT / "nbgrader_config.py", root)
    shutil.copytree(SOLUTIONS / assignment, root / "solutions" / assignment)
    assert run_nbgrader("generate_assignment", assignment, "--force", cwd=root).returncode == 0
    return nbformat.read(root / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)


def _completed(release: nbformat.NotebookNode, assignment: str,
               edit=lambda grade_id, source: source) -> nbformat.NotebookNode:
    """The release with every solution cell filled in, as a student would."""
    source = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    solutions = {cell.metadata["nbgrader"]["grade_id"]:
                 "\n".join(line for line in cell.source.splitlines() if "### " not in line)
                 for cell in source.cells if cell.metadata.get("nbgrader", {}).get("solution")}
    notebook = copy.deepcopy(release)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = edit(meta["grade_id"], solutions[meta["grade_id"]])
    return notebook


def _nbgrader_points(root: Path, assignment: str, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        return {c.name: gradebook.find_grade(c.name, assignment, assignment, student).score
                for c in checks_for(assignment)}


def _students(release: nbformat.NotebookNode) -> dict[str, str]:
    """Each a2 student's submitted file contents."""

    def completed(edit=lambda grade_id, source: source):
        return _completed(release, ASSIGNMENT, edit)

    carol = completed(lambda grade_id, source: source.replace("optimizer.zero_grad()", "pass")
                      if grade_id == "train_epoch" else source)
    erin = completed()
    graders = [c for c in erin.cells if c.metadata.get("nbgrader", {}).get("grade")
               and not c.metadata["nbgrader"].get("solution")]
    erin.cells.remove(graders[0])                  # a deleted autograder cell
    duplicate = copy.deepcopy(erin.cells[3])       # a duplicated cell, moved to the end
    duplicate.id = "duplicated-cell"
    erin.cells.append(duplicate)
    for cell in erin.cells[:3]:                    # stripped metadata
        cell.metadata = {}
    return {"alice": nbformat.writes(completed()), "bob": nbformat.writes(release),
            "carol": nbformat.writes(carol), "erin": nbformat.writes(erin),
            "dave": "this file is not a notebook {"}


@dataclass
class Course:
    root: Path
    steps: dict[str, subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    """A course directory taken through the whole nbgrader cycle."""
    course = tmp_path_factory.mktemp("course")
    release = _new_course(course, ASSIGNMENT)
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "canvas_download.zip", "w") as lms:
        for number, (student, text) in enumerate(_students(release).items()):
            late = "LATE_" if student == "dave" else ""
            lms.writestr(f"{student}_{late}{100 + number}_{900 + number}_{NOTEBOOK}", text)
    steps = {}
    for step in (["zip_collect", ASSIGNMENT, "--force"], ["autograde", ASSIGNMENT, "--force"],
                 ["generate_feedback", ASSIGNMENT, "--force"], ["export", "--to", "grades.csv"]):
        steps[step[0]] = run_nbgrader(*step, cwd=course)
    return Course(course, steps)


def test_every_step_ran(course):
    for name, done in course.steps.items():
        if name == "autograde":  # one student cannot be autograded: nbgrader says so, exit 1
            assert ("error processing assignment 'a2_training_loop' for student 'dave'"
                    in done.stderr)
            assert "Notebook does not appear to be JSON" in done.stderr
        else:
            assert done.returncode == 0, f"nbgrader {name} failed:\n{done.stderr[-3000:]}"


def test_the_batch_is_not_stopped_by_a_broken_notebook(course):
    autograded = (course.root / "autograded").glob(f"*/{ASSIGNMENT}/{NOTEBOOK}")
    graded = {p.parent.parent.name for p in autograded}
    assert graded == set(GRADED)


@pytest.fixture(scope="module")
def grade_all(course) -> Path:
    """`autograder grade-all` run on the very notebooks nbgrader collected and autograded
    (nbgrader's `submitted/<student>/<assignment>/` is grade-all's folder per student);
    the folder it wrote `grades.csv` and the LMS grade books into."""
    out = course.root / "grade-all"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade-all",
                           str(course.root / "submitted"), "--assignment", ASSIGNMENT,
                           "--out-dir", str(out), "--jobs", "2"],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"autograder grade-all failed:\n{done.stderr[-3000:]}"
    return out


def _exported(course: Course) -> dict[str, dict[str, str]]:
    """nbgrader export's rows (one per student and assignment), by student."""
    with open(course.root / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def test_grade_all_agrees_with_nbgrader_export_on_every_total(course, grade_all):
    exported = _exported(course)
    grades = pd.read_csv(grade_all / "grades.csv").set_index("student")
    assert set(grades.index) == set(exported) == {*GRADED, "dave"}
    for student, row in exported.items():
        assert row["assignment"] == grades.at[student, "assignment"] == ASSIGNMENT
        assert (float(row["score"]), float(row["max_score"])) == \
            (grades.at[student, "score"], grades.at[student, "max_score"]), student
    full = grades.at["alice", "max_score"]
    assert grades.at["alice", "score"] == grades.at["erin", "score"] == full
    assert grades.at["bob", "score"] == grades.at["dave", "score"] == 0
    assert 0 < grades.at["carol", "score"] < full


def test_grade_all_agrees_with_nbgrader_gradebook_on_every_check(course, grade_all):
    grades = pd.read_csv(grade_all / "grades.csv").set_index("student")
    for student in GRADED:  # dave's file never autograded: nbgrader holds no cell of his
        assert _nbgrader_points(course.root, ASSIGNMENT, student) == \
            {c.name: grades.at[student, c.name] for c in checks_for(ASSIGNMENT)}, student


def test_the_lms_grade_books_hold_nbgrader_export_totals(course, grade_all):
    exported = _exported(course)
    totals = {student: float(row["score"]) for student, row in exported.items()}
    book = pd.read_csv(grade_all / "gradebook.csv")
    assert list(book.columns) == ["Username", ASSIGNMENT]
    assert book.set_index("Username")[ASSIGNMENT].to_dict() == totals
    canvas = pd.read_csv(grade_all / "gradebook_canvas.csv", keep_default_na=False)
    assert list(canvas.columns) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                                    ASSIGNMENT]
    points, students = canvas.iloc[0], canvas.iloc[1:].set_index("SIS Login ID")
    assert points["Student"] == "Points Possible"
    assert float(points[ASSIGNMENT]) == float(exported["alice"]["max_score"])
    assert students[ASSIGNMENT].astype(float).to_dict() == totals


@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if a != ASSIGNMENT])
def test_every_assignment_autogrades_a_complete_notebook_like_the_cli(assignment, tmp_path):
    """Full marks, as the CLI gives the reference (tests/test_reference_and_stubs.py); a
    GPU check skipped for want of CUDA scores 0 in both."""
    release = _new_course(tmp_path, assignment)
    submitted = tmp_path / "submitted" / "alice" / assignment / f"{assignment}.ipynb"
    submitted.parent.mkdir(parents=True)
    nbformat.write(_completed(release, assignment), submitted)
    done = run_nbgrader("autograde", assignment, "--force", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _nbgrader_points(tmp_path, assignment, "alice") == {
        c.name: 0 if c.gpu_only and gpu_checks_skipped_here() else c.points
        for c in checks_for(assignment)}


def test_feedback_shows_messages_but_no_hidden_test(course):
    hidden = [c.name for c in checks_for(ASSIGNMENT) if c.hidden]
    feedback = list((course.root / "feedback").glob(f"*/{ASSIGNMENT}/*.html"))
    assert {p.parent.parent.name for p in feedback} == set(GRADED)
    for page in feedback:
        html = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in html
        assert not [name for name in hidden if f"{ASSIGNMENT}.{name}" in html], page
        assert "autograder/notebook.py" not in html, page  # no traceback of a check cell
    carol = (course.root / "feedback" / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "is never called in" in carol
