"""The trusted stand-ins (checks/trusted, reached through checks.stand_ins) in the two kits.

The instructor's kit runs the trusted versions: the model under which a2's and a4's loops
are tested, a3's `train_epoch`, a4's `EarlyStopping`, a5's net, a1's fit helper, a7's
n-grams and features. The student's kit, which has no such package, runs the student's own
(a3's and a4's stubs give the a2 model and loop they need), and takes expected values from
data or independent computations, never from the student. There every quick public check
still passes correct work and fails each known bug with the message the instructor's kit
gives (tests/fixtures/<a>/expected.toml).

Fixtures are loaded in-process and checked with `run_check`; the student kit is this
checkout with `autograder.checks.trusted` hidden. The slow checks (SST-2 runs, a7's
training) run in the installed student kit in tests/test_student_release.py.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from test_detectors import TABLES, _expectations, _matches

from autograder.checks import ASSIGNMENTS, checks_for
from autograder.checks.a1_backprop.poly import (
    POLY_CASES,
    _poly_autograd,
    _poly_inputs,
    _poly_loss,
    _poly_predict,
)
from autograder.checks.a3_regularization import _train_epoch
from autograder.checks.a4_early_stopping import STOP_RUN, _toy_run
from autograder.checks.a5_ffn_gpu.toy_runs import toy_net
from autograder.checks.registry import reference_times
from autograder.checks.stand_ins import TRUSTED, have_trusted_versions
from autograder.checks.toy_data import loop_model
from autograder.checks.trusted.early_stopping import TrustedEarlyStopping
from autograder.checks.trusted.feedforward import OracleFeedforwardNet
from autograder.checks.trusted.poly import poly_loss_and_grad
from autograder.checks.trusted.toy_model import OracleLogisticRegression, oracle_train_epoch
from autograder.outcome import FAILED, PASSED, run_check
from autograder.release import RELEASE
from autograder.submission import load_submission

FIXTURES = Path(__file__).parent / "fixtures"
A1, A3, A4, A5, A7 = ("a1_backprop", "a3_regularization", "a4_early_stopping", "a5_ffn_gpu",
                      "a7_langid")
QUICK_S = 1.0  # reference seconds: the checks above it are SST-2 runs, training, a1's chain
# Resolved now, with the trusted package importable: the hidden checks import it.
QUICK_CHECKS = {a: {c.name: c for c in checks_for(a)
                    if not c.hidden and reference_times().get(c.id, QUICK_S + 1) <= QUICK_S}
                for a in ASSIGNMENTS if a in TABLES}
# What a stub gives as code (not a task) and a fixture, a module of the student's answers
# only, leaves out: a student's notebook holds it.
GIVEN_BY_STUB = {A3: ("train_epoch",), A4: ("BinaryLogisticRegression",)}
# The fit helper against autograd: both float64, only the order of additions differs.
HELPER_RTOL = 1e-10


@pytest.fixture
def student_kit(monkeypatch: pytest.MonkeyPatch) -> None:
    """This kit as students install it: no `checks/trusted`."""
    monkeypatch.setitem(sys.modules, TRUSTED, None)
    assert not have_trusted_versions()


@pytest.fixture(scope="module")
def given() -> dict[str, ModuleType]:
    """Each stub notebook that gives code, loaded as the grader loads a submission."""
    return {a: load_submission(RELEASE / a / f"{a}.ipynb", module_name=f"stub_{a}").module
            for a in GIVEN_BY_STUB}


@pytest.fixture
def fixture(given):
    """Load a fixture as a student's notebook would hold it: with the stub's given code."""
    def load(assignment: str, name: str) -> ModuleType:
        submission = load_submission(FIXTURES / assignment / f"{name}.py",
                                     module_name=f"stand_ins_{assignment}_{name}")
        assert not submission.problems, (name, submission.problems)
        module = submission.module
        for given_name in GIVEN_BY_STUB.get(assignment, ()):
            if not hasattr(module, given_name):
                setattr(module, given_name, getattr(given[assignment], given_name))
        return module
    return load


def _fixtures(correct: bool) -> list:
    return [pytest.param(a, name, id=f"{a}-{name}") for a in QUICK_CHECKS
            for name, failing in sorted(TABLES[a].items())
            if (not failing if correct else set(failing) & set(QUICK_CHECKS[a]))]


# --- every quick public check in the student kit -----------------------------------------


@pytest.mark.usefixtures("student_kit")
@pytest.mark.parametrize(("assignment", "name"), _fixtures(correct=True))
def test_student_kit_passes_correct_work(assignment, name, fixture):
    module = fixture(assignment, name)
    failed = {check: outcome.message for check, c in QUICK_CHECKS[assignment].items()
              if (outcome := run_check(c, module)).status != PASSED}
    assert not failed, f"{name} in the student kit: {failed}"


@pytest.mark.usefixtures("student_kit")
@pytest.mark.parametrize(("assignment", "name"), _fixtures(correct=False))
def test_student_kit_fails_each_bug_as_the_instructors_does(assignment, name, fixture):
    module = fixture(assignment, name)
    for check, entry in TABLES[assignment][name].items():
        if check not in QUICK_CHECKS[assignment]:
            continue
        outcome = run_check(QUICK_CHECKS[assignment][check], module)
        assert outcome.status == FAILED, f"{name}: {check} gave {outcome.status}"
        for expectation in _expectations(entry):
            assert _matches(expectation, outcome.message), \
                f"{name}: {check} says {outcome.message!r}; expected {expectation!r}"


# --- which version runs --------------------------------------------------------------------


def _steps_taken(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the trusted and the student's own `EarlyStopping.step` ran in a toy run
    of the student's `train_with_early_stopping`."""
    calls = {"trusted": 0, "own": 0}
    for who, cls in (("trusted", TrustedEarlyStopping), ("own", module.EarlyStopping)):
        def counted(self, dev_acc, _step=cls.step, _who=who):
            calls[_who] += 1
            return _step(self, dev_acc)
        monkeypatch.setattr(cls, "step", counted)
    _toy_run(module, STOP_RUN)
    return calls


def test_instructors_kit_runs_the_trusted_loops_model_and_stopper(fixture, monkeypatch):
    a4, a3 = fixture(A4, "correct_return_from_inner_loop"), fixture(A3, "correct_own_parameters")
    assert type(loop_model(a4)) is OracleLogisticRegression
    assert _train_epoch(a3) is oracle_train_epoch
    steps = _steps_taken(a4, monkeypatch)
    assert steps["trusted"] > 0 and steps["own"] == 0


def test_student_kit_runs_the_students_own_loops_model_and_stopper(fixture, student_kit,
                                                                   monkeypatch):
    a4, a3 = fixture(A4, "correct_return_from_inner_loop"), fixture(A3, "correct_own_parameters")
    assert type(loop_model(a4)) is a4.BinaryLogisticRegression
    assert _train_epoch(a3) is a3.train_epoch
    steps = _steps_taken(a4, monkeypatch)
    assert steps["own"] > 0 and steps["trusted"] == 0


def _weights(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def test_instructors_kit_tests_train_model_on_the_trusted_net(fixture):
    net = toy_net(fixture(A5, "correct_modulelist_functional"), dropout=0.5)
    assert type(net) is OracleFeedforwardNet
    assert [m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)] == [0.5]


def test_student_kit_tests_it_on_the_students_own_net_seeded(fixture, student_kit):
    module = fixture(A5, "correct_modulelist_functional")
    first, second = toy_net(module), toy_net(module)
    assert type(first) is module.FeedforwardNet
    assert all(torch.equal(a, b) for a, b in zip(_weights(first), _weights(second), strict=True))


def test_the_student_kit_runs_the_students_own_char_ngrams(fixture, monkeypatch):
    # A char_ngrams that drops the last n-gram costs only char_ngrams' check in the
    # instructor's kit; in the student's, ngram_ids runs on it and finds no 2-gram in "ba",
    # so the weight check fails too (the price `autograder check` warns of).
    buggy = fixture(A7, "bug_last_ngram_dropped")
    check = QUICK_CHECKS[A7]["ngram_weights_are_relative_frequencies"]
    assert run_check(check, buggy).status == PASSED
    monkeypatch.setitem(sys.modules, TRUSTED, None)
    outcome = run_check(check, buggy)
    assert outcome.status == FAILED
    assert "`ngram_ids('ba', 2, 1048576)` returned 0 ids" in outcome.message


# --- a1's public oracles ---------------------------------------------------------------------


def test_poly_predict_takes_the_constant_term_first():
    # [a, b, c, d] = [1, 2, 3, 4] at x = 2: 1 + 2·2 + 3·4 + 4·8 (the contract's order)
    assert _poly_predict(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0])).tolist() == [49.0]


@pytest.mark.parametrize(("seed", "n"), POLY_CASES)
def test_trusted_fit_helper_agrees_with_autograd(seed, n):
    w, x, y = _poly_inputs(seed, n)
    loss, grad = poly_loss_and_grad(w, x, y)
    assert loss == pytest.approx(_poly_loss(w, x, y), rel=HELPER_RTOL)
    np.testing.assert_allclose(grad, _poly_autograd(w, x, y), rtol=HELPER_RTOL)
