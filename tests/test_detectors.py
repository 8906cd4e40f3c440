"""Test the graders like detectors (STYLE.md §6), for every assignment whose fixture
folder holds an `expected.toml` table.

Each module in `fixtures/<assignment>/` is a whole student submission. Correct ones,
written in unusual but allowed styles, must pass every check; each buggy one holds
exactly one bug and must fail exactly the checks its table lists, with a message that
names the bug. Every other check must pass, and every check must be failed by some
fixture (a check no wrong answer can fail is a defect).
"""
from __future__ import annotations

import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.grading import AssignmentReport, grade_file
from autograder.outcome import FAILED, PASSED

pytestmark = pytest.mark.sst2  # the accuracy checks train on SST-2

FIXTURES = Path(__file__).parent / "fixtures"
GRADE_WORKERS = 2  # each grade is its own sandboxed child process


def _table(assignment: str) -> dict[str, dict[str, str]]:
    with open(FIXTURES / assignment / "expected.toml", "rb") as handle:
        return tomllib.load(handle)


TABLES = {a: _table(a) for a in ASSIGNMENTS if (FIXTURES / a / "expected.toml").is_file()}
CASES = [(a, name) for a, table in TABLES.items() for name in sorted(table)]
FAILING = [(a, name) for a, name in CASES if TABLES[a][name]]


def _grade(case: tuple[str, str]) -> AssignmentReport:
    assignment, name = case
    return grade_file(assignment, FIXTURES / assignment / f"{name}.py")


@pytest.fixture(scope="module")
def reports(request: pytest.FixtureRequest) -> dict[tuple[str, str], AssignmentReport]:
    """Grade each fixture selected in this session once, a few at a time."""
    cases = sorted({item.callspec.params["case"] for item in request.session.items
                    if item.module is request.module
                    and "case" in getattr(getattr(item, "callspec", None), "params", {})})
    with ThreadPoolExecutor(max_workers=GRADE_WORKERS) as pool:
        return dict(zip(cases, pool.map(_grade, cases)))


@pytest.mark.parametrize("assignment", sorted(TABLES))
def test_every_fixture_is_in_the_table_and_every_check_can_fail(assignment: str) -> None:
    table = TABLES[assignment]
    assert {p.stem for p in (FIXTURES / assignment).glob("*.py")} == set(table)
    known = {c.name for c in checks_for(assignment)}
    named = {check for failing in table.values() for check in failing}
    assert named == known, (f"unknown checks in the table: {named - known}; "
                            f"checks no buggy fixture fails: {known - named}")


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_exactly_the_expected_checks_fail(case: tuple[str, str], reports) -> None:
    (assignment, name), report = case, reports[case]
    assert not report.problems, f"{name} did not load cleanly: {report.problems}"
    assert [r.name for r in report.results] == [c.name for c in checks_for(assignment)]
    got = {r.name: r.status for r in report.results if r.status != PASSED}
    messages = {r.name: r.message for r in report.results if r.status != PASSED}
    assert got == {check: FAILED for check in TABLES[assignment][name]}, \
        f"{name}: unexpected verdicts {messages}"


@pytest.mark.parametrize("case", FAILING, ids=["-".join(c) for c in FAILING])
def test_failure_messages_name_the_bug(case: tuple[str, str], reports) -> None:
    (assignment, name), report = case, reports[case]
    messages = {r.name: r.message for r in report.results}
    for check, fragment in TABLES[assignment][name].items():
        assert fragment.lower() in messages[check].lower(), \
            f"{name}: {check} says {messages[check]!r}; expected it to mention {fragment!r}"
