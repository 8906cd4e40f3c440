"""a1, part 3: a scalar autograd engine (`Value`) with overloaded operators.

Every operator's value and gradient is compared with torch in float64; reuse of a
node, topological order and a chain too deep for recursion are checks of their own.
"""
from __future__ import annotations

import gc
import re
import sys
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

import numpy as np
import torch

from autograder.checks.a1_backprop import check
from autograder.checks.support import as_float, describe, fail, require
from autograder.gradcheck import rel_error
from autograder.student_code import raised_by_student

VALUE_SEEDS = (0, 1, 2)
VALUE_RTOL = 1e-9
CHAIN_LENGTH = 10_000
# The reference (iterative topological sort) runs backward() on this chain in 0.040 s
# (median of 9 runs, max 0.046 s, collector paused) on a 2-core development machine;
# the budget is the second, 20x that, for slower machines and correct variants.
CHAIN_BUDGET_S = 1.0
PYTHON_DEFAULT_RECURSION_LIMIT = 1000
REFLECTED = {"+": "__radd__", "-": "__rsub__", "*": "__rmul__", "/": "__rtruediv__"}


@dataclass(frozen=True)
class Operation:
    """One operator applied to `a` (in [0.5, 2]) and/or `b` (in [-2, -0.5])."""

    expr: str
    apply: Callable[[Any, Any], Any]

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(sorted(set(re.findall(r"\b[ab]\b", self.expr))))


OPERATIONS = (
    Operation("a + b", lambda a, b: a + b), Operation("a + 2.5", lambda a, b: a + 2.5),
    Operation("2.5 + a", lambda a, b: 2.5 + a),
    Operation("a - b", lambda a, b: a - b), Operation("a - 2.5", lambda a, b: a - 2.5),
    Operation("2.5 - a", lambda a, b: 2.5 - a),
    Operation("a * b", lambda a, b: a * b), Operation("a * 2.5", lambda a, b: a * 2.5),
    Operation("2.5 * a", lambda a, b: 2.5 * a),
    Operation("a / b", lambda a, b: a / b), Operation("a / 2.5", lambda a, b: a / 2.5),
    Operation("2.5 / a", lambda a, b: 2.5 / a),
    Operation("a ** 3", lambda a, b: a**3), Operation("b ** 2", lambda a, b: b**2),
    Operation("a ** -1.5", lambda a, b: a**-1.5), Operation("a ** 0.5", lambda a, b: a**0.5),
    Operation("-b", lambda a, b: -b),
    Operation("b.exp()", lambda a, b: b.exp()), Operation("a.log()", lambda a, b: a.log()),
    Operation("b.sigmoid()", lambda a, b: b.sigmoid()),
    Operation("a.relu()", lambda a, b: a.relu()), Operation("b.relu()", lambda a, b: b.relu()),
)


def _scalars(seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    return {"a": float(rng.uniform(0.5, 2.0)), "b": -float(rng.uniform(0.5, 2.0))}


def _torch_result(op: Operation, values: dict[str, float]) -> tuple[float, dict[str, float]]:
    """(value, {input: gradient}) of `op` by torch in float64."""
    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for k, v in values.items()}
    with torch.enable_grad():
        out = op.apply(leaves["a"], leaves["b"])
        grads = torch.autograd.grad(out, [leaves[k] for k in op.inputs])
    return out.item(), {k: g.item() for k, g in zip(op.inputs, grads, strict=True)}


def _apply(op: Operation, Value: type, values: dict[str, float]) -> tuple[Any, dict[str, Any]]:
    """(the student's result, their input nodes) for `op`, or a failure naming what is missing."""
    nodes = {k: Value(v) for k, v in values.items()}
    try:
        out = op.apply(nodes["a"], nodes["b"])
    except (TypeError, AttributeError) as exc:
        if raised_by_student(exc):
            raise
        symbol = op.expr.split()[1] if op.expr.startswith("2.5 ") else ""
        hint = (f" Python calls `{REFLECTED[symbol]}` for a number {symbol} Value; define it."
                if symbol in REFLECTED else "")
        fail(f"`{op.expr}` with a = Value({values['a']:.4g}), b = Value({values['b']:.4g}) "
             f"fails: {type(exc).__name__}: {exc}.{hint}")
    if not hasattr(out, "data") or not hasattr(out, "backward"):
        fail(f"`{op.expr}` should return a Value; got {describe(out)}.")
    return out, nodes


def _close(got: float, expected: float) -> bool:
    return float(rel_error(got, expected)) <= VALUE_RTOL


@check(points=2)
def value_forward_values(submission: ModuleType) -> None:
    """every Value operator computes the same value as torch"""
    Value = require(submission, "Value")
    for seed in VALUE_SEEDS:
        values = _scalars(seed)
        for op in OPERATIONS:
            out, _ = _apply(op, Value, values)
            got = as_float(out.data, f"`({op.expr}).data`")
            expected, _ = _torch_result(op, values)
            if not _close(got, expected):
                fail(f"`({op.expr}).data` is {got:.10g} for a = {values['a']:.6g}, "
                     f"b = {values['b']:.6g}; torch gives {expected:.10g} (relative error "
                     f"{float(rel_error(got, expected)):.2g}, tolerance {VALUE_RTOL:g}).")


@check(points=2)
def value_operator_gradients(submission: ModuleType) -> None:
    """every Value operator's backward gives torch.autograd's gradients"""
    Value = require(submission, "Value")
    for seed in VALUE_SEEDS:
        values = _scalars(seed)
        for op in OPERATIONS:
            out, nodes = _apply(op, Value, values)
            out.backward()
            _, expected = _torch_result(op, values)
            for name in op.inputs:
                got = as_float(nodes[name].grad, f"`{name}.grad`")
                if not _close(got, expected[name]):
                    fail(f"after `out = {op.expr}; out.backward()` with a = {values['a']:.6g}, "
                         f"b = {values['b']:.6g}, `{name}.grad` is {got:.10g}; torch.autograd "
                         f"gives {expected[name]:.10g} (relative error "
                         f"{float(rel_error(got, expected[name])):.2g}, tolerance "
                         f"{VALUE_RTOL:g}). Check the local derivative in this operator's "
                         "backward step.")


def _grad(node: Any, name: str) -> float:
    return as_float(node.grad, f"`{name}.grad`")


@check(points=1)
def value_accumulates_reused_node(submission: ModuleType) -> None:
    """a Value used more than once (x * x, a + a) adds up its gradients"""
    Value = require(submission, "Value")
    x0 = 1.3
    cases = (("x * x", lambda x: x * x, 2 * x0, "2x"),
             ("x + x", lambda x: x + x, 2.0, "2"),
             ("x * x + x", lambda x: x * x + x, 2 * x0 + 1, "2x + 1"))
    for expr, build, expected, formula in cases:
        x = Value(x0)
        build(x).backward()
        got = _grad(x, "x")
        if not _close(got, expected):
            fail(f"after `({expr}).backward()` with x = Value({x0}), `x.grad` is {got:.6g}; "
                 f"expected {formula} = {expected:.6g}. A node used more than once receives "
                 "a gradient from each use and must add them up: `x.grad += …`, never "
                 "`x.grad = …`.")


@check(points=2)
def value_diamond_topological_order(submission: ModuleType) -> None:
    """a shared sub-expression passes its gradient on after all its uses (topological order)"""
    Value = require(submission, "Value")
    data = {"a": 0.8, "b": -1.1, "c": 1.7, "d": 0.6, "e": -0.4}
    nodes = {k: Value(v) for k, v in data.items()}
    a, b, c, d, e = (nodes[k] for k in "abcde")
    s = a * b                      # the shared node: two paths of different lengths lead to it
    out = (s * c + d) * (s + e)
    out.backward()
    s_grad = _grad(s, "s")
    for leaf, other in (("a", "b"), ("b", "a")):
        expected = data[other] * s_grad
        got = _grad(nodes[leaf], leaf)
        if not _close(got, expected):
            fail("in `s = a * b; out = (s * c + d) * (s + e); out.backward()`, "
                 f"`{leaf}.grad` is {got:.6g} but `s.grad` is {s_grad:.6g}, so {leaf}.grad "
                 f"should be {other}.data × s.grad = {expected:.6g}: s passed its gradient on "
                 "before both of its uses had added theirs (or more than once). Order the "
                 "nodes topologically and run each node's backward step exactly once, from "
                 "the output down.")
    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in data.items()}
    torch_s = leaves["a"] * leaves["b"]
    ((torch_s * leaves["c"] + leaves["d"]) * (torch_s + leaves["e"])).backward()
    for leaf in "cde":
        got, expected = _grad(nodes[leaf], leaf), leaves[leaf].grad.item()
        if not _close(got, expected):
            fail(f"in `s = a * b; out = (s * c + d) * (s + e); out.backward()`, `{leaf}.grad` "
                 f"is {got:.6g}; torch.autograd gives {expected:.6g}. Each node's backward "
                 "step must run after every node that uses it.")


@check(points=1)
def value_long_chain(submission: ModuleType) -> None:
    """backward() handles a chain 10,000 nodes deep, without recursion, within a second"""
    Value = require(submission, "Value")
    x = Value(0.5)
    y = x
    for _ in range(CHAIN_LENGTH):
        y = y + 1.0
    saved_limit, collecting = sys.getrecursionlimit(), gc.isenabled()
    gc.collect()  # time the student's backward, not a collection of the grader's garbage
    gc.disable()
    sys.setrecursionlimit(PYTHON_DEFAULT_RECURSION_LIMIT)
    try:
        start = time.perf_counter()
        y.backward()
        elapsed = time.perf_counter() - start
    except RecursionError:
        fail(f"backward() on a chain of {CHAIN_LENGTH:,} nodes raised RecursionError: "
             "backward() recurses once per node, and Python stops at about "
             f"{PYTHON_DEFAULT_RECURSION_LIMIT} nested calls. Use an iterative topological "
             "sort (an explicit stack) instead of a recursive one.")
    finally:
        sys.setrecursionlimit(saved_limit)
        if collecting:
            gc.enable()
    if elapsed > CHAIN_BUDGET_S:
        fail(f"backward() on a chain of {CHAIN_LENGTH:,} nodes took {elapsed:.2f} s; expected "
             f"under {CHAIN_BUDGET_S:g} s. Visit each node once: keep a set of visited nodes, "
             "and avoid list searches (`node in list`) inside the loop.")
