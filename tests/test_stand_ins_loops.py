"""a2-a4's trusted stand-ins (the loops' model, a3's `train_epoch`, a4's `EarlyStopping`)
in the two kits: the instructor's runs the trusted versions from `checks/trusted`; the
student's, which has no such package, runs the student's own (a3's and a4's stubs give
the a2 model and loop they need), and there the public checks still pass correct work and
fail each known bug with the message the instructor's kit gives.

Fixtures are loaded in-process and checked with `run_check`; the student kit is this
checkout with `autograder.checks.trusted` hidden. The SST-2 checks (seconds each) are left
to tests/test_detectors.py.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest
from test_detectors import TABLES, _expectations, _matches

from autograder.checks import checks_for
from autograder.checks.a3_regularization import _train_epoch
from autograder.checks.a4_early_stopping import STOP_RUN, _toy_run
from autograder.checks.registry import reference_times
from autograder.checks.stand_ins import TRUSTED, have_trusted_versions
from autograder.checks.toy_data import loop_model
from autograder.checks.trusted.early_stopping import TrustedEarlyStopping
from autograder.checks.trusted.toy_model import OracleLogisticRegression, oracle_train_epoch
from autograder.outcome import FAILED, PASSED, run_check
from autograder.release import RELEASE
from autograder.submission import load_submission

FIXTURES = Path(__file__).parent / "fixtures"
ASSIGNMENTS = ("a2_training_loop", "a3_regularization", "a4_early_stopping")
QUICK_S = 1.0  # reference seconds: the checks above it are the SST-2 runs
# What a stub gives as code (not a task) and a fixture, a module of the student's answers
# only, leaves out: a student's notebook holds it.
GIVEN_BY_STUB = {"a3_regularization": ("train_epoch",),
                 "a4_early_stopping": ("BinaryLogisticRegression",)}
# Resolved now, with the trusted package importable: the hidden checks import it.
QUICK_CHECKS = {a: {c.name: c for c in checks_for(a)
                    if not c.hidden and reference_times()[c.id] <= QUICK_S}
                for a in ASSIGNMENTS}


@pytest.fixture
def student_kit(monkeypatch: pytest.MonkeyPatch) -> None:
    """This kit as students install it: no `checks/trusted`."""
    monkeypatch.setitem(sys.modules, TRUSTED, None)
    assert not have_trusted_versions()


@pytest.fixture(scope="module")
def given() -> dict[str, ModuleType]:
    """Each stub notebook, loaded as the grader loads a submission, for its given code."""
    return {a: load_submission(RELEASE / a / f"{a}.ipynb", module_name=f"stub_{a}").module
            for a in GIVEN_BY_STUB}


def _fixture(assignment: str, name: str, given: dict[str, ModuleType]) -> ModuleType:
    """The fixture as a student's notebook would hold it: with the stub's given code."""
    module = load_submission(FIXTURES / assignment / f"{name}.py",
                             module_name=f"stand_ins_{assignment}_{name}").module
    for given_name in GIVEN_BY_STUB.get(assignment, ()):
        if not hasattr(module, given_name):
            setattr(module, given_name, getattr(given[assignment], given_name))
    return module


def _fixtures(correct: bool) -> list:
    return [pytest.param(a, name, id=f"{a}-{name}") for a in ASSIGNMENTS
            for name, failing in sorted(TABLES[a].items())
            if (not failing if correct else set(failing) & set(QUICK_CHECKS[a]))]


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


def test_instructors_kit_runs_the_trusted_versions(given, monkeypatch):
    a4 = _fixture("a4_early_stopping", "correct_return_from_inner_loop", given)
    a3 = _fixture("a3_regularization", "correct_own_parameters", given)
    assert type(loop_model(a4)) is OracleLogisticRegression
    assert _train_epoch(a3) is oracle_train_epoch
    steps = _steps_taken(a4, monkeypatch)
    assert steps["trusted"] > 0 and steps["own"] == 0


def test_student_kit_runs_the_students_own_versions(given, student_kit, monkeypatch):
    a4 = _fixture("a4_early_stopping", "correct_return_from_inner_loop", given)
    a3 = _fixture("a3_regularization", "correct_own_parameters", given)
    assert type(loop_model(a4)) is a4.BinaryLogisticRegression
    assert _train_epoch(a3) is a3.train_epoch
    steps = _steps_taken(a4, monkeypatch)
    assert steps["own"] > 0 and steps["trusted"] == 0


@pytest.mark.parametrize(("assignment", "name"), _fixtures(correct=True))
def test_student_kit_passes_correct_work(assignment, name, given, student_kit):
    module = _fixture(assignment, name, given)
    failed = {check: outcome.message for check, c in QUICK_CHECKS[assignment].items()
              if (outcome := run_check(c, module)).status != PASSED}
    assert not failed, f"{name} in the student kit: {failed}"


@pytest.mark.parametrize(("assignment", "name"), _fixtures(correct=False))
def test_student_kit_fails_each_bug_as_the_instructors_does(assignment, name, given,
                                                            student_kit):
    module = _fixture(assignment, name, given)
    for check, entry in TABLES[assignment][name].items():
        if check not in QUICK_CHECKS[assignment]:
            continue
        outcome = run_check(QUICK_CHECKS[assignment][check], module)
        assert outcome.status == FAILED, f"{name}: {check} gave {outcome.status}"
        for expectation in _expectations(entry):
            assert _matches(expectation, outcome.message), \
                f"{name}: {check} says {outcome.message!r}; expected {expectation!r}"
