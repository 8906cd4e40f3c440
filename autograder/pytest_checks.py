"""The test module the pytest front-end collects: each check is one parametrized item."""
import pytest

from autograder.outcome import FAILED, PASSED, SKIPPED, Outcome, run_check
from autograder.submission import SubmissionError


def test_check(check, submission, record, record_outcome):
    record({"started": check.name})
    if isinstance(submission, SubmissionError):
        outcome = Outcome(FAILED, f"your submission could not be loaded: {submission}")
    else:
        outcome = run_check(check, submission.module)
    record_outcome(check, outcome)
    if outcome.status == SKIPPED:
        pytest.skip(outcome.message)
    if outcome.status != PASSED:
        pytest.fail(outcome.message, pytrace=False)
