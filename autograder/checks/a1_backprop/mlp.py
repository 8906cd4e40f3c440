"""a1, part 2: backpropagation through a 2-layer sigmoid network, without autograd.

Shapes, values and gradients are separate checks, each on a batch of one and a
hidden width of one too; "by hand" is observed with `AutogradDetector`, and only
that check fails when autograd does the work.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from autograder.checks.a1_backprop import check
from autograder.checks.a1_backprop.mismatch import describe_mismatch
from autograder.checks.instruments import AutogradDetector, AutogradUse, tensors_in
from autograder.checks.support import describe, fail, require
from autograder.gradcheck import as_float64_array, compare_gradient, rel_error, report_table

PARAM_NAMES = ("W1", "b1", "W2", "b2")


@dataclass(frozen=True)
class MlpCase:
    n: int
    d: int
    h: int
    seed: int

    def __str__(self) -> str:
        return f"a batch of {self.n} (D={self.d}, H={self.h}, seed {self.seed})"


MLP_CASES = (MlpCase(8, 5, 4, 0), MlpCase(3, 2, 6, 1))
EDGE_CASES = (MlpCase(1, 3, 4, 2), MlpCase(6, 3, 1, 3))  # a batch of one, a hidden width of one
MLP_FORWARD_RTOL = 1e-10
# float64 on both sides: the reference, a loop over examples and units, and an addmm
# variant agree with autograd to at most 7e-16 on these cases (measured).
MLP_GRAD_TOL = 1e-7


def _mlp_inputs(case: MlpCase) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """(params, X (N, D), y (N,) of 0./1.), all float64 and not requiring grad."""
    gen = torch.Generator().manual_seed(case.seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    params = {"W1": randn(case.h, case.d), "b1": randn(case.h), "W2": randn(1, case.h),
              "b2": randn(1)}
    X = randn(case.n, case.d)
    y = (torch.rand(case.n, generator=gen, dtype=torch.float64) < 0.5).to(torch.float64)
    return params, X, y


def _mlp_reference(params: dict, X: torch.Tensor, y: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """(y_hat (N,), logits (N,), gradients of the mean BCE) by torch.autograd."""
    leaves = {k: v.detach().clone().requires_grad_() for k, v in params.items()}
    with torch.enable_grad():
        h = torch.sigmoid(X @ leaves["W1"].T + leaves["b1"])
        logits = (h @ leaves["W2"].T + leaves["b2"]).reshape(-1)
        loss = F.binary_cross_entropy_with_logits(logits, y)
        grads = torch.autograd.grad(loss, [leaves[k] for k in PARAM_NAMES])
    gradients = dict(zip(PARAM_NAMES, grads, strict=True))
    return torch.sigmoid(logits).detach(), logits.detach(), gradients


def _copies(params: dict) -> dict:
    return {k: v.clone() for k, v in params.items()}


def _student_forward(submission: ModuleType, params: dict, X: torch.Tensor) -> tuple[Any, Any]:
    result = require(submission, "mlp_forward")(_copies(params), X.clone())
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"`mlp_forward` should return a pair (y_hat, cache); got {describe(result)}.")
    return result[0], result[1]


def _student_backward(submission: ModuleType, params: dict, cache: Any,
                      y: torch.Tensor) -> dict:
    grads = require(submission, "mlp_backward")(_copies(params), cache, y.clone())
    if not hasattr(grads, "keys") or any(k not in grads for k in PARAM_NAMES):
        found = sorted(grads.keys()) if hasattr(grads, "keys") else describe(grads)
        fail(f"`mlp_backward` should return a dict with keys {list(PARAM_NAMES)}; "
             f"got {found}.")
    return grads


def _student_run(submission: ModuleType, case: MlpCase):
    params, X, y = _mlp_inputs(case)
    y_hat, cache = _student_forward(submission, params, X)
    return params, X, y, y_hat, cache


def _same_size(value: Any, shape: tuple[int, ...]) -> Any:
    """Reshape to `shape` when only the shape is off: the shape checks judge shapes."""
    size = math.prod(shape)
    if isinstance(value, torch.Tensor) and value.numel() == size:
        return value.reshape(shape)
    if isinstance(value, np.ndarray) and value.size == size:
        return value.reshape(shape)
    return value


def _expect_tensor(value: Any, what: str, shape: tuple[int, ...], case: MlpCase,
                   hint: str = "") -> None:
    if not isinstance(value, torch.Tensor):
        fail(f"{what} on {case} should be a tensor of shape {shape}; got {describe(value)}.")
    if tuple(value.shape) != shape:
        fail(f"{what} on {case} has shape {tuple(value.shape)}; expected {shape}.{hint}")
    if value.dtype != torch.float64:
        fail(f"{what} on {case} has dtype {value.dtype}; the inputs are float64 and so should "
             "it be (a tensor made with a default dtype is float32).")


@check(points=1)
def mlp_forward_shapes(submission: ModuleType) -> None:
    """mlp_forward returns y_hat of shape (N,) in float64, for a batch of one too"""
    for case in MLP_CASES + EDGE_CASES:
        *_, y_hat, _ = _student_run(submission, case)
        hint = (" One probability per example: flatten the (N, 1) output with `.squeeze(-1)` "
                "or `.reshape(-1)`; a bare `.squeeze()` also drops the batch dimension when "
                "N is 1.")
        _expect_tensor(y_hat, "`y_hat` from `mlp_forward`", (case.n,), case, hint)


@check(points=1)
def mlp_forward_values(submission: ModuleType) -> None:
    """mlp_forward computes sigmoid(sigmoid(X W1ᵀ + b1) W2ᵀ + b2)"""
    for case in MLP_CASES + EDGE_CASES:
        params, X, y, y_hat, _ = _student_run(submission, case)
        expected, logits, _ = _mlp_reference(params, X, y)
        got = as_float64_array(_same_size(y_hat, (case.n,)))
        if got.shape != (case.n,):
            fail(f"`y_hat` on {case} has {got.size} values; expected one per example, {case.n}.")
        errors = rel_error(got, expected)
        worst = int(np.argmax(errors))
        if errors[worst] <= MLP_FORWARD_RTOL:
            continue
        hint = (" Those are the logits: apply the output sigmoid." if
                np.allclose(got, logits.numpy(), rtol=1e-8) else
                " Check both layers: h = sigmoid(X @ W1.T + b1), then "
                "y_hat = sigmoid(h @ W2.T + b2).")
        fail(f"`y_hat` from `mlp_forward` on {case} differs from "
             f"sigmoid(sigmoid(X W1ᵀ + b1) W2ᵀ + b2): max relative error {errors[worst]:.2g} at "
             f"index ({worst},) (got {got[worst]:.6g}, expected {float(expected[worst]):.6g}), "
             f"tolerance {MLP_FORWARD_RTOL:g}.{hint}")


@check(points=1)
def mlp_backward_shapes(submission: ModuleType) -> None:
    """mlp_backward returns a gradient for W1, b1, W2 and b2 shaped like the parameter"""
    for case in MLP_CASES + EDGE_CASES:
        params, X, y, _, cache = _student_run(submission, case)
        grads = _student_backward(submission, params, cache, y)
        for name in PARAM_NAMES:
            _expect_tensor(grads[name], f"the gradient for {name}", tuple(params[name].shape),
                           case, " A gradient has the shape of its parameter.")


def _gradient_hint(bad: set[str]) -> str:
    if bad <= {"b1", "b2"}:
        return ("Check that the bias gradient is summed over the batch: db = δ.sum(0), one "
                "entry per unit (the 1/N is already in δ2), neither averaged again nor taken "
                "from one example.")
    if bad <= {"W1", "b1"}:
        return ("The output layer is right, so look at the hidden layer: δ1 = (δ2 W2) ⊙ h ⊙ "
                "(1 - h), the sigmoid's derivative h(1 - h) included.")
    if bad <= {"W1", "W2"}:
        return ("Check the matrix products: dW2 = δ2ᵀ h has shape (1, H) and dW1 = δ1ᵀ X has "
                "shape (H, D).")
    return ("Start at the output: for the mean binary cross-entropy of a sigmoid, "
            "δ2 = (y_hat - y) / N, one entry per example.")


@check(points=3)
def mlp_gradients_match_autograd(submission: ModuleType) -> None:
    """mlp_backward's gradients match torch.autograd, batch of one and width one included"""
    for case in MLP_CASES + EDGE_CASES:
        params, X, y, _, cache = _student_run(submission, case)
        grads = _student_backward(submission, params, cache, y)
        _, _, expected = _mlp_reference(params, X, y)
        comparisons = [compare_gradient(name, _same_size(grads[name], tuple(expected[name].shape)),
                                        expected[name], MLP_GRAD_TOL) for name in PARAM_NAMES]
        bad = [c for c in comparisons if not c.ok]
        if bad:
            worst = max(bad, key=lambda c: c.max_rel_error)
            mismatch = describe_mismatch(worst, str(case), "torch.autograd")
            fail(f"`mlp_backward` gradient for {mismatch} "
                 f"{_gradient_hint({c.name for c in bad})}\nEvery parameter:\n"
                 f"{report_table(comparisons)}")


BY_HAND_ADVICE = {
    "mlp_forward": "Compute the forward pass with plain tensor operations on the inputs as "
                   "given, and keep what the backward pass needs in `cache`.",
    "mlp_backward": "Compute the gradients by hand with the chain rule, from the values "
                    "saved in `cache`.",
}


def _by_hand(function: str, detector: AutogradDetector, outputs: Any) -> None:
    uses = list(detector.uses)
    if not uses and any(t.requires_grad or t.grad_fn is not None for t in tensors_in(outputs)):
        uses.append(AutogradUse("tensors that require grad in what it returns", ""))
    if uses:
        first = uses[0]
        where = f" ({first.where})" if first.where else ""
        fail(f"`{function}` used autograd: {first.what}{where}. {BY_HAND_ADVICE[function]} "
             "The inputs do not require grad, and no autograd graph may be built while your "
             "functions run (`torch.no_grad()` inside them is fine).")


@check(points=2)
def mlp_backward_by_hand(submission: ModuleType) -> None:
    """mlp_forward and mlp_backward compute without autograd"""
    params, X, y = _mlp_inputs(MLP_CASES[0])
    with AutogradDetector() as detector:
        y_hat, cache = _student_forward(submission, params, X)
    _by_hand("mlp_forward", detector, (y_hat, cache))
    with AutogradDetector() as detector:
        grads = _student_backward(submission, params, cache, y)
    _by_hand("mlp_backward", detector, grads)
