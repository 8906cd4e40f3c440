"""Grade a whole class with the kit's own CLI: one sub-folder per student.

One student's broken submission never stops the batch: each is graded in its own
sandboxed child, and every student gets a row in the CSV and a JSON report.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from rich.progress import track

from autograder.grading import grade
from autograder.outcome import ERROR


def grade_students(folder: Path, out_dir: Path, *, assignment: str | None = None
                   ) -> pd.DataFrame:
    """Grade each student's sub-folder of `folder`; write `<student>.json` reports and
    `grades.csv` (total and points per check, one row per student and assignment)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    students = sorted(p for p in folder.iterdir() if p.is_dir())
    for student in track(students, description="grading", transient=True):
        reports = grade(student, assignment=assignment)
        (out_dir / f"{student.name}.json").write_text(
            json.dumps([r.to_dict() for r in reports], indent=1))
        rows += [{"student": student.name, "assignment": r.assignment, "score": r.score,
                  "max_score": r.max_score,
                  "grader_errors": sum(c.status == ERROR for c in r.results),
                  **{c.name: c.points for c in r.results}} for r in reports]
    table = pd.DataFrame(rows)
    table.to_csv(out_dir / "grades.csv", index=False)
    return table
