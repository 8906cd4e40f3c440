"""Unit tests of the instruments checks use to watch student code: whatever the student's
code does, the grader's process must come out of a check as it went in."""
from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest
import torch

from autograder.checks import check_by_id
from autograder.checks.instruments import AutogradDetector
from autograder.outcome import PASSED, run_check
from autograder.submission import load_submission

RECURSIVE_TOPO = Path(__file__).parent / "fixtures" / "a1_backprop" / "bug_value_recursive_topo.py"


def test_the_long_chain_check_restores_recursion_limit_and_collector() -> None:
    limit = sys.getrecursionlimit()
    loaded = load_submission(RECURSIVE_TOPO, module_name="a1_chain")
    outcome = run_check(check_by_id("a1_backprop.value_long_chain"), loaded.module)
    assert outcome.status != PASSED, "a recursive topological sort passed the long chain"
    assert sys.getrecursionlimit() == limit
    assert gc.isenabled()


def test_autograd_detector_restores_torch_after_student_code_raises() -> None:
    engine = torch.autograd._engine_run_backward
    with pytest.raises(ZeroDivisionError):
        with AutogradDetector() as detector:
            torch.ones(2, requires_grad=True).sum().backward()
            raise ZeroDivisionError("the student's code raises")
    assert detector.uses, "the backward call went unnoticed"
    assert torch.autograd._engine_run_backward is engine
    assert torch.autograd.graph._engine_run_backward is engine
    assert torch._C._len_torch_function_stack() == 0
    leaf = torch.ones(2, requires_grad=True)
    (leaf * 3).sum().backward()
    assert leaf.grad.tolist() == [3.0, 3.0]


def test_autograd_detector_lets_plain_tensor_code_through() -> None:
    with AutogradDetector() as detector:
        x = torch.randn(4, 3, dtype=torch.float64)
        with torch.no_grad():
            torch.sigmoid(x @ x.T).sum(0)
    assert not detector.uses
