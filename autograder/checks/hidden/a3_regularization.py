"""a3's hidden checks: the penalty's gradient, and a penalty weight of 0 (see checks/hidden)."""
from __future__ import annotations

from types import ModuleType

import torch
import torch.nn.functional as F

from autograder.checks.a3_regularization import (
    BIAS,
    LAMBDA,
    PENALTY_ATOL,
    _close,
    _loss_and_logits,
    _penalty_of,
    _seeded_model,
    check,
)
from autograder.checks.support import as_float, describe, fail
from autograder.checks.toy_data import toy_bow

GRAD_RTOL = 1e-4  # of the largest expected gradient entry


@check(points=1, hidden=True)
def penalty_gradient_reaches_weights(submission: ModuleType) -> None:
    """the penalty's gradient 2λW / W.numel() reaches the weights

    The loss's weight gradient minus the BCE's is 2λW/W.numel(); a penalty taken from
    `.item()`/`.detach()`/`.data` is named.
    """
    model, weight, _ = _seeded_model(submission, LAMBDA, bias=0.0)
    X, y = toy_bow(6, seed=1)
    penalty, loss, logits = _penalty_of(model, X, y)
    if abs(penalty) <= PENALTY_ATOL:
        return  # no penalty in the loss: penalty_is_mean_of_squared_weights says so
    if not loss.requires_grad:
        fail(f"`loss` does not require grad: autograd cannot differentiate it "
             f"(got {describe(loss)}).")
    bce = F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype))
    grad_loss, = torch.autograd.grad(loss, weight, retain_graph=True, allow_unused=True)
    grad_bce, = torch.autograd.grad(bce, weight, allow_unused=True)
    zero = torch.zeros_like(weight)
    from_penalty = ((zero if grad_loss is None else grad_loss)
                    - (zero if grad_bce is None else grad_bce)).double().flatten()
    W = weight.detach().double().flatten()
    # The gradient that goes with the penalty value in the loss, c·ΣW² with c = value/ΣW²:
    # 2λW/numel for the contract's penalty. Whether the value is right is
    # penalty_is_mean_of_squared_weights' business; here it must reach the weights.
    expected = 2 * (penalty / (W**2).sum().item()) * W
    scale = max(expected.abs().max().item(), 1e-6)
    error = (from_penalty - expected).abs()
    if error.max().item() <= GRAD_RTOL * scale:
        return
    if from_penalty.abs().max().item() <= GRAD_RTOL * scale:
        fail(f"the penalty adds {penalty:.6g} to the loss but nothing to the weights' "
             "gradient: it is computed from a detached value (`.item()`, `.detach()`, "
             "`.data` or under `torch.no_grad()`), so the optimizer never sees it. Build it "
             "from the weight parameter itself.")
    worst = int(error.argmax())
    fail(f"the penalty's part of the weight gradient (loss gradient minus BCE gradient) "
         f"differs from 2λW/W.numel() by up to {error.max().item():.3g} (at index {worst}: "
         f"got {from_penalty[worst].item():.6g}, expected {expected[worst].item():.6g}; "
         f"relative tolerance {GRAD_RTOL:g}).")


@check(points=1, hidden=True)
def zero_penalty_is_plain_bce(submission: ModuleType) -> None:
    """with l2_penalty_weight=0 the model is the unregularized one

    With `l2_penalty_weight=0` logits and loss equal the unregularized model's (`λ or 1e-3`
    is named).
    """
    model, weight, bias = _seeded_model(submission, 0.0, bias=BIAS)
    X, y = toy_bow(6, seed=1)
    loss, logits = _loss_and_logits(model, X, y)
    expected_logits = (X.double() @ weight.detach().double().flatten()
                       + bias.detach().double().reshape(()))
    if not torch.allclose(logits.detach().double(), expected_logits, rtol=1e-5, atol=1e-5):
        fail(f"with l2_penalty_weight=0, `py_logits` are {logits.detach().tolist()}; "
             f"X Wᵀ + b gives {[round(v, 5) for v in expected_logits.tolist()]}.")
    got = as_float(loss, "`loss`")
    expected = F.binary_cross_entropy_with_logits(expected_logits, y.double()).item()
    if _close(got, expected):
        return
    squares = (weight.detach().double() ** 2).mean().item()
    hint = ""
    if _close(got - expected, 1e-3 * squares):
        hint = (" The difference is 1e-3·mean(W²): a λ of 0 was replaced by the default "
                "(`l2_penalty_weight or 1e-3` treats 0 as missing; test `is None` instead).")
    fail(f"with l2_penalty_weight=0 the loss is {got:.6g}; the plain mean BCE is "
         f"{expected:.6g}.{hint}")


