"""a2's hidden checks: a batch of one, huge logits, what train returns (see checks/hidden)."""
from __future__ import annotations

import math
from types import ModuleType

import torch

from autograder.checks.a2_training_loop import (
    ACCURACY_ATOL,
    EVAL_BATCHES,
    LOOP_BATCHES,
    _expect_vector,
    _forward,
    _student_model,
    check,
)
from autograder.checks.support import (
    CPU,
    as_float,
    describe,
    fail,
    require,
    trusted,
    weight_and_bias,
)
from autograder.checks.toy_data import (
    TOY_VOCAB,
    accuracy_from_logits,
    loop_model,
    toy_bow,
    toy_loader,
)
from autograder.checks.trusted.toy_model import oracle_evaluate, oracle_train_epoch


@check(points=1, hidden=True)
def forward_batch_of_one(submission: ModuleType) -> None:
    """forward works for a batch of a single sentence

    A batch of one sentence keeps shape `(1,)`.
    """
    model = _student_model(submission)
    X, y = toy_bow(1)
    for labels in (None, y):  # without labels first: the shapes, before any loss is taken
        out = _forward(model, X, labels)
        for key in ("py_logits", "py_probs", "py"):
            _expect_vector(out, key, 1, floating=None)


@check(points=1, hidden=True)
def loss_finite_for_large_logits(submission: ModuleType) -> None:
    """the loss is computed from logits and stays finite when logits are ±1000

    Logits of ±1000: the loss is 1000, not `inf` or a clamped 100.
    """
    model = _student_model(submission)
    weight, bias = weight_and_bias(model, TOY_VOCAB, "BinaryLogisticRegression")
    X = torch.eye(TOY_VOCAB)[:4]
    y = torch.tensor([0, 1, 0, 1])
    with torch.no_grad():
        weight.copy_(torch.tensor([1000.0, -1000.0, 1000.0, -1000.0] + [0.0] * (TOY_VOCAB - 4))
                     .view_as(weight))
        bias.zero_()
    out = _forward(model, X, y)
    got = as_float(out["loss"], "`loss`")
    # Every logit is ±1000 on the wrong side: log(1 + e^1000) = 1000 per example. The
    # reduction is loss_is_mean_bce's business, so a sum (4000) is accepted here.
    per_example = 1000.0
    if not any(math.isclose(got, per_example * n, rel_tol=1e-4) for n in (1, len(y))):
        fail(f"with logits of ±1000, all on the wrong side, `loss` is {got}; expected "
             f"{per_example:g} per example. Probabilities round to exactly 0 or 1 there, so a "
             "loss taken from `py_probs` is infinite or clamped: compute it from the logits "
             "with `F.binary_cross_entropy_with_logits`.")
    out["loss"].backward()
    if not all(torch.isfinite(p.grad).all() for p in (weight, bias) if p.grad is not None):
        fail("with logits of ±1000 the loss is finite but its gradient is not: compute the "
             "loss from the logits with `F.binary_cross_entropy_with_logits`.")


@check(points=1, hidden=True)
def train_returns_history(submission: ModuleType) -> None:
    """train runs num_epochs epochs and returns one record per epoch

    One record per epoch; the last `dev_acc` is the trained model's.
    """
    train = require(submission, "train")
    model = loop_model(submission)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    with trusted(submission, train_epoch=oracle_train_epoch, evaluate=oracle_evaluate):
        history = train(model, toy_loader(LOOP_BATCHES), toy_loader(EVAL_BATCHES, seed=1),
                        optimizer, 3, CPU)
    if not isinstance(history, list) or len(history) != 3:
        fail("`train(..., num_epochs=3)` should return a list of 3 dicts; "
             f"got {describe(history)}.")
    for record in history:
        if not isinstance(record, dict) or not {"epoch", "train_loss", "dev_acc"} <= set(record):
            fail("each epoch record should be a dict with keys 'epoch', 'train_loss' and "
                 f"'dev_acc'; got {describe(record)}.")
    epochs = [int(as_float(r["epoch"], "'epoch'")) for r in history]
    if epochs not in ([0, 1, 2], [1, 2, 3]):
        fail(f"epochs should be numbered 0, 1, 2 or 1, 2, 3; got {epochs}.")
    losses = [as_float(r["train_loss"], "'train_loss'") for r in history]
    if not all(math.isfinite(loss) for loss in losses):
        fail(f"'train_loss' should be finite numbers; got {losses}.")
    last = as_float(history[-1]["dev_acc"], "'dev_acc'")
    expected = accuracy_from_logits(model, toy_loader(EVAL_BATCHES, seed=1))
    if not math.isclose(last, expected, abs_tol=ACCURACY_ATOL):
        fail(f"the last record's 'dev_acc' is {last:.6g} but the trained model's dev accuracy "
             f"is {expected:.6g}; evaluate on the dev loader after each epoch's training.")


