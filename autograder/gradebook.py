"""The grade book an LMS imports: one row per student, one column per assignment holding
its total, pivoted from the table `grade-all` writes as `grades.csv`.

Two layouts, because no single file imports everywhere: Canvas wants its own identity
columns and takes a "Points Possible" row (it gives an assignment the import creates its
points), while Moodle and Blackboard read every row below the header as a student and
reject the whole file over a row they cannot match to one.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

GRADEBOOK = "gradebook.csv"
CANVAS_GRADEBOOK = "gradebook_canvas.csv"
USERNAME = "Username"  # Blackboard's key column; Moodle maps whichever column it is told
POINTS_POSSIBLE = "Points Possible"  # Canvas reads the row whose first cell says this


def totals(table: pd.DataFrame) -> pd.DataFrame:
    """Each student's total per assignment: students down, assignments across (sorted,
    so a1 … a7); empty where a student has no report for that assignment."""
    if table.empty:
        return pd.DataFrame(index=pd.Index([], name="student"))
    return table.pivot(index="student", columns="assignment", values="score")


def gradebook(table: pd.DataFrame) -> pd.DataFrame:
    """`Username` (the student's folder name), then one column per assignment."""
    wide = totals(table)
    return wide.rename_axis(index=USERNAME, columns=None).reset_index()


def canvas_gradebook(table: pd.DataFrame) -> pd.DataFrame:
    """Canvas's own export layout: `Student`, `ID`, `SIS User ID`, `SIS Login ID`,
    `Section`, one column per assignment, and the "Points Possible" row first. Canvas
    matches a row by `ID` (its user id, which the kit does not know, left empty), then
    `SIS User ID`, `SIS Login ID` and the name: the folder name is the login and name."""
    wide = totals(table)
    students = pd.DataFrame({"Student": wide.index, "ID": "", "SIS User ID": "",
                             "SIS Login ID": wide.index, "Section": ""}, index=wide.index)
    points = {"Student": POINTS_POSSIBLE}
    if not table.empty:
        points |= table.groupby("assignment")["max_score"].max().to_dict()
    body = students.join(wide)
    rows = pd.concat([pd.DataFrame([points]), body], ignore_index=True)
    return rows.reindex(columns=body.columns)


def write_gradebooks(table: pd.DataFrame, out_dir: Path) -> None:
    """Both layouts, every field quoted (Blackboard asks for it; the others accept it)."""
    for name, layout in ((GRADEBOOK, gradebook), (CANVAS_GRADEBOOK, canvas_gradebook)):
        layout(table).to_csv(out_dir / name, index=False, quoting=csv.QUOTE_ALL)
