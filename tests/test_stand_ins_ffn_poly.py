"""a5's trusted net and a1's poly helpers in the two kits.

a5 tests `train_model` and `predict` on a seeded net: the trusted one from `checks/trusted`
in the instructor's kit, the student's own `FeedforwardNet` in the student's, which has no
such package. a1 needs no trusted package: its expected values and the helpers `fit_poly`
runs with are numpy's `polyval`/`polyvander` and torch.autograd, public. In the student kit
the quick public checks of both still pass correct work and fail each known bug with the
message the instructor's kit gives (tests/fixtures/<a>/expected.toml).

Fixtures are loaded in-process and checked with `run_check`; the student kit is this
checkout with `autograder.checks.trusted` hidden. The SST-2 checks (seconds each) are left
to tests/test_detectors.py.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from test_detectors import TABLES, _expectations, _matches

from autograder.checks import checks_for
from autograder.checks.a1_backprop.poly import (
    POLY_CASES,
    _poly_autograd,
    _poly_inputs,
    _poly_loss,
    _poly_predict,
)
from autograder.checks.a5_ffn_gpu import _oracle
from autograder.checks.registry import reference_times
from autograder.checks.stand_ins import TRUSTED, have_trusted_versions
from autograder.checks.trusted.feedforward import OracleFeedforwardNet
from autograder.checks.trusted.poly import poly_loss_and_grad
from autograder.outcome import FAILED, PASSED, run_check
from autograder.submission import load_submission

FIXTURES = Path(__file__).parent / "fixtures"
A1, A5 = "a1_backprop", "a5_ffn_gpu"
ASSIGNMENTS = (A1, A5)
QUICK_S = 1.0  # reference seconds: the checks above it are SST-2 runs and a1's long chain
# Resolved now, with the trusted package importable: a5's hidden checks are registered too.
QUICK_CHECKS = {a: {c.name: c for c in checks_for(a)
                    if not c.hidden and reference_times().get(c.id, QUICK_S + 1) <= QUICK_S}
                for a in ASSIGNMENTS}
# The fit helper against autograd: both float64, only the order of additions differs.
HELPER_RTOL = 1e-10


@pytest.fixture
def student_kit(monkeypatch: pytest.MonkeyPatch) -> None:
    """This kit as students install it: no `checks/trusted`."""
    monkeypatch.setitem(sys.modules, TRUSTED, None)
    assert not have_trusted_versions()


def _fixture(assignment: str, name: str) -> ModuleType:
    submission = load_submission(FIXTURES / assignment / f"{name}.py",
                                 module_name=f"stand_ins_{assignment}_{name}")
    assert not submission.problems, (name, submission.problems)
    return submission.module


def _fixtures(correct: bool) -> list:
    return [pytest.param(a, name, id=f"{a}-{name}") for a in ASSIGNMENTS
            for name, failing in sorted(TABLES[a].items())
            if (not failing if correct else set(failing) & set(QUICK_CHECKS[a]))]


def _weights(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def test_instructors_kit_tests_train_model_on_the_trusted_net():
    module = _fixture(A5, "correct_modulelist_functional")
    net = _oracle(module, dropout=0.5)
    assert type(net) is OracleFeedforwardNet
    assert [m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)] == [0.5]


@pytest.mark.usefixtures("student_kit")
def test_student_kit_tests_it_on_the_students_own_net_seeded():
    module = _fixture(A5, "correct_modulelist_functional")
    first, second = _oracle(module), _oracle(module)
    assert type(first) is module.FeedforwardNet
    assert all(torch.equal(a, b) for a, b in zip(_weights(first), _weights(second), strict=True))


def test_poly_predict_takes_the_constant_term_first():
    # [a, b, c, d] = [1, 2, 3, 4] at x = 2: 1 + 2·2 + 3·4 + 4·8 (the contract's order)
    assert _poly_predict(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0])).tolist() == [49.0]


@pytest.mark.parametrize(("seed", "n"), POLY_CASES)
def test_fit_helper_agrees_with_autograd(seed, n):
    w, x, y = _poly_inputs(seed, n)
    loss, grad = poly_loss_and_grad(w, x, y)
    assert loss == pytest.approx(_poly_loss(w, x, y), rel=HELPER_RTOL)
    np.testing.assert_allclose(grad, _poly_autograd(w, x, y), rtol=HELPER_RTOL)


@pytest.mark.usefixtures("student_kit")
@pytest.mark.parametrize(("assignment", "name"), _fixtures(correct=True))
def test_student_kit_passes_correct_work(assignment, name):
    module = _fixture(assignment, name)
    failed = {check: outcome.message for check, c in QUICK_CHECKS[assignment].items()
              if (outcome := run_check(c, module)).status != PASSED}
    assert not failed, f"{name} in the student kit: {failed}"


@pytest.mark.usefixtures("student_kit")
@pytest.mark.parametrize(("assignment", "name"), _fixtures(correct=False))
def test_student_kit_fails_each_bug_as_the_instructors_does(assignment, name):
    module = _fixture(assignment, name)
    for check, entry in TABLES[assignment][name].items():
        if check not in QUICK_CHECKS[assignment]:
            continue
        outcome = run_check(QUICK_CHECKS[assignment][check], module)
        assert outcome.status == FAILED, f"{name}: {check} gave {outcome.status}"
        for expectation in _expectations(entry):
            assert _matches(expectation, outcome.message), \
                f"{name}: {check} says {outcome.message!r}; expected {expectation!r}"
