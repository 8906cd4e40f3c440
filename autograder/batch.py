"""Grade a whole class with the kit's own CLI: one sub-folder per student.

One student's broken submission never stops the batch: each assignment of each student
is graded in its own sandboxed child, several at a time (`jobs`) on this machine or
spread over a Dask cluster (`scheduler`), and every student gets a JSON report and a
feedback page per assignment, written the moment that student's last assignment is
graded, so an interrupted run resumes where it stopped (`resume`) and loses nothing.
`grades.csv` is built from those reports, and from it the grade books an LMS imports
(`autograder.gradebook`).
"""
from __future__ import annotations

import json
import os
import tempfile
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd
from rich.progress import Progress

from autograder.gradebook import write_gradebooks
from autograder.grading import AssignmentReport, find_submissions, grade_file
from autograder.html_report import page
from autograder.outcome import ERROR


@contextmanager
def executor(jobs: int, scheduler: str | None) -> Iterator[Executor]:
    """Threads on this machine (each grading is a child process; a thread only waits on
    it), or the workers of the Dask cluster at `scheduler`."""
    if scheduler is None:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            yield pool
        return
    from distributed import Client  # only a cluster run pays for importing Dask

    with Client(scheduler) as client:
        yield client.get_executor(pure=False)  # two identical files are two gradings


def grade_students(folder: Path, out_dir: Path, *, assignment: str | None = None,
                   jobs: int = 1, resume: bool = False,
                   scheduler: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Grade each student's sub-folder of `folder` into `out_dir/<student>.json` and
    feedback pages `out_dir/<student>/<assignment>.html`, then
    write `grades.csv` (total and points per check, one row per student and assignment)
    and the LMS grade books pivoted from it (one row per student, a total per assignment).
    With `resume`, students who already have a report are not graded again. Returns the
    table and, for each student who could not be graded, what went wrong."""
    out_dir.mkdir(parents=True, exist_ok=True)
    students = sorted(p for p in folder.iterdir() if p.is_dir())
    todo = {s: find_submissions(s, assignment) for s in students
            if not (resume and _report_path(out_dir, s).is_file())}
    reports: dict[Path, list[AssignmentReport | None]] = {s: [None] * len(found)
                                                          for s, found in todo.items()}
    failures = []
    with executor(jobs, scheduler) as pool, Progress(transient=True) as progress:
        task = progress.add_task("grading", total=len(todo))
        futures = {pool.submit(grade_sent, name, file.name if file else None,
                               file.read_bytes() if file else None): (student, index, file)
                   for student, found in todo.items()
                   for index, (name, file) in enumerate(found)}
        for future in as_completed(futures):
            student, index, file = futures[future]
            try:
                report = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker, reported, not fatal
                failures.append(f"{student.name}: {type(exc).__name__}: {exc}")
                reports.pop(student, None)
                continue
            if student not in reports:
                continue  # another of the student's assignments already failed
            report.submission = str(file) if file else None
            reports[student][index] = report
            if all(reports[student]):
                _write_pages(out_dir / student.name, student.name, reports[student])
                _write_report(_report_path(out_dir, student), reports.pop(student))
                progress.advance(task)
    table = pd.DataFrame([row for s in students if _report_path(out_dir, s).is_file()
                          for row in _rows(_report_path(out_dir, s))])
    table.to_csv(out_dir / "grades.csv", index=False)
    write_gradebooks(table, out_dir)
    return table, failures


def grade_sent(assignment: str, name: str | None, content: bytes | None) -> AssignmentReport:
    """Grade a submission sent as bytes (to a Dask worker, or a thread here): the file is
    written to a folder of its own, so no grading can see another student's."""
    if content is None:
        return grade_file(assignment, None)
    with tempfile.TemporaryDirectory(prefix="autograder-sent-") as folder:
        file = Path(folder) / name
        file.write_bytes(content)
        return grade_file(assignment, file)


def _report_path(out_dir: Path, student: Path) -> Path:
    return out_dir / f"{student.name}.json"


def _write_pages(folder: Path, student: str, reports: list[AssignmentReport]) -> None:
    """Before the JSON report, which marks the student done for `resume`."""
    folder.mkdir(exist_ok=True)
    for report in reports:
        (folder / f"{report.assignment}.html").write_text(page([report], student),
                                                          encoding="utf-8")


def _write_report(path: Path, reports: list[AssignmentReport]) -> None:
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
