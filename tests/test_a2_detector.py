"""Test the a2 grader like a detector (STYLE.md §6).

Each module in fixtures/a2_training_loop/ is a whole student submission. Correct
ones, written in unusual but allowed styles, must pass every check; each buggy one
holds exactly one bug and must fail exactly the checks listed for it below, with
a message that names the bug. Every other check must pass.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.checks import checks_for
from autograder.grading import AssignmentReport, grade_file
from autograder.outcome import FAILED, PASSED

pytestmark = pytest.mark.sst2  # sst2_dev_accuracy trains on SST-2

ASSIGNMENT = "a2_training_loop"
FIXTURES = Path(__file__).parent / "fixtures" / ASSIGNMENT
GRADE_WORKERS = 2  # each grade is its own sandboxed child process

# fixture -> {check expected to fail: fragment its message must contain (any case)}
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "correct_zero_grad_after_step": {},
    "correct_model_zero_grad": {},
    "correct_manual_grad_reset": {},
    "correct_inference_mode": {},
    "correct_sequential_model": {},
    "bug_zero_grad_never": {
        "zero_grad_once_per_batch": "never called",
        # accumulated gradients reach 0.780 dev accuracy, below the 0.80 bar
        "sst2_dev_accuracy": "dev accuracy",
    },
    "bug_zero_grad_once_per_epoch": {
        "zero_grad_once_per_batch": "ran 1 time(s)",
        # gradients accumulate within each epoch: 0.762 dev accuracy
        "sst2_dev_accuracy": "dev accuracy",
    },
    "bug_zero_grad_between_backward_and_step": {
        "zero_grad_once_per_batch": "wiped before the step",
        # Adam steps on zero gradients never move the weights: 0.512 dev accuracy
        "sst2_dev_accuracy": "dev accuracy",
    },
    "bug_loss_sum": {"loss_is_mean_bce": "the sum over the batch"},
    "bug_loss_from_probs": {"loss_finite_for_large_logits": "compute it from the logits"},
    "bug_squeeze_all": {"forward_batch_of_one": ".squeeze(-1)"},
    "bug_py_float": {"forward_output_contract": "integer class predictions"},
    "bug_probs_not_sigmoid": {"forward_output_contract": "torch.sigmoid(py_logits)"},
    "bug_train_epoch_returns_sum": {"train_epoch_returns_mean_loss": "sum of the batch losses"},
    "bug_train_epoch_weighted_mean": {"train_epoch_returns_mean_loss": "weighted by batch size"},
    "bug_train_epoch_last_loss": {"train_epoch_returns_mean_loss": "last batch only"},
    "bug_evaluate_train_mode": {"evaluate_in_eval_mode_without_graph": "training mode"},
    "bug_evaluate_builds_graph": {"evaluate_in_eval_mode_without_graph": "built autograd graphs"},
    "bug_evaluate_returns_count": {"evaluate_returns_accuracy": "number of correct predictions"},
    "bug_evaluate_mean_of_batch_accuracies": {
        "evaluate_returns_accuracy": "mean of per-batch accuracies"},
    "bug_train_history_missing_key": {"train_returns_history": "'dev_acc'"},
    "bug_train_dev_acc_before_training": {"train_returns_history": "after each epoch's training"},
    "bug_no_optimizer_step": {
        "zero_grad_once_per_batch": "was never called",
        # the weights never move from their initialisation: 0.512 dev accuracy
        "sst2_dev_accuracy": "dev accuracy",
    },
}


def _grade(name: str) -> AssignmentReport:
    return grade_file(ASSIGNMENT, FIXTURES / f"{name}.py")


@pytest.fixture(scope="module")
def reports(request: pytest.FixtureRequest) -> dict[str, AssignmentReport]:
    """Grade each fixture selected in this session once, a few at a time."""
    names = sorted({item.callspec.params["name"] for item in request.session.items
                    if item.module is request.module and "name" in getattr(
                        getattr(item, "callspec", None), "params", {})})
    with ThreadPoolExecutor(max_workers=GRADE_WORKERS) as pool:
        return dict(zip(names, pool.map(_grade, names)))


def test_every_fixture_is_in_the_table() -> None:
    on_disk = {p.stem for p in FIXTURES.glob("*.py")}
    assert on_disk == set(EXPECTED_FAILURES)
    known = {c.name for c in checks_for(ASSIGNMENT)}
    named = {check for failing in EXPECTED_FAILURES.values() for check in failing}
    assert named <= known, f"unknown checks in the table: {named - known}"


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES))
def test_exactly_the_expected_checks_fail(name: str, reports) -> None:
    report = reports[name]
    assert not report.problems, f"{name} did not load cleanly: {report.problems}"
    statuses = {r.name: r.status for r in report.results}
    assert set(statuses) == {c.name for c in checks_for(ASSIGNMENT)}
    expected = {check: FAILED for check in EXPECTED_FAILURES[name]}
    got = {check: status for check, status in statuses.items() if status != PASSED}
    messages = {r.name: r.message for r in report.results if r.status != PASSED}
    assert got == expected, f"{name}: unexpected verdicts {messages}"


@pytest.mark.parametrize("name", sorted(n for n, f in EXPECTED_FAILURES.items() if f))
def test_failure_messages_name_the_bug(name: str, reports) -> None:
    messages = {r.name: r.message for r in reports[name].results}
    for check, fragment in EXPECTED_FAILURES[name].items():
        assert fragment.lower() in messages[check].lower(), \
            f"{name}: {check} says {messages[check]!r}; expected it to mention {fragment!r}"
