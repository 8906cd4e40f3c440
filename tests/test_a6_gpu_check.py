"""a6's GPU-only check on both kinds of machine: without CUDA it is skipped with the
shared message (or is a grader error where the course requires a GPU); with CUDA it
passes a correct module and names a tensor left on the CPU."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from autograder.checks import check_by_id
from autograder.checks.support import NO_CUDA
from autograder.outcome import ERROR, FAILED, PASSED, SKIPPED, run_check
from autograder.submission import load_submission

FIXTURES = Path(__file__).parent / "fixtures" / "a6_lightning"
GPU_CHECK = "a6_lightning.auto_accelerator_trains_on_the_gpu"
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _outcome(fixture: str):
    submission = load_submission(FIXTURES / f"{fixture}.py", module_name=f"a6_{fixture}")
    assert not submission.problems
    return run_check(check_by_id(GPU_CHECK), submission.module)


@no_cuda
def test_without_cuda_the_check_is_skipped_saying_so():
    outcome = _outcome("correct_module_globals")
    assert outcome.status == SKIPPED
    assert outcome.message.startswith(NO_CUDA)


@no_cuda
def test_a_course_that_requires_a_gpu_gets_a_grader_error(course_config):
    course_config("require_gpu = true\n")
    outcome = _outcome("correct_module_globals")
    assert outcome.status == ERROR
    assert "requires a GPU" in outcome.message


@pytest.mark.gpu
@cuda_only
def test_with_cuda_a_correct_module_trains_on_the_gpu():
    assert _outcome("correct_module_globals").status == PASSED


@pytest.mark.gpu
@cuda_only
def test_with_cuda_a_tensor_left_on_the_cpu_is_named():
    outcome = _outcome("bug_tensor_attribute_not_a_buffer")
    assert outcome.status == FAILED
    assert "register_buffer" in outcome.message
