"""A course's autograder.toml really moves a threshold and the time limits."""
from __future__ import annotations

import pytest

from autograder.checks import check_by_id
from autograder.checks.registry import CourseSettingsError, threshold, thresholds
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


def test_unknown_threshold_key_is_an_error_naming_the_known_keys(course_config):
    course_config('[thresholds]\n"a2_training_loop.sst2_dev_acuracy" = 0.7\n')
    with pytest.raises(CourseSettingsError) as error:
        threshold(SST2_CHECK)
    assert "'a2_training_loop.sst2_dev_acuracy'" in str(error.value)
    assert SST2_CHECK in str(error.value)


def test_every_threshold_belongs_to_a_registered_check():
    assert SST2_CHECK in thresholds()
    assert all(check_by_id(key).threshold is not None for key in thresholds())
