"""a5's hidden checks: train_model's history, predict's eval mode (see checks/hidden)."""
from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import torch

from autograder.checks.a5_ffn_gpu import check
from autograder.checks.a5_ffn_gpu.toy_runs import toy_loaders, toy_net
from autograder.checks.a5_ffn_gpu.training import student_predict, watched_training
from autograder.checks.instruments import ForwardRecorder
from autograder.checks.support import as_float, describe, fail

TOY_EPOCHS = 3  # of a5's toy run of train_model
# train_loss against the mean of the losses the loop called backward() on
LOSS_RTOL = 1e-3
ACCURACY_ATOL = 1e-6


@check(points=1, hidden=True)
def train_model_returns_history(submission: ModuleType) -> None:
    """train_model returns one record per epoch with that epoch's train_loss and dev_acc

    3 epochs on toy data: `train_loss` is the mean (plain or size-weighted) of the losses
    the loop called `backward()` on in that epoch, `dev_acc` the accuracy the grader
    measures at that epoch's dev pass.
    """
    watch, history = watched_training(submission, TOY_EPOCHS)
    if not isinstance(history, list) or len(history) != TOY_EPOCHS:
        fail(f"`train_model(..., num_epochs={TOY_EPOCHS}, ...)` returned {describe(history)}; "
             f"expected a list of {TOY_EPOCHS} dicts, one per epoch.")
    for epoch, record in enumerate(history):
        if not isinstance(record, dict) or not {"train_loss", "dev_acc"} <= set(record):
            fail(f"record {epoch} of the history is {describe(record)}; expected a dict with "
                 "'train_loss' and 'dev_acc'.")
        losses, sizes = watch.losses[epoch], watch.batch_sizes[epoch]
        if not losses:
            fail(f"`train_model` called no `loss.backward()` in epoch {epoch}.")
        means = (float(np.mean(losses)), float(np.average(losses, weights=sizes)))
        loss = as_float(record["train_loss"], f"history[{epoch}]['train_loss']")
        if not any(math.isclose(loss, m, rel_tol=LOSS_RTOL) for m in means):
            fail(f"history[{epoch}]['train_loss'] is {loss:.5f}; the {len(losses)} losses your "
                 f"loop called backward() on in that epoch average {means[0]:.5f}. Record the "
                 "mean of the epoch's batch losses (`loss.item()` of each batch), not the last "
                 "one or a sum.")
        measured = watch.dev_accuracies[epoch]
        acc = as_float(record["dev_acc"], f"history[{epoch}]['dev_acc']")
        if not measured:
            fail(f"`train_model` never went through the dev loader in epoch {epoch}; measure "
                 "dev accuracy after each epoch.")
        if not math.isclose(acc, measured[-1], abs_tol=ACCURACY_ATOL):
            hint = " (a fraction, not a percentage)" if acc > 1 else ""
            fail(f"history[{epoch}]['dev_acc'] is {acc:g}; the model the grader saw at that "
                 f"epoch's dev pass classifies {measured[-1]:.4f} of the dev set right{hint}.")


@check(points=1, hidden=True)
def predict_in_eval_mode(submission: ModuleType) -> None:
    """predict puts the model in eval mode itself before its forward passes

    Handed a model in training mode with dropout 0.5, every forward call runs in eval mode.
    """
    _, dev_loader = toy_loaders()
    model = toy_net(submission, dropout=0.5).train()
    recorder = ForwardRecorder(model)
    student_predict(submission, model, dev_loader, torch.device("cpu"))
    in_training = sum(call.training for call in recorder.calls)
    if not recorder.calls:
        fail("`predict` never called the model.")
    if in_training:
        fail(f"{in_training} of `predict`'s {len(recorder.calls)} forward calls ran in training "
             "mode, with dropout active; call `model.eval()` inside `predict` (the grader hands "
             "it a model in training mode).")


