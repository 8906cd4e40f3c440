"""Test the a4 grader like a detector (STYLE.md §6).

Each module in fixtures/a4_early_stopping/ is a whole student submission. Correct ones,
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

pytestmark = pytest.mark.sst2  # sst2_stops_early_and_restores trains on SST-2

ASSIGNMENT = "a4_early_stopping"
FIXTURES = Path(__file__).parent / "fixtures" / ASSIGNMENT
GRADE_WORKERS = 2  # each grade is its own sandboxed child process

# fixture -> {check expected to fail: fragment its message must contain (any case)}
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "correct_return_from_inner_loop": {},
    "correct_deepcopy_model_flag": {},
    "correct_tensor_accuracies": {},
    "bug_patience_off_by_one": {"stop_rule_waits_for_patience": "not `>=`"},
    "bug_ties_count_as_improvement": {"ties_are_not_improvements": "a tie with the best"},
    "bug_intervals_not_reset": {"tracks_best_score_and_intervals": "reset the counter"},
    "bug_patience_zero_means_default": {
        "patience_zero_stops_at_first_non_improvement": "`patience or 3`"},
    "bug_best_weights_not_restored": {"restores_best_weights": "never loaded back"},
    "bug_best_weights_by_reference": {"restores_best_weights": "stored by reference"},
    "bug_eval_every_ignored": {
        "evaluates_dev_every_eval_every_steps": "that is every step",
        # dev after every step with patience 3 stops the SST-2 run at step 9: 0.553 dev
        "sst2_stops_early_and_restores": "dev accuracy",
    },
    "bug_break_inner_loop_only": {"stops_when_patience_runs_out": "leaves only the inner loop"},
    "bug_stopped_early_never_set": {"returns_best_and_history": "'stopped_early' is false"},
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
