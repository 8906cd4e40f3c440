"""The README's check tables, rendered from the registry so that they never disagree
with the points, visibility and titles the graders use.

    python -m autograder.check_tables          # rewrite README.md's tables
    python -m autograder.check_tables --check  # exit 1, saying why, when one is stale

Each assignment's heading and table sit between `<!-- checks: NAME -->` and
`<!-- /checks: NAME -->`; text outside the markers is never touched. A check's title is
its docstring's first line; a further paragraph, when any check of the assignment has
one, fills a "what it observes" column.
"""
from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import click

from autograder.checks.registry import ASSIGNMENTS, Check, checks_for
from autograder.paths import README

COMMAND = "python -m autograder.check_tables"


def markers(assignment: str) -> tuple[str, str]:
    return f"<!-- checks: {assignment} -->", f"<!-- /checks: {assignment} -->"


def render(assignment: str) -> str:
    """The heading and Markdown table of one assignment's checks, in registry order."""
    checks = checks_for(assignment)
    observed = any(_observed(c) for c in checks)
    header = ["check", "points", "title"] + (["what it observes"] if observed else [])
    lines = [f"### {assignment} ({sum(c.points for c in checks):g} points)", "",
             _row(header), _row(["---"] * len(header))]
    for c in checks:
        cells = [f"`{c.name}`" + (" (hidden)" if c.hidden else ""), f"{c.points:g}", c.title]
        lines.append(_row(cells + ([_observed(c)] if observed else [])))
    return "\n".join(lines)


def rewrite(text: str) -> str:
    """`text` with every marked table replaced by a fresh rendering."""
    for assignment in ASSIGNMENTS:
        if (span := _span(text, assignment)) is not None:
            start, end = span
            text = f"{text[:start]}\n{render(assignment)}\n{text[end:]}"
    return text


def problems(text: str) -> list[str]:
    """What is wrong with the tables in `text`: one sentence per assignment, each saying
    how to fix it; empty when every table is current."""
    return [found for assignment in ASSIGNMENTS if (found := problem(text, assignment))]


def problem(text: str, assignment: str) -> str | None:
    """Why the assignment's table in `text` is missing or stale, or None when current."""
    begin, end = markers(assignment)
    span = _span(text, assignment)
    if span is None:
        return (f"README.md has no check table for {assignment}: add the lines `{begin}` "
                f"and `{end}` where its table belongs, then run `{COMMAND}`.")
    if text[span[0]:span[1]].strip() != render(assignment):
        return (f"README.md's check table for {assignment} differs from the registry "
                f"(autograder/checks/{assignment}): run `{COMMAND}`.")
    return None


def _span(text: str, assignment: str) -> tuple[int, int] | None:
    """Where the table between the assignment's markers starts and ends, or None."""
    begin, end = markers(assignment)
    match = re.search(re.escape(begin) + r"\n(.*?)" + re.escape(end), text, re.S)
    return None if match is None else (match.start(1) - 1, match.end(1))


def _observed(check: Check) -> str:
    """The docstring's paragraphs after the title, on one line."""
    _, _, rest = inspect.cleandoc(check.func.__doc__ or "").partition("\n\n")
    return " ".join(rest.split())


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


@click.command()
@click.option("--check", "check_only", is_flag=True,
              help="report stale or missing tables and exit 1, without writing")
@click.option("--readme", type=click.Path(dir_okay=False, path_type=Path), default=README,
              show_default=True)
def main(check_only: bool, readme: Path) -> None:
    """Rewrite the README's check tables from the registry (example: `python -m
    autograder.check_tables --check` in CI)."""
    text = readme.read_text(encoding="utf-8")
    if not check_only:
        text = rewrite(text)
        readme.write_text(text, encoding="utf-8")
    found = problems(text)
    for problem in found:
        click.echo(problem, err=True)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
