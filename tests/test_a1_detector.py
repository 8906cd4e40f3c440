"""Test the a1 grader like a detector (STYLE.md §6).

Each module in fixtures/a1_backprop/ is a whole student submission. Correct ones,
written in unusual but allowed styles, must pass every check; each buggy one holds
exactly one bug and must fail exactly the check listed for it, with a message that
names the parameter (or node) and the size of the error. Every other check must pass,
and every check must be failed, alone, by at least one fixture.

The table runs the checks in this process (they take about a second per fixture);
one test grades a fixture through the sandboxed `grade_file` path end to end.
"""
from __future__ import annotations

import ast
import gc
import re
import sys
from pathlib import Path

import pytest
import torch

from autograder.checks import checks_for
from autograder.checks.a1_backprop import AutogradDetector
from autograder.grading import grade_file
from autograder.outcome import PASSED, Outcome, run_check
from autograder.submission import load_submission

ASSIGNMENT = "a1_backprop"
FIXTURES = Path(__file__).parent / "fixtures" / ASSIGNMENT
NUMBER = r"[0-9][0-9.e+-]*"

# fixture -> {check expected to fail: regexes its message must match}
EXPECTED_FAILURES: dict[str, dict[str, tuple[str, ...]]] = {
    "correct_poly_loops": {},
    "correct_mlp_loops": {},
    "correct_mlp_no_grad_inside": {},
    "correct_value_kahn": {},
    "bug_poly_predict_reversed": {
        "poly_predict_values": (rf"relative error {NUMBER}", "reverse order")},
    "bug_poly_loss_sum": {
        "poly_loss_value": (rf"the loss is {NUMBER}; expected", "sum of squared errors")},
    "bug_poly_grad_missing_factor_2": {
        "poly_gradient": (r"gradient for w \(shape \(4,\)\) on 50 points \(seed 0\) differs "
                          r"from torch\.autograd: max relative error 0\.33 at index \(\d,\)",
                          "factor 2 is missing")},
    "bug_poly_grad_sum_not_mean": {
        "poly_gradient": (rf"gradient for w \(shape \(4,\)\) .* max relative error {NUMBER}",
                          "50 times the true gradient")},
    "bug_fit_poly_gradient_ascent": {
        "fit_poly_fits_sine": ("with loss nan", "diverged")},
    "bug_mlp_yhat_column": {
        "mlp_forward_shapes": (r"has shape \(8, 1\); expected \(8,\)",)},
    "bug_mlp_squeeze_all": {
        "mlp_forward_shapes": (r"batch of 1 .* has shape \(\); expected \(1,\)",
                               r"\.squeeze\(\)")},
    "bug_mlp_forward_bias_twice": {
        "mlp_forward_values": (rf"max relative error {NUMBER} at index \(\d+,\)",)},
    "bug_mlp_b2_grad_scalar": {
        "mlp_backward_shapes": (r"gradient for b2 .* has shape \(\); expected \(1,\)",)},
    "bug_mlp_missing_sigmoid_derivative": {
        "mlp_gradients_match_autograd": (
            rf"gradient for W1 \(shape \(4, 5\)\) on a batch of 8 \(D=5, H=4, seed 0\) "
            rf"differs from torch\.autograd: max relative error {NUMBER} at index \(\d+, \d+\)",
            r"h\(1 - h\)")},
    "bug_mlp_bias_grad_not_summed": {
        "mlp_gradients_match_autograd": (
            rf"gradient for b[12] \(shape \(\d+,\)\) on a batch of \d+ .* differs from "
            rf"torch\.autograd: max relative error {NUMBER} at index \(\d+,\) .* "
            r"tolerance 1e-07\.",
            "summed over the batch")},
    "bug_mlp_secret_autograd": {
        "mlp_backward_by_hand": (r"`mlp_backward` used autograd",
                                 r"line \d+ of bug_mlp_secret_autograd\.py")},
    "bug_mlp_enable_grad_backward": {
        "mlp_backward_by_hand": (r"`mlp_forward` used autograd", r"requires_grad_")},
    "bug_value_log10": {
        "value_forward_values": (rf"`\(a\.log\(\)\)\.data` is {NUMBER}", "relative error")},
    "bug_value_pow_grad": {
        "value_operator_gradients": (rf"`b\.grad` is {NUMBER}; torch\.autograd gives",
                                     rf"relative error {NUMBER}")},
    "bug_value_relu_grad_at_zero": {
        "value_relu_derivative_at_zero": (r"`z\.grad` is 1; expected 0", r"\(x > 0\)")},
    "bug_value_assign_not_accumulate": {
        "value_accumulates_reused_node": (r"`x\.grad` is 1\.3; expected 2x = 2\.6", r"\+=")},
    "bug_value_no_topological_order": {
        "value_diamond_topological_order": (rf"`a\.grad` is {NUMBER} but `s\.grad` is",
                                            "topologically")},
    "bug_value_recursive_topo": {
        "value_long_chain": ("RecursionError", "iterative topological sort")},
}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict[str, Outcome]]:
    """Every check's outcome on every fixture, computed once."""
    checks = checks_for(ASSIGNMENT)
    result = {}
    for path in sorted(FIXTURES.glob("*.py")):
        loaded = load_submission(path, module_name=f"a1_fixture_{path.stem}")
        assert not loaded.problems, f"{path.name} did not load cleanly: {loaded.problems}"
        result[path.stem] = {c.name: run_check(c, loaded.module) for c in checks}
    return result


def test_every_fixture_is_in_the_table() -> None:
    assert {p.stem for p in FIXTURES.glob("*.py")} == set(EXPECTED_FAILURES)
    known = {c.name for c in checks_for(ASSIGNMENT)}
    named = {check for failing in EXPECTED_FAILURES.values() for check in failing}
    assert named <= known, f"unknown checks in the table: {named - known}"


def test_every_check_is_failed_alone_by_some_fixture() -> None:
    alone = {next(iter(f)) for f in EXPECTED_FAILURES.values() if len(f) == 1}
    assert alone == {c.name for c in checks_for(ASSIGNMENT)}


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.py")), ids=lambda p: p.stem)
def test_fixture_is_a_stand_alone_module_with_a_one_line_docstring(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree)
    assert docstring and "\n" not in docstring.strip()
    assert docstring.startswith("Bug: " if path.stem.startswith("bug_") else "Correct")
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"math", "numpy", "torch", "collections"}


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES))
def test_exactly_the_expected_checks_fail(name: str, verdicts) -> None:
    failed = {check: o.message for check, o in verdicts[name].items() if o.status != PASSED}
    assert set(failed) == set(EXPECTED_FAILURES[name]), f"{name}: unexpected verdicts {failed}"


@pytest.mark.parametrize("name", sorted(n for n, f in EXPECTED_FAILURES.items() if f))
def test_failure_messages_name_the_bug_and_its_size(name: str, verdicts) -> None:
    for check, patterns in EXPECTED_FAILURES[name].items():
        message = verdicts[name][check].message
        for pattern in patterns:
            assert re.search(pattern, message, re.S), \
                f"{name}: {check} says {message!r}; expected it to match {pattern!r}"


def test_the_long_chain_check_restores_recursion_limit_and_collector(verdicts) -> None:
    assert verdicts["bug_value_recursive_topo"]["value_long_chain"].status != PASSED
    limit = sys.getrecursionlimit()
    loaded = load_submission(FIXTURES / "bug_value_recursive_topo.py", module_name="a1_chain")
    [chain] = [c for c in checks_for(ASSIGNMENT) if c.name == "value_long_chain"]
    assert run_check(chain, loaded.module).status != PASSED
    assert sys.getrecursionlimit() == limit
    assert gc.isenabled()


def test_autograd_detector_restores_torch_after_student_code_raises() -> None:
    engine = torch.autograd._engine_run_backward
    with pytest.raises(ZeroDivisionError):
        with AutogradDetector() as detector:
            torch.ones(2, requires_grad=True).sum().backward()
            1 / 0
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


def test_grading_in_the_sandbox_charges_only_the_broken_check() -> None:
    report = grade_file(ASSIGNMENT, FIXTURES / "bug_mlp_secret_autograd.py")
    failed = {r.name: r.message for r in report.results if r.status != PASSED}
    assert set(failed) == {"mlp_backward_by_hand"}, failed
    assert report.score == report.max_score - 2
    assert "used autograd" in failed["mlp_backward_by_hand"]
