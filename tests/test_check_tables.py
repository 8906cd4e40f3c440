"""The README's check tables are the registry's, and the staleness test can fail.

Every assignment in the registry has a table between its markers in README.md, equal
to a fresh rendering; a table with a wrong number, a missing table and the command
that rewrites them are each exercised on a copy of the real README.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from autograder.check_tables import COMMAND, markers, problem, render, rewrite
from autograder.checks import ASSIGNMENTS, checks_for
from autograder.paths import README


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_readme_table_is_the_registrys(assignment, readme):
    assert problem(readme, assignment) is None, problem(readme, assignment)


def test_table_lists_every_check_with_points_visibility_and_title():
    table = render("a1_backprop")
    checks = checks_for("a1_backprop")
    assert table.startswith(f"### a1_backprop ({sum(c.points for c in checks):g} points)")
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == [c.name for c in checks]
    hidden = next(c for c in checks if c.hidden)
    assert f"| `{hidden.name}` (hidden) | {hidden.points:g} | {hidden.title} |" in table


def test_a_wrong_number_is_stale_and_rewriting_fixes_only_the_table(readme):
    stale = readme.replace("| `poly_gradient` | 2 |", "| `poly_gradient` | 3 |")
    assert stale != readme
    message = problem(stale, "a1_backprop")
    assert message and "differs from the registry" in message and COMMAND in message
    assert rewrite(stale) == rewrite(readme)
    assert rewrite(rewrite(readme)) == rewrite(readme)


def test_a_table_without_markers_is_reported_missing(readme):
    begin, end = markers("a2_training_loop")
    unmarked = readme.replace(begin + "\n", "").replace(end + "\n", "")
    message = problem(unmarked, "a2_training_loop")
    assert message and "has no check table for a2_training_loop" in message and begin in message


def test_command_writes_the_tables_and_check_mode_fails_on_a_stale_one(readme, tmp_path):
    copy = tmp_path / "README.md"
    empty = "".join(f"\n{begin}\n{end}\n" for begin, end in map(markers, ASSIGNMENTS))
    copy.write_text("# intro\n" + empty, encoding="utf-8")
    command = [sys.executable, "-m", "autograder.check_tables", "--readme", str(copy)]
    written = subprocess.run(command, capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    text = copy.read_text(encoding="utf-8")
    assert text.startswith("# intro\n") and all(render(a) in text for a in ASSIGNMENTS)
    copy.write_text(text.replace(" points)", " points) ", 1), encoding="utf-8")
    checked = subprocess.run(command + ["--check"], capture_output=True, text=True)
    assert checked.returncode == 1 and f"run `{COMMAND}`" in checked.stderr
