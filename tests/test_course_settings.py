"""A course's autograder.toml really moves a threshold and the time limits, which
otherwise come from each check's measured time on the reference."""
from __future__ import annotations

import pytest
import torch

from autograder.checks import ASSIGNMENTS, check_by_id, checks_for
from autograder.checks.registry import (
    LIMIT_FACTOR,
    LIMIT_FLOOR_S,
    CourseSettingsError,
    reference_times,
    threshold,
    thresholds,
)
from autograder.grading import grade_file
from autograder.outcome import FAILED, PASSED, SKIPPED, run_check
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


def test_time_limits_come_from_the_measured_reference_and_the_course_moves_them(course_config):
    sst2 = check_by_id(SST2_CHECK)
    measured = reference_times()[SST2_CHECK]
    assert sst2.timeout_s == max(LIMIT_FLOOR_S, LIMIT_FACTOR * measured)
    quick = check_by_id("a2_training_loop.forward_output_contract")
    assert quick.timeout_s == LIMIT_FLOOR_S  # a fast check still gets the floor
    course_config(f'[time_limits]\ncheck_s = 30\n"{SST2_CHECK}" = 900\n')
    assert (sst2.timeout_s, quick.timeout_s) == (900, 30)


def test_every_check_has_a_measured_or_declared_time_limit():
    unmeasured = [c.id for a in ASSIGNMENTS for c in checks_for(a)
                  if c.id not in reference_times() and c.declared_timeout_s is None]
    assert not unmeasured, ("measure them: python benchmarks/check_times.py --write "
                            f"(no reference time for {unmeasured})")


def test_gpu_only_is_declared_by_every_check_that_requires_cuda():
    undeclared = [c.id for a in ASSIGNMENTS for c in checks_for(a)
                  if c.gpu_only != ("require_cuda" in c.func.__code__.co_names)]
    assert not undeclared, ("declare @check(..., gpu_only=True) exactly where require_cuda() "
                            f"is called: {undeclared}")


def _gpu_results_without_a_submission() -> list:
    return [r for r in grade_file("a5_ffn_gpu", None).results
            if check_by_id(f"a5_ffn_gpu.{r.name}").gpu_only]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_missing_submission_has_the_maximum_a_graded_one_has_here(course_config):
    gpu = _gpu_results_without_a_submission()
    assert len(gpu) == 2 and all((r.status, r.max_points) == (SKIPPED, 0) for r in gpu)
    assert all(r.message.startswith("skipped: no CUDA device") for r in gpu)
    course_config("require_gpu = true\n")  # then a missing GPU is the grader's error, counted
    assert all((r.status, r.max_points) == (FAILED, 2) for r in _gpu_results_without_a_submission())
