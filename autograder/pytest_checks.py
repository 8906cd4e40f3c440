"""The test module the pytest front-end collects: each check is one parametrized item."""
import time

import pytest

from autograder.forked_check import run_isolated
from autograder.outcome import FAILED, PASSED, SKIPPED, Outcome, classify
from autograder.submission import SubmissionError


def test_check(check, submission, record, record_outcome):
    record({"started": check.name})
    start = time.perf_counter()
    if isinstance(submission, SubmissionError):
        outcome = Outcome(FAILED, f"your submission could not be loaded: {submission}")
    else:
        try:
            outcome = run_isolated(check, submission.module)
        except Exception as exc:  # noqa: BLE001 - the grader's own failure gets a verdict too
            outcome = classify(exc)
    record_outcome(check, outcome, time.perf_counter() - start)
    if outcome.status == SKIPPED:
        pytest.skip(outcome.message)
    if outcome.status != PASSED:
        pytest.fail(outcome.message, pytrace=False)
