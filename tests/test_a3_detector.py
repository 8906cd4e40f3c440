"""Test the a3 grader like a detector (STYLE.md §6).

Each module in fixtures/a3_regularization/ is a whole student submission. Correct ones,
written in unusual but allowed styles, must pass every check; each buggy one holds
exactly one bug and must fail exactly the checks listed for it below, with a message that
names the bug. Every other check must pass.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.checks import checks_for
from autograder.grading import AssignmentReport, grade_file
from autograder.outcome import FAILED, PASSED

pytestmark = pytest.mark.sst2  # sst2_dev_accuracy trains on SST-2

ASSIGNMENT = "a3_regularization"
FIXTURES = Path(__file__).parent / "fixtures" / ASSIGNMENT
GRADE_WORKERS = 2  # each grade is its own sandboxed child process

# fixture -> {check expected to fail: fragment its message must contain (any case)}
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "correct_own_parameters": {},
    "correct_named_parameters_loop": {},
    "correct_norm_squared": {},
    "bug_bias_penalized": {"bias_is_not_penalized": "the bias is penalized"},
    "bug_mean_over_all_parameters": {"bias_is_not_penalized": "the mean runs over the bias"},
    "bug_penalty_sum": {
        "penalty_is_mean_of_squared_weights": "not the sum",
        # at the default λ a sum is a penalty 13,774 times too strong: 0.737 dev accuracy
        "sst2_dev_accuracy": "dev accuracy",
    },
    "bug_penalty_not_added": {
        "penalty_is_mean_of_squared_weights": "not added to the returned loss",
        # no penalty, so no shrinkage: the end-to-end observation of the same bug
        "large_penalty_shrinks_weights": "should shrink",
    },
    "bug_penalty_detached": {
        "penalty_gradient_reaches_weights": "detached value",
        # a penalty without gradient cannot shrink anything
        "large_penalty_shrinks_weights": "should shrink",
    },
    "bug_lambda_zero_falls_back_to_default": {"zero_penalty_is_plain_bce": "treats 0 as missing"},
}


def _grade(name: str) -> AssignmentReport:
    return grade_file(ASSIGNMENT, FIXTURES / f"{name}.py")


@pytest.fixture(scope="module")
def reports(request: pytest.FixtureRequest) -> dict[str, AssignmentReport]:
    """Grade each fixture selected in this session once, a few at a time."""
    names = sorted({item.callspec.params["name"] for item in request.session.items
                    if item.module is request.module and "name" in getattr(
                        getattr(item, "callspec", None), "params", {})})
    with ThreadPoolExecutor(max_workers=GRADE_WORKERS) as pool:
        return dict(zip(names, pool.map(_grade, names)))


def test_every_fixture_is_in_the_table() -> None:
    on_disk = {p.stem for p in FIXTURES.glob("*.py")}
    assert on_disk == set(EXPECTED_FAILURES)
    known = {c.name for c in checks_for(ASSIGNMENT)}
    named = {check for failing in EXPECTED_FAILURES.values() for check in failing}
    assert named == known, f"unknown checks in the table: {named - known}; " \
                           f"checks no buggy fixture fails: {known - named}"


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES))
def test_exactly_the_expected_checks_fail(name: str, reports) -> None:
    report = reports[name]
    assert not report.problems, f"{name} did not load cleanly: {report.problems}"
    statuses = {r.name: r.status for r in report.results}
    assert set(statuses) == {c.name for c in checks_for(ASSIGNMENT)}
    expected = {check: FAILED for check in EXPECTED_FAILURES[name]}
    got = {check: status for check, status in statuses.items() if status != PASSED}
    messages = {r.name: r.message for r in report.results if r.status != PASSED}
    assert got == expected, f"{name}: unexpected verdicts {messages}"


@pytest.mark.parametrize("name", sorted(n for n, f in EXPECTED_FAILURES.items() if f))
def test_failure_messages_name_the_bug(name: str, reports) -> None:
    messages = {r.name: r.message for r in reports[name].results}
    for check, fragment in EXPECTED_FAILURES[name].items():
        assert fragment.lower() in messages[check].lower(), \
            f"{name}: {check} says {messages[check]!r}; expected it to mention {fragment!r}"
