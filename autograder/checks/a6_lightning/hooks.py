"""a6, part 1: the module's hooks, called directly, without a Trainer.

`forward`, `training_step` and `configure_optimizers` run on toy batches and are held to
what Lightning needs of them: logits of shape (N, 2), the batch's mean loss in the graph,
an optimiser over every parameter at the lr given.
"""
from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F

from autograder.checks.a6_lightning import check
from autograder.checks.a6_lightning.harness import NUM_CLASSES, TOY_LR, quiet, student_module
from autograder.checks.support import describe, fail
from autograder.checks.toy_data import toy_loader

LOSS_RTOL = 1e-4


def _logits(module, X: torch.Tensor) -> torch.Tensor:
    out = module(X)
    n = X.shape[0]
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (n, NUM_CLASSES):
        fail(f"`forward` on a batch X of shape {tuple(X.shape)} should return logits of "
             f"shape ({n}, {NUM_CLASSES}), one score per class; got {describe(out)}.")
    if not out.is_floating_point():
        fail(f"`forward` should return floating-point logits; got dtype {out.dtype}.")
    return out


@check(points=1)
def forward_returns_logits(submission: ModuleType) -> None:
    """forward returns logits of shape (N, 2), not probabilities, for a batch of one too

    `forward` on toy batches (and a batch of one) returns floating `(N, 2)` scores; rows in
    [0, 1] summing to 1 are named as softmax probabilities (log-probabilities are accepted)
    """
    module = student_module(submission)
    module.eval()
    X = next(iter(toy_loader([6])))["X"]
    with torch.no_grad():
        out = _logits(module, X)
        _logits(module, X[:1])
    probabilities = bool(((out >= 0) & (out <= 1)).all()) and torch.allclose(
        out.sum(dim=1), torch.ones(len(out)), atol=1e-5)
    if probabilities:
        fail(f"`forward` returned rows that are all in [0, 1] and sum to 1: probabilities, "
             f"as from a softmax (first row {out[0].tolist()}). Return the raw scores of the "
             "last linear layer: `F.cross_entropy` applies the softmax itself, and applying it "
             "twice flattens the gradients.")


def _loss_from(output: Any) -> Any:
    if isinstance(output, dict):
        if "loss" not in output:
            fail(f"`training_step` returned a dict with keys {sorted(output)}; Lightning "
                 "takes the loss from its 'loss' key.")
        return output["loss"]
    return output


@check(points=2)
def training_step_returns_loss(submission: ModuleType) -> None:
    """training_step returns the batch's loss (a scalar tensor Lightning can backpropagate)

    `training_step` called directly returns the loss (a tensor or a dict's `"loss"`), in the
    graph, equal to the mean cross-entropy of `forward`'s logits; logits, `None`, a detached
    value and a sum are named
    """
    module = student_module(submission)
    module.train()
    batch = next(iter(toy_loader([8])))
    rng = torch.get_rng_state()  # the same dropout masks for the grader's own forward
    with quiet():  # self.log without a Trainer only warns
        output = module.training_step(batch, 0)
    loss = _loss_from(output)
    if loss is None:
        fail("`training_step` returned None: Lightning then skips the optimizer step for "
             "that batch, so nothing trains. Return the loss.")
    if isinstance(loss, torch.Tensor) and loss.dim() > 0 and loss.shape[0] == len(batch["y"]):
        fail(f"`training_step` returned {describe(loss)} for a batch of {len(batch['y'])}: "
             "per-example values (the logits?), not the loss. Return "
             "`F.cross_entropy(logits, y)`, a single number.")
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        fail(f"`training_step` should return the loss as a tensor with one element; got "
             f"{describe(loss)}.")
    if loss.grad_fn is None:
        fail("`training_step` returned a loss that is detached from the graph (`.item()`, "
             "`.detach()` or a new tensor): Lightning calls `backward()` on it, which then "
             "reaches no parameter. Return the loss tensor itself.")
    torch.set_rng_state(rng)
    with torch.no_grad():
        expected = F.cross_entropy(module(batch["X"]), batch["y"]).item()
    if math.isclose(loss.item(), expected, rel_tol=LOSS_RTOL):
        return
    n = len(batch["y"])
    hint = (f" That is {n} times the mean, a sum: use the mean (`F.cross_entropy`'s default "
            "reduction), so that the step size does not depend on the batch size."
            if math.isclose(loss.item(), n * expected, rel_tol=LOSS_RTOL) else "")
    fail(f"`training_step` returned a loss of {loss.item():.6g} for a batch of {n}; the mean "
         f"cross-entropy of `forward`'s logits on that batch is {expected:.6g}.{hint}")


def _optimizers(result: Any) -> list[torch.optim.Optimizer]:
    """The optimisers in any of the forms Lightning accepts."""
    if isinstance(result, torch.optim.Optimizer):
        return [result]
    if isinstance(result, dict) and "optimizer" in result:
        return _optimizers(result["optimizer"])
    if isinstance(result, (list, tuple)) and result:
        if len(result) == 2 and isinstance(result[0], (list, tuple)):  # ([opts], [scheds])
            return _optimizers(list(result[0]))
        return [opt for item in result for opt in _optimizers(item)]
    fail(f"`configure_optimizers` should return an optimiser (or a list or dict holding "
         f"one); got {describe(result)}.")


@check(points=2)
def configure_optimizers_covers_every_parameter(submission: ModuleType) -> None:
    """configure_optimizers returns an optimiser over every parameter, with the lr given

    with `hidden_dims=(8, 4)` and `lr=0.0123`, the optimiser (returned bare, in a list, a
    dict, or `([opts], [scheds])`) holds every parameter tensor at that lr; `None`, missing
    tensors (by shape) and an ignored lr are named
    """
    module = student_module(submission, hidden_dims=(8, 4))
    with quiet():
        result = module.configure_optimizers()
    if result is None:
        fail("`configure_optimizers` returned None: Lightning then trains without an "
             "optimiser, so the weights never change. Return "
             "`torch.optim.Adam(self.parameters(), lr=self.lr)`.")
    optimizers = _optimizers(result)
    covered = {id(p) for opt in optimizers for group in opt.param_groups
               for p in group["params"]}
    params = list(module.parameters())
    missing = [tuple(p.shape) for p in params if id(p) not in covered]
    if missing:
        fail(f"with hidden_dims=(8, 4) the optimiser updates {len(params) - len(missing)} of "
             f"the module's {len(params)} parameter tensors; it leaves out those of shapes "
             f"{missing}, which then never train. Pass `self.parameters()`.")
    rates = sorted({group.get("lr") for opt in optimizers for group in opt.param_groups})
    if rates != [TOY_LR]:
        fail(f"`LitSentimentClassifier(..., lr={TOY_LR})` built an optimiser with lr "
             f"{rates}; use the lr given to `__init__` (keep it, e.g. as `self.lr`).")
