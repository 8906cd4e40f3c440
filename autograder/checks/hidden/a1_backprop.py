"""a1's hidden check: relu()'s derivative at exactly 0 (see checks/hidden)."""
from __future__ import annotations

from types import ModuleType

from autograder.checks.a1_backprop import check
from autograder.checks.support import as_float, fail, require


@check(points=1, hidden=True)
def value_relu_derivative_at_zero(submission: ModuleType) -> None:
    """relu() at exactly 0 has derivative 0"""
    Value = require(submission, "Value")
    z = Value(0.0)
    out = z.relu()
    out.backward()
    got = as_float(z.grad, "`z.grad`")
    if got != 0.0:
        fail(f"after `z = Value(0.0); z.relu().backward()`, `z.grad` is {got:g}; expected 0 "
             "(the contract's choice, and torch's). Pass the gradient only where the input "
             "is strictly positive: `(x > 0)`, not `(x >= 0)`.")


