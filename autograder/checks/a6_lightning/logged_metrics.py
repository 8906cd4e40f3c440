"""a6, part 2: what the module logs, seen from the grader's own Trainer.

One epoch on toy data records every `self.log` call with the loop that made it
(`logged_run`, also read by the hidden check); the student's training step runs for its
logging only, while the Trainer steps a trusted loss with a trusted optimiser.
"""
from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.trainer.states import RunningStage

from autograder.checks.a6_lightning import check
from autograder.checks.a6_lightning.harness import (
    TOY_LR,
    TOY_TRAIN_BATCHES,
    TOY_VAL_BATCHES,
    fraction_correct,
    run_lightning,
    student_module,
)
from autograder.checks.support import fail
from autograder.checks.toy_data import toy_loader

ACCURACY_ATOL = 1e-6


def _grader_trainer(root: str, **settings) -> L.Trainer:
    """The grader's own Trainer, for the checks of the module's hooks."""
    return L.Trainer(accelerator="cpu", devices=1, default_root_dir=root, logger=False,
                     enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, num_sanity_val_steps=0, **settings)


@dataclass
class LogCall:
    stage: str
    name: str
    value: Any


@dataclass
class LoggedRun:
    calls: list[LogCall] = field(default_factory=list)
    callback_metrics: dict[str, float] = field(default_factory=dict)
    module: Any = None

    def names(self, stage: str) -> list[str]:
        return sorted({c.name for c in self.calls if c.stage == stage})

    def values(self, stage: str, name: str) -> list[Any]:
        return [c.value for c in self.calls if c.stage == stage and c.name == name]


def logged_run(submission: ModuleType) -> LoggedRun:
    """One epoch of the student's module under the grader's Trainer, every `self.log`
    call recorded with the loop that made it."""
    module = student_module(submission)
    run = LoggedRun(module=module)
    original = module.log

    def log(name, value, *args, **kwargs):
        stage = module.trainer.state.stage
        run.calls.append(LogCall(stage.value if stage else "", name, value))
        return original(name, value, *args, **kwargs)

    module.log = log
    # The student's training_step runs for its `self.log` calls, but the Trainer steps a
    # trusted loss with a trusted optimiser: a bug there costs its own check only.
    student_step = module.training_step

    def training_step(batch, batch_idx):
        student_step(batch, batch_idx)
        return F.cross_entropy(module(batch["X"]), batch["y"])

    module.training_step = training_step
    module.configure_optimizers = lambda: torch.optim.Adam(module.parameters(), lr=TOY_LR)
    train, val = toy_loader(TOY_TRAIN_BATCHES, seed=1), toy_loader(TOY_VAL_BATCHES, seed=2)
    with tempfile.TemporaryDirectory() as root:
        trainer = run_lightning("building the grader's Trainer", _grader_trainer, root,
                                max_epochs=1)
        run_lightning("training your module for one epoch with the grader's Trainer",
                      trainer.fit, module, train, val)
    del module.log, module.training_step, module.configure_optimizers
    run.callback_metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    return run


_EPOCH_HINT = ("A callback such as EarlyStopping or ModelCheckpoint can only monitor "
               "epoch-level values of validation metrics.")


@check(points=2)
def validation_logs_val_loss_and_val_acc_per_epoch(submission: ModuleType) -> None:
    """validation_step logs val_loss and val_acc per epoch, where a callback can monitor them

    same run: `val_loss` and `val_acc` are logged during validation and reach
    `trainer.callback_metrics`, where callbacks read them; never logged and per-step only
    are told apart
    """
    run = logged_run(submission)
    logged = run.names(RunningStage.VALIDATING.value)
    for name in ("val_acc", "val_loss"):
        if name not in logged:
            fail(f"during validation your module logged {logged or 'nothing'}, never "
                 f"`{name}`: `validation_step` should call `self.log(\"{name}\", ...)`. "
                 f"{_EPOCH_HINT}")
        if name not in run.callback_metrics:
            fail(f"`{name}` was logged in `validation_step` per step only "
                 f"(`on_step=True, on_epoch=False`): after validation, the values a callback "
                 f"can monitor are {sorted(run.callback_metrics)}. {_EPOCH_HINT} Log it per "
                 "epoch (the default in `validation_step`: leave out `on_step` and "
                 "`on_epoch`, or pass `on_epoch=True`).")


@check(points=1)
def val_acc_is_the_fraction_correct(submission: ModuleType) -> None:
    """val_acc is the fraction of validation examples predicted correctly

    same run: the epoch's `val_acc` equals the fraction of the 40 validation examples the
    module's argmax gets right; a percentage and a count are named
    """
    run = logged_run(submission)
    if "val_acc" in run.callback_metrics:
        got = run.callback_metrics["val_acc"]
    else:
        values = run.values(RunningStage.VALIDATING.value, "val_acc")
        if not values:
            fail("`val_acc` is never logged in `validation_step`, so its value cannot be "
                 "checked.")
        got = float(np.mean([float(v) for v in values]))  # equal batches: the epoch's mean
    expected = fraction_correct(run.module, toy_loader(TOY_VAL_BATCHES, seed=2))
    if math.isclose(got, expected, abs_tol=ACCURACY_ATOL):
        return
    n = sum(TOY_VAL_BATCHES)
    observed = (f"after one epoch on toy data, `val_acc` was {got:.6g}; your module's "
                f"predictions (argmax of the logits) get {round(expected * n)} of the {n} "
                f"validation examples right, a fraction of {expected:.6g}")
    if math.isclose(got, 100 * expected, abs_tol=1e-3):
        fail(f"{observed}. That is a percentage: log the fraction, in [0, 1].")
    if got > 1:
        fail(f"{observed}. `val_acc` should be the fraction correct, in [0, 1], not a count: "
             "divide by the batch size (`(preds == y).float().mean()`).")
    fail(f"{observed}. `val_acc` should be the fraction correct: "
         "`(logits.argmax(dim=1) == y).float().mean()`.")
