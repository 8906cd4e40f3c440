"""The reference solutions earn full marks on the real data; the stubs earn zero,
each check saying "not implemented yet" rather than crashing the grader."""
from __future__ import annotations

import pytest

from autograder.checks import ASSIGNMENTS
from autograder.grading import grade
from autograder.outcome import PASSED
from autograder.release import RELEASE, SOLUTIONS


@pytest.mark.sst2
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_earns_full_marks(assignment):
    [report] = grade(SOLUTIONS / assignment)
    failures = {r.name: r.message for r in report.results if r.status != PASSED}
    assert not failures
    assert report.score == report.max_score > 0
    assert not report.problems


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stub_earns_zero_saying_not_implemented(assignment):
    [report] = grade(RELEASE / assignment)
    assert report.score == 0
    unexpected = {r.name: r.message for r in report.results
                  if not r.message.startswith("not implemented yet")}
    assert not unexpected
