"""Write grading reports: a table for people, JSON for tools, Gradescope's results.json,
and a feedback page (HTML, one page holding every assignment graded)."""
from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autograder.grading import AssignmentReport
from autograder.html_report import page
from autograder.outcome import ERROR, PASSED, SKIPPED

FORMATS = ("table", "json", "gradescope", "html")
_STYLE = {PASSED: "green", ERROR: "magenta", SKIPPED: "yellow"}


def render(reports: list[AssignmentReport], fmt: str, console: Console) -> None:
    if fmt == "table":
        for report in reports:
            console.print(_table(report))
            for problem in report.problems:
                console.print(f"  [yellow]while loading:[/] {escape(problem)}")
            if not report.sandboxed:
                console.print(f"  [yellow]isolation:[/] {escape(report.isolation)}")
    elif fmt == "json":
        console.print_json(json.dumps([r.to_dict() for r in reports]))
    elif fmt == "html":
        console.out(page(reports), highlight=False)
    else:
        console.print_json(json.dumps(gradescope(reports)))


def _table(report: AssignmentReport) -> Table:
    source = escape(report.submission or "no submission")
    table = Table(title=f"{report.assignment}: {report.score:g} / {report.max_score:g}  ({source})",
                  title_justify="left", show_lines=True)
    table.add_column("check", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("result")
    for r in report.results:
        label = f"{r.name}{' [dim](hidden)[/]' if r.hidden else ''}"
        verdict = {PASSED: "passed", SKIPPED: escape(r.message)}.get(
            r.status, escape(f"{r.title}: {r.message}"))
        table.add_row(label, f"{r.points:g}/{r.max_points:g}",
                      f"[{_STYLE.get(r.status, 'red')}]{verdict}[/]")
    return table


def gradescope(reports: list[AssignmentReport]) -> dict:
    """Gradescope's autograder results.json: top-level score and one entry per check. A
    skipped check (no GPU) is worth 0 of 0 and carries no status: it neither passed nor
    failed."""
    tests = [{"name": f"{report.assignment}: {r.title}",
              "number": f"{i}.{j}",
              "score": r.points,
              "max_score": r.max_points,
              **({} if r.status == SKIPPED else
                 {"status": "passed" if r.status == PASSED else "failed"}),
              "output": r.message or "passed",
              "visibility": "after_published" if r.hidden else "visible"}
             for i, report in enumerate(reports, start=1)
             for j, r in enumerate(report.results, start=1)]
    output = "\n".join([f"{r.assignment}: {p}" for r in reports for p in r.problems]
                       + sorted({r.isolation for r in reports if not r.sandboxed}))
    return {"score": sum(r.score for r in reports), "output": output, "tests": tests}
