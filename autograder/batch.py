"""Grade a whole class with the kit's own CLI: one sub-folder per student.

One student's broken submission never stops the batch: each is graded in its own
sandboxed child, several at a time (`jobs`), and every student gets a JSON report,
written the moment that student is graded, so an interrupted run resumes where it
stopped (`resume`) and loses nothing. `grades.csv` is built from those reports.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
from rich.progress import Progress

from autograder.grading import grade
from autograder.outcome import ERROR


def grade_students(folder: Path, out_dir: Path, *, assignment: str | None = None,
                   jobs: int = 1, resume: bool = False) -> pd.DataFrame:
    """Grade each student's sub-folder of `folder` into `out_dir/<student>.json`, then
    write `grades.csv` (total and points per check, one row per student and assignment).
    With `resume`, students who already have a report are not graded again."""
    out_dir.mkdir(parents=True, exist_ok=True)
    students = sorted(p for p in folder.iterdir() if p.is_dir())
    todo = [s for s in students if not (resume and _report_path(out_dir, s).is_file())]
    # Threads are enough: each grading is a child process, the thread only waits on it.
    with ThreadPoolExecutor(max_workers=jobs) as pool, Progress(transient=True) as progress:
        task = progress.add_task("grading", total=len(todo))
        futures = {pool.submit(grade, s, assignment=assignment): s for s in todo}
        for future in as_completed(futures):
            _write_report(_report_path(out_dir, futures[future]), future.result())
            progress.advance(task)
    table = pd.DataFrame([row for s in students for row in _rows(_report_path(out_dir, s))])
    table.to_csv(out_dir / "grades.csv", index=False)
    return table


def _report_path(out_dir: Path, student: Path) -> Path:
    return out_dir / f"{student.name}.json"


def _write_report(path: Path, reports) -> None:
    """Atomically, so an interrupted run never leaves half a report to resume from."""
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps([r.to_dict() for r in reports], indent=1))
    os.replace(partial, path)


def _rows(path: Path) -> list[dict]:
    return [{"student": path.stem, "assignment": r["assignment"], "score": r["score"],
             "max_score": r["max_score"],
             "grader_errors": sum(c["status"] == ERROR for c in r["results"]),
             **{c["name"]: c["points"] for c in r["results"]}}
            for r in json.loads(path.read_text())]
