"""A course's autograder.toml really moves a threshold and the time limits."""
from __future__ import annotations

import pytest

from autograder.checks import check_by_id
from autograder.outcome import FAILED, PASSED, run_check
from autograder.release import SOLUTIONS
from autograder.submission import load_submission

SST2_CHECK = "a2_training_loop.sst2_dev_accuracy"


@pytest.fixture(scope="module")
def reference():
    return load_submission(SOLUTIONS / "a2_training_loop" / "a2_training_loop.ipynb").module


@pytest.mark.sst2
@pytest.mark.parametrize("minimum, status", [(0.99, FAILED), (0.5, PASSED)])
def test_threshold_is_read_from_the_course_file(course_config, reference, minimum, status):
    course_config(f'[thresholds]\n"{SST2_CHECK}" = {minimum}\n')
    outcome = run_check(check_by_id(SST2_CHECK), reference)
    assert outcome.status == status
    if status == FAILED:
        assert f"at least {minimum} is expected" in outcome.message
