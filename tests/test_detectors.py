"""Test the graders like detectors (STYLE.md §6): every assignment in the registry has a
table, `fixtures/<assignment>/expected.toml`, beside its fixtures.

Each module in `fixtures/<assignment>/` is a whole student submission, graded as one
(`grade_file`: a sandboxed child process). Correct ones, written in the styles students
really write, must load without problems and pass every check; each buggy one holds
exactly one bug and must fail exactly the checks its table lists, with messages that
name the bug. Every check must be failed alone (the only check in a fixture's table) by
some fixture: a check no wrong answer can fail, or only one that fails another check
too, is a defect, unless the table exempts it with the reason.

The table format (each expected.toml repeats it at the top):

    [fixture]               one table per module, named by its file stem; a correct
                            fixture's table is empty
    check = "fragment"      the fixture fails this check, and the message contains the
                            fragment (any case)
    check = ["…", "re:…"]   several expectations, all must hold; one starting with "re:"
                            is a regular expression the message must match (re.search,
                            case-sensitive, "." also matches newlines)
    [failed_only_with_others]
    check = "why"           this check is exempt from being failed alone: why no bug can
                            fail it alone, with the measured numbers
    [judged_elsewhere]
    check = "where"         this check needs what the machine may lack (it says
                            "skipped: no CUDA device") and no fixture here fails it: its
                            verdicts are not compared here, and the value names the test
                            that is its detector

A GPU check that a fixture here does fail is compared on a machine with CUDA; without
one its verdict is "skipped" and left out of the comparison.

Grading needs the data an assignment's checks read (`datasets_for`), so its cases carry
that dataset's marker (`sst2`, `langid`); an assignment that reads none runs without it.
"""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.checks.registry import datasets_for
from autograder.grading import AssignmentReport, grade_file
from autograder.outcome import FAILED, PASSED, SKIPPED

REPOSITORY = Path(__file__).resolve().parents[1]
FIXTURES = REPOSITORY / "tests" / "fixtures"
TABLE_FILE = "expected.toml"
# The tables in expected.toml that are not fixtures.
EXEMPT = "failed_only_with_others"
ELSEWHERE = "judged_elsewhere"
REGEX_PREFIX = "re:"
GRADE_WORKERS = 2  # each grade is its own sandboxed child process
# What a stand-alone submission may import: the standard library, the course's libraries
# and the data loaders the student release ships; never the grader's checks.
ALLOWED_IMPORTS = frozenset({"lightning", "matplotlib", "numpy", "pandas", "scipy", "sklearn",
                             "torch"})
ALLOWED_KIT_IMPORTS = ("autograder.data",)


def _table_path(assignment: str) -> Path:
    return FIXTURES / assignment / TABLE_FILE


def _read_table(assignment: str) -> dict:
    path = _table_path(assignment)
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from exc


RAW = {a: _read_table(a) for a in ASSIGNMENTS if _table_path(a).is_file()}
TABLES = {a: {name: entry for name, entry in raw.items() if name not in (EXEMPT, ELSEWHERE)}
          for a, raw in RAW.items()}
EXEMPTIONS = {a: raw.get(EXEMPT, {}) for a, raw in RAW.items()}
JUDGED_ELSEWHERE = {a: raw.get(ELSEWHERE, {}) for a, raw in RAW.items()}


def _expectations(entry: str | list[str]) -> list[str]:
    return [entry] if isinstance(entry, str) else list(entry)


def _matches(expectation: str, message: str) -> bool:
    if expectation.startswith(REGEX_PREFIX):
        return re.search(expectation[len(REGEX_PREFIX):], message, re.S) is not None
    return expectation.lower() in message.lower()


def _data_marks(assignment: str) -> list[pytest.MarkDecorator]:
    return [getattr(pytest.mark, dataset) for dataset in datasets_for(assignment)]


def _case_params(only_failing: bool) -> list:
    return [pytest.param((a, name), id=f"{a}-{name}", marks=_data_marks(a))
            for a, table in TABLES.items() for name in sorted(table)
            if table[name] or not only_failing]


def _check_params(listed_in: dict[str, dict]) -> list:
    """(assignment, check) for each check `listed_in` names; with None, for each check
    that neither special table names."""
    special = {(a, check) for tables in (EXEMPTIONS, JUDGED_ELSEWHERE) for a in tables
               for check in tables[a]}
    return [pytest.param(a, c.name, id=f"{a}-{c.name}")
            for a in TABLES for c in checks_for(a)
            if ((a, c.name) not in special if listed_in is None else c.name in listed_in[a])]


def _skipped_without_gpu(report: AssignmentReport) -> set[str]:
    """GPU checks on a machine without CUDA: neither passed nor failed, so a table's
    expectation for them is compared only where there is a GPU."""
    if torch.cuda.is_available():
        return set()
    return {r.name for r in report.results if r.status == SKIPPED}


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
        return dict(zip(cases, pool.map(_grade, cases), strict=True))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_assignment_has_a_table(assignment: str) -> None:
    if assignment not in TABLES:
        pytest.fail(f"{assignment} has no detector table: write "
                    f"{_table_path(assignment).relative_to(REPOSITORY)}, with a correct and a "
                    f"buggy fixture for each of its checks beside it (the format is in "
                    f"tests/test_detectors.py's docstring).", pytrace=False)


@pytest.mark.parametrize("assignment", sorted(TABLES))
def test_every_fixture_is_in_the_table(assignment: str) -> None:
    table, known = TABLES[assignment], {c.name for c in checks_for(assignment)}
    modules = {p.stem for p in (FIXTURES / assignment).glob("*.py")}
    assert modules == set(table), (f"fixtures without a table entry: {modules - set(table)}; "
                                   f"table entries without a fixture: {set(table) - modules}")
    named = {check for failing in table.values() for check in failing}
    named |= set(EXEMPTIONS[assignment]) | set(JUDGED_ELSEWHERE[assignment])
    assert named <= known, f"unknown checks in {_table_path(assignment)}: {named - known}"


@pytest.mark.parametrize(("assignment", "check"), _check_params(listed_in=None))
def test_check_is_failed_alone_by_some_fixture(assignment: str, check: str) -> None:
    alone = sorted(name for name, failing in TABLES[assignment].items() if set(failing) == {check})
    together = sorted(name for name, failing in TABLES[assignment].items() if check in failing)
    assert alone, (f"no fixture fails {check} alone (failed together with other checks by: "
                   f"{together or 'none'}); add a buggy fixture whose one bug fails it alone, "
                   f"or exempt it in [{EXEMPT}] of {_table_path(assignment)} with the reason")


@pytest.mark.parametrize(("assignment", "check"), _check_params(listed_in=EXEMPTIONS))
def test_exempt_check_is_failed_only_with_others(assignment: str, check: str) -> None:
    """The exemptions: checks that only a bug also failing another check can fail."""
    failing = {name: set(f) for name, f in TABLES[assignment].items() if check in f}
    assert failing, f"no fixture fails the exempt check {check} at all"
    alone = [name for name, checks in failing.items() if checks == {check}]
    assert not alone, (f"{alone} fail {check} alone: remove its exemption from "
                       f"[{EXEMPT}] of {_table_path(assignment)}")
    assert EXEMPTIONS[assignment][check].strip(), f"the exemption of {check} gives no reason"


@pytest.mark.parametrize(("assignment", "check"), _check_params(listed_in=JUDGED_ELSEWHERE))
def test_check_judged_elsewhere_names_its_detector(assignment: str, check: str) -> None:
    """The checks whose verdicts this machine may not give (a GPU's): judged elsewhere."""
    in_tables = sorted(name for name, failing in TABLES[assignment].items() if check in failing)
    assert not in_tables, f"{check} is judged elsewhere, yet {in_tables} expect it to fail here"
    assert check not in EXEMPTIONS[assignment], f"{check} is both exempt and judged elsewhere"
    assert JUDGED_ELSEWHERE[assignment][check].strip(), f"{check}: name the test that judges it"


@pytest.mark.parametrize("path", sorted(p for a in TABLES for p in (FIXTURES / a).glob("*.py")),
                         ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_fixture_is_a_stand_alone_module_with_a_one_line_docstring(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree)
    assert docstring and "\n" not in docstring.strip()
    assert docstring.startswith("Bug: " if path.stem.startswith("bug_") else "Correct")
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    foreign = {name for name in imported
               if name.split(".")[0] not in ALLOWED_IMPORTS | sys.stdlib_module_names
               and not name.startswith(ALLOWED_KIT_IMPORTS)}
    assert not foreign, f"{path.name} imports {foreign}: a submission cannot"


@pytest.mark.parametrize("case", _case_params(only_failing=False))
def test_exactly_the_expected_checks_fail(case: tuple[str, str], reports) -> None:
    (assignment, name), report = case, reports[case]
    checks, expected = checks_for(assignment), TABLES[assignment][name]
    assert not report.problems, f"{name} did not load cleanly: {report.problems}"
    assert [r.name for r in report.results] == [c.name for c in checks]
    skipped = _skipped_without_gpu(report)
    judged = [r for r in report.results
              if r.name not in JUDGED_ELSEWHERE[assignment] and r.name not in skipped]
    got = {r.name: r.status for r in judged if r.status != PASSED}
    messages = {r.name: r.message for r in judged if r.status != PASSED}
    assert got == {check: FAILED for check in expected if check not in skipped}, \
        f"{name}: unexpected verdicts {messages}"
    lost = sum(c.points for c in checks if c.name in expected and c.name not in skipped)
    assert sum(r.points for r in judged) == sum(r.max_points for r in judged) - lost


@pytest.mark.parametrize("case", _case_params(only_failing=True))
def test_failure_messages_name_the_bug(case: tuple[str, str], reports) -> None:
    (assignment, name), report = case, reports[case]
    messages = {r.name: r.message for r in report.results}
    skipped = _skipped_without_gpu(report)
    for check, entry in TABLES[assignment][name].items():
        if check in skipped:  # a GPU check: its verdict is compared on a GPU machine
            continue
        for expectation in _expectations(entry):
            assert _matches(expectation, messages[check]), \
                f"{name}: {check} says {messages[check]!r}; expected {expectation!r}"
