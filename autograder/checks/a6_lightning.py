"""Checks for a6: a LightningModule and a Trainer with early stopping and checkpointing.

The module's hooks are called directly (`forward`, `training_step`,
`configure_optimizers`) or run by a trusted Trainer that records every `self.log` call.
The student's `make_trainer` is judged by what its Trainer does to a trusted module
whose validation logs a scripted `val_acc` per epoch: the epoch it stops at, the
checkpoint it keeps, where it writes, and the device it picks (a CUDA device is faked,
never used, except by the GPU-only check).

Lightning is imported here, before the submission loads, so that the student's own
`import lightning` (about 5 s) fits in the loader's per-statement budget.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator
from unittest import mock

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.trainer.states import RunningStage
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from autograder.checks.registry import checker
from autograder.checks.sst2_setting import SST2_LR, SST2_SEED, require_dev_accuracy
from autograder.checks.support import describe, fail, require, require_cuda
from autograder.checks.toy_data import TOY_VOCAB, toy_loader
from autograder.data.sst2 import batch_loader, load_sst2_features
from autograder.student_code import is_student_file

check = checker("a6_lightning", datasets=("sst2",))

NUM_CLASSES = 2
LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")
TOY_HIDDEN = (8,)
TOY_LR = 0.0123  # unusual on purpose: an optimiser with another lr ignored the argument
LOSS_RTOL = 1e-4
ACCURACY_ATOL = 1e-6
# Toy batches for the logging checks: equal sizes, so that the mean of per-step values
# is the epoch's value whatever the weighting.
TOY_TRAIN_BATCHES = [8, 8, 8]
TOY_VAL_BATCHES = [10, 10, 10, 10]
TRAIN_LOSS_NAMES = ("train_loss", "train_loss_step", "train_loss_epoch")

# Scripted validation metrics, one per epoch, for the Trainer checks. Lightning's rule:
# an epoch improves when val_acc is strictly above the best; the run stops when the
# number of epochs in a row without improvement reaches `patience`.
# With patience 1 the correct Trainer stops after epoch 4 (index 3). The usual mistakes
# stop elsewhere, each at its own epoch: mode "min" after 2, monitoring val_loss after 6,
# patience + 1 after 7, the default patience 3 after 11, no early stopping after 12.
STOP_VAL_ACC = [0.50, 0.60, 0.70, 0.65, 0.75, 0.74, 0.73, 0.80, 0.79, 0.78, 0.77, 0.76]
STOP_VAL_LOSS = [0.70, 0.60, 0.55, 0.50, 0.48, 0.52, 0.47, 0.46, 0.45, 0.44, 0.43, 0.42]
STOP_PATIENCE = 1
# For the checkpoint: the best epoch (index 1) is neither the first, the worst nor the
# last, nor the one with the lowest val_loss. Early stopping is taken out of this run.
KEEP_VAL_ACC = [0.50, 0.70, 0.60, 0.65, 0.62]
KEEP_VAL_LOSS = [0.70, 0.65, 0.60, 0.50, 0.55]

# SST-2 run: the shared seed and lr (sst2_setting); one epoch over a seeded subset of
# 30,000 training sentences in batches of 256, one hidden layer of 8 units, so that a
# grading fits in 30 s on 2 CPU cores (Lightning adds about 1 ms per step; the dense
# 13,774-wide first layer costs the rest). One epoch leaves early stopping out of this
# check: the scripted checks above judge it.
SST2_TRAIN_EXAMPLES = 30_000
SST2_BATCH = 256
SST2_HIDDEN = (8,)
SST2_RUN = {"max_epochs": 1, "patience": 1}
SST2_SETTING = (f"{SST2_TRAIN_EXAMPLES:,} training sentences, batch {SST2_BATCH}, "
                f"hidden_dims={SST2_HIDDEN}, lr {SST2_LR}, max_epochs "
                f"{SST2_RUN['max_epochs']}, patience {SST2_RUN['patience']}, seed {SST2_SEED}")
# Measured with benchmarks/calibrate.py, reference solution, seeds 0-9, torch 2.13 CPU:
# min 0.7959, mean 0.8064, max 0.8211. The threshold sits 0.0209 below the minimum, as
# a3's and a4's do; an optimiser that ignores the lr given (Adam's default 1e-3) reaches
# 0.7649 and fails.
SST2_MIN_DEV_ACCURACY = 0.775


# ------------------------------------------------------------------ running Lightning


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Lightning's notices (no logger, few batches, GPU available but unused) say
    nothing about the student's work: its warnings are silenced, and its log lines go to
    stdout. nbgrader zeroes a graded cell that writes to stderr, and Lightning's log
    handler keeps the stderr of the moment it was imported, which `run_check`'s
    redirection of `sys.stderr` does not reach."""
    handlers = [h for name in LIGHTNING_LOGGERS for h in logging.getLogger(name).handlers
                if isinstance(h, logging.StreamHandler)]
    streams = [h.stream for h in handlers]
    for handler in handlers:
        handler.setStream(sys.stdout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)


def _run(what: str, action, *args, **kwargs):
    """Call into Lightning; an exception raised by Lightning itself (no student code in
    the traceback) is a verdict on the student's configuration, not a grader error."""
    try:
        with _quiet():
            return action(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - judged below
        frames = exc.__traceback__
        student = False
        while frames is not None:
            student |= is_student_file(frames.tb_frame.f_code.co_filename)
            frames = frames.tb_next
        if student or isinstance(exc, NotImplementedError):
            raise
        fail(f"{what}, Lightning stopped with {type(exc).__name__}: {str(exc)[:600]}")


def _grader_trainer(root: str, **settings) -> L.Trainer:
    """The grader's own Trainer, for the checks of the module's hooks."""
    return L.Trainer(accelerator="cpu", devices=1, default_root_dir=root, logger=False,
                     enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, num_sanity_val_steps=0, **settings)


def _student_trainer(submission: ModuleType, root: str, *, max_epochs: int, patience: int,
                     accelerator: str = "cpu") -> L.Trainer:
    make_trainer = require(submission, "make_trainer")
    trainer = _run(f"building `make_trainer({max_epochs}, {patience}, "
                   f"accelerator={accelerator!r}, ...)`", make_trainer, max_epochs, patience,
                   accelerator=accelerator, default_root_dir=root, logger=False,
                   enable_progress_bar=False, devices=1)
    if not isinstance(trainer, L.Trainer):
        hint = (" It is a `pytorch_lightning.Trainer`: import `lightning as L` and use "
                "`L.Trainer`." if type(trainer).__module__.startswith("pytorch_lightning")
                else "")
        fail(f"`make_trainer` should return a `lightning.Trainer`; got "
             f"{describe(trainer)}.{hint}")
    return trainer


def _student_module(submission: ModuleType, input_dim: int = TOY_VOCAB,
                    hidden_dims: tuple[int, ...] = TOY_HIDDEN, lr: float = TOY_LR):
    module = require(submission, "LitSentimentClassifier")(input_dim, hidden_dims=hidden_dims,
                                                           lr=lr)
    if not isinstance(module, L.LightningModule):
        bases = [f"{b.__module__}.{b.__name__}" for b in type(module).__mro__[1:3]]
        fail("`LitSentimentClassifier` should subclass `lightning.LightningModule` (`import "
             "lightning as L`, then `class LitSentimentClassifier(L.LightningModule)`); its "
             f"bases are {bases}.")
    return module


# ------------------------------------------------------------- the module's hooks


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
    module = _student_module(submission)
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
    module = _student_module(submission)
    module.train()
    batch = next(iter(toy_loader([8])))
    rng = torch.get_rng_state()  # the same dropout masks for the grader's own forward
    with _quiet():  # self.log without a Trainer only warns
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
    module = _student_module(submission, hidden_dims=(8, 4))
    with _quiet():
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


# ------------------------------------------------------- logging, seen from a Trainer


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


def _logged_run(submission: ModuleType) -> LoggedRun:
    """One epoch of the student's module under the grader's Trainer, every `self.log`
    call recorded with the loop that made it."""
    module = _student_module(submission)
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
        trainer = _run("building the grader's Trainer", _grader_trainer, root, max_epochs=1)
        _run("training your module for one epoch with the grader's Trainer", trainer.fit,
             module, train, val)
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
    run = _logged_run(submission)
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


def _fraction_correct(module, loader) -> float:
    module.eval()
    correct = total = 0
    with torch.no_grad():
        for batch in loader:
            correct += int((module(batch["X"]).argmax(dim=1) == batch["y"]).sum())
            total += len(batch["y"])
    return correct / total


@check(points=1)
def val_acc_is_the_fraction_correct(submission: ModuleType) -> None:
    """val_acc is the fraction of validation examples predicted correctly

    same run: the epoch's `val_acc` equals the fraction of the 40 validation examples the
    module's argmax gets right; a percentage and a count are named
    """
    run = _logged_run(submission)
    if "val_acc" in run.callback_metrics:
        got = run.callback_metrics["val_acc"]
    else:
        values = run.values(RunningStage.VALIDATING.value, "val_acc")
        if not values:
            fail("`val_acc` is never logged in `validation_step`, so its value cannot be "
                 "checked.")
        got = float(np.mean([float(v) for v in values]))  # equal batches: the epoch's mean
    expected = _fraction_correct(run.module, toy_loader(TOY_VAL_BATCHES, seed=2))
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


# ------------------------------------------------- make_trainer, driven by a script


class ScriptedModule(L.LightningModule):
    """A trusted module whose validation logs scripted val_acc and val_loss per epoch."""

    def __init__(self, val_acc: list[float], val_loss: list[float]):
        super().__init__()
        self.scripted_acc, self.scripted_loss = val_acc, val_loss
        self.layer = nn.Linear(4, NUM_CLASSES)
        self.validated_epochs: list[int] = []

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layer(X)

    def training_step(self, batch, batch_idx):
        X, y = batch
        loss = F.cross_entropy(self(X), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        epoch = min(self.current_epoch, len(self.scripted_acc) - 1)
        self.log("val_acc", self.scripted_acc[epoch])
        self.log("val_loss", self.scripted_loss[epoch])

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.sanity_checking:
            self.validated_epochs.append(self.current_epoch)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _scripted_loaders() -> tuple[DataLoader, DataLoader]:
    generator = torch.Generator().manual_seed(0)
    X, y = torch.randn(4, 4, generator=generator), torch.tensor([0, 1, 0, 1])
    return DataLoader(TensorDataset(X, y), batch_size=4), DataLoader(TensorDataset(X, y),
                                                                     batch_size=4)


@contextlib.contextmanager
def _scratch_dir() -> Iterator[Path]:
    """A fresh working directory for a run, removed afterwards."""
    previous = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            yield Path(scratch)
        finally:
            os.chdir(previous)


def _scripted_fit(submission: ModuleType, root: Path, val_acc: list[float],
                  val_loss: list[float], patience: int, *, early_stopping: bool = True
                  ) -> tuple[L.Trainer, ScriptedModule]:
    trainer = _student_trainer(submission, str(root), max_epochs=len(val_acc),
                               patience=patience)
    if not early_stopping:
        trainer.callbacks[:] = [c for c in trainer.callbacks if not isinstance(c, EarlyStopping)]
    module = ScriptedModule(val_acc, val_loss)
    _run(f"fitting a module that logs val_acc {val_acc} with your Trainer", trainer.fit,
         module, *_scripted_loaders())
    return trainer, module


def lightning_stop(values: list[float], patience: int, mode: str) -> int:
    """How many epochs Lightning's EarlyStopping lets run on `values` (all of them when
    it never stops)."""
    best, wait = None, 0
    for epoch, value in enumerate(values):
        if best is None or (value > best if mode == "max" else value < best):
            best, wait = value, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch + 1
    return len(values)


def _early_stopping_diagnosis(epochs: int, callbacks: list) -> str:
    stoppers = [c for c in callbacks if isinstance(c, EarlyStopping)]
    if not stoppers:
        return (" The Trainer has no EarlyStopping callback: add "
                "`EarlyStopping(monitor=\"val_acc\", mode=\"max\", patience=patience)` to its "
                "`callbacks`.")
    known = {
        lightning_stop(STOP_VAL_ACC, STOP_PATIENCE, "min"):
            " That is where `mode=\"min\"` (EarlyStopping's default) stops: a higher "
            "accuracy is better, so pass `mode=\"max\"`.",
        lightning_stop(STOP_VAL_LOSS, STOP_PATIENCE, "min"):
            " That is where monitoring `val_loss` stops: monitor `val_acc`.",
        lightning_stop(STOP_VAL_ACC, STOP_PATIENCE + 1, "max"):
            " That is where patience + 1 stops: Lightning already tolerates `patience` "
            "epochs without improvement, so pass `patience` as it is.",
        lightning_stop(STOP_VAL_ACC, 3, "max"):
            " That is where EarlyStopping's default patience of 3 stops: pass "
            "`patience=patience`.",
    }
    return known.get(epochs, f" The EarlyStopping callback found monitors "
                             f"{[s.monitor for s in stoppers]} with modes "
                             f"{[s.mode for s in stoppers]} and patience "
                             f"{[s.patience for s in stoppers]}.")


@check(points=3)
def early_stopping_stops_on_val_acc(submission: ModuleType) -> None:
    """make_trainer's Trainer stops when val_acc has not risen for `patience` epochs

    the student's Trainer fits a trusted module whose validation logs a scripted `val_acc`
    per epoch (patience 1): it must stop after epoch 4, as Lightning's rule does; mode
    `"min"` (2), monitoring `val_loss` (6), patience + 1 (7), the default patience 3 (11)
    and no EarlyStopping (12) stop elsewhere and are named
    """
    with _scratch_dir() as scratch:
        trainer, module = _scripted_fit(submission, scratch / "run", STOP_VAL_ACC,
                                        STOP_VAL_LOSS, STOP_PATIENCE)
    epochs = len(module.validated_epochs)
    expected = lightning_stop(STOP_VAL_ACC, STOP_PATIENCE, "max")
    if epochs == expected:
        return
    fail(f"with `make_trainer(max_epochs={len(STOP_VAL_ACC)}, patience={STOP_PATIENCE})` and "
         f"a module whose validation logs val_acc {STOP_VAL_ACC} (one per epoch), training "
         f"ran {epochs} epoch(s); Lightning's EarlyStopping on val_acc with mode \"max\" "
         f"stops after {expected}, at the first epoch without improvement."
         + _early_stopping_diagnosis(epochs, trainer.callbacks))


def _kept_epoch(trainer: L.Trainer) -> int | None:
    checkpoint = trainer.checkpoint_callback
    path = checkpoint.best_model_path if checkpoint else ""
    if not path or not os.path.isfile(path):
        return None
    return torch.load(path, map_location="cpu", weights_only=False)["epoch"]


@check(points=2)
def checkpoint_keeps_best_val_acc(submission: ModuleType) -> None:
    """make_trainer's Trainer keeps the checkpoint of the epoch with the highest val_acc

    with early stopping taken out, the checkpoint
    `trainer.checkpoint_callback.best_model_path` names is from the epoch with the highest
    scripted `val_acc`; the lowest (mode `"min"`), the last (no `monitor`) and the lowest
    `val_loss` are named
    """
    with _scratch_dir() as scratch:
        trainer, module = _scripted_fit(submission, scratch / "run", KEEP_VAL_ACC,
                                        KEEP_VAL_LOSS, len(KEEP_VAL_ACC), early_stopping=False)
        kept = _kept_epoch(trainer)
    best = int(np.argmax(KEEP_VAL_ACC))
    if kept == best:
        return
    if not any(isinstance(c, ModelCheckpoint) for c in trainer.callbacks):
        fail("the Trainer has no ModelCheckpoint callback (checkpointing is turned off): add "
             "`ModelCheckpoint(monitor=\"val_acc\", mode=\"max\")` to its `callbacks`.")
    observed = (f"trained {len(KEEP_VAL_ACC)} epochs on a module whose validation logs "
                f"val_acc {KEEP_VAL_ACC}, with early stopping taken out, the best checkpoint "
                f"(`trainer.checkpoint_callback.best_model_path`)")
    if kept is None:
        fail(f"{observed} is missing: nothing was saved. Keep the best: "
             "`ModelCheckpoint(monitor=\"val_acc\", mode=\"max\")`.")
    observed += f" is from epoch {kept}; the highest val_acc is epoch {best}'s"
    hints = {len(KEEP_VAL_ACC) - 1: " That is the last epoch: without `monitor=\"val_acc\"` "
                                    "ModelCheckpoint keeps the latest.",
             int(np.argmin(KEEP_VAL_ACC)): " That is the lowest val_acc: pass `mode=\"max\"` "
                                           "(the default `\"min\"` suits losses).",
             int(np.argmin(KEEP_VAL_LOSS)): " That is the lowest val_loss: monitor `val_acc`."}
    fail(f"{observed}.{hints.get(kept, '')}")


@check(points=1)
def writes_only_under_default_root_dir(submission: ModuleType) -> None:
    """the Trainer writes its checkpoints and logs under default_root_dir only

    run in a fresh working directory with `default_root_dir="run"`, no file appears outside
    `run/`
    """
    with _scratch_dir() as scratch:
        root = scratch / "run"
        _scripted_fit(submission, root, KEEP_VAL_ACC, KEEP_VAL_LOSS, len(KEEP_VAL_ACC))
        outside = sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*")
                         if p.is_file() and root not in p.parents)
    if outside:
        fail(f"run with `default_root_dir=\"{root.name}\"` in a fresh working directory, your "
             f"Trainer also wrote {outside[:5]}. Leave out `dirpath=` (ModelCheckpoint then "
             "saves under default_root_dir), pass the `logger` the grader gives through "
             "`**trainer_kwargs`, and write nothing else.")


# ------------------------------------------------------------------------ devices


@contextlib.contextmanager
def _fake_cuda() -> Iterator[None]:
    """Make one CUDA device look available to Lightning, for building a Trainer only."""
    with mock.patch("torch.cuda.is_available", return_value=True), \
            mock.patch("torch.cuda.device_count", return_value=1):
        yield


@check(points=1)
def accelerator_is_honoured(submission: ModuleType) -> None:
    """accelerator="cpu" trains on the CPU even where a GPU exists, and "auto" picks the GPU

    with a CUDA device faked (`torch.cuda.is_available`, `device_count`) while the Trainer
    is built, never used: `"cpu"` gives a CPU Trainer, `"auto"` a CUDA one
    """
    picked = {}
    with _fake_cuda(), tempfile.TemporaryDirectory() as root:
        for accelerator in ("cpu", "auto"):
            trainer = _student_trainer(submission, root, max_epochs=1, patience=1,
                                       accelerator=accelerator)
            picked[accelerator] = trainer.strategy.root_device.type
    expected = {"cpu": "cpu", "auto": "cuda"}
    if picked == expected:
        return
    hint = (" Pass `accelerator=accelerator` to `L.Trainer`." if picked["cpu"] == picked["auto"]
            else "")
    fail(f"on a machine with a GPU, `make_trainer(..., accelerator=\"cpu\")` built a Trainer "
         f"on {picked['cpu']!r} and `accelerator=\"auto\"` one on {picked['auto']!r}; "
         f"expected 'cpu' and 'cuda'.{hint}")


class DeviceRecorder(Callback):
    """Notes where the parameters and the batch are at each training step."""

    def __init__(self):
        self.devices: set[tuple[str, str]] = set()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.devices.add((next(pl_module.parameters()).device.type, batch["X"].device.type))


@check(points=1, timeout_s=120, gpu_only=True)  # never measured on a CPU
def auto_accelerator_trains_on_the_gpu(submission: ModuleType) -> None:
    """with accelerator="auto" on a GPU machine, the module and its batches are on the GPU

    GPU only (`require_cuda()`; skipped, 0 of 0, elsewhere): with `"auto"` the parameters
    and batches are on CUDA at every training step; a tensor attribute left on the CPU is
    named
    """
    require_cuda()
    module = _student_module(submission)
    recorder = DeviceRecorder()
    with _scratch_dir() as scratch:
        trainer = _student_trainer(submission, str(scratch / "run"), max_epochs=1, patience=1,
                                   accelerator="auto")
        trainer.callbacks.append(recorder)
        try:
            _run("training your module with `accelerator=\"auto\"`", trainer.fit, module,
                 toy_loader(TOY_TRAIN_BATCHES, seed=1), toy_loader(TOY_VAL_BATCHES, seed=2))
        except RuntimeError as exc:
            if "device" not in str(exc):
                raise
            fail(f"with `accelerator=\"auto\"` on a machine with a GPU, your module raised "
                 f"{type(exc).__name__}: {str(exc)[:300]}. Lightning moves the module's "
                 "parameters and buffers to the GPU, but not a tensor kept as a plain "
                 "attribute (`self.w = torch.ones(2)`): register it with "
                 "`self.register_buffer(\"w\", torch.ones(2))`, or create tensors in a step "
                 "with `device=self.device`.")
    if recorder.devices == {("cuda", "cuda")}:
        return
    fail(f"with `accelerator=\"auto\"` on a machine with a GPU, the training steps ran with "
         f"(parameters, batch) on {sorted(recorder.devices)}; expected both on 'cuda'. Pass "
         "`accelerator=accelerator` to `L.Trainer` and let Lightning move the module and "
         "the batches (no `.to(...)` or `.cpu()` in your steps).")


# ------------------------------------------------------------------------- SST-2


def _sst2_loaders(seed: int) -> tuple[DataLoader, DataLoader, int]:
    features = load_sst2_features()
    rows = np.random.default_rng(seed).permutation(features.X_train.shape[0])
    rows = np.sort(rows[:SST2_TRAIN_EXAMPLES])
    train = batch_loader(features.X_train[rows], features.y_train[rows], SST2_BATCH,
                         shuffle=True, seed=seed)
    dev = batch_loader(features.X_dev, features.y_dev, SST2_BATCH, shuffle=False)
    torch.manual_seed(seed)
    return train, dev, features.vocab_size


def sst2_run(submission: ModuleType, seed: int = SST2_SEED) -> tuple[float, int]:
    """The student's module trained by the student's Trainer: (dev accuracy, epochs)."""
    train, dev, vocab_size = _sst2_loaders(seed)
    module = _student_module(submission, vocab_size, SST2_HIDDEN, SST2_LR)
    with _scratch_dir() as scratch:
        trainer = _student_trainer(submission, str(scratch / "run"), **SST2_RUN)
        _run("training on SST-2 with your Trainer", trainer.fit, module, train, dev)
    return _fraction_correct(module, dev), trainer.current_epoch


def calibration_run(submission: ModuleType, seed: int) -> tuple[float, str]:
    """The run the threshold is calibrated on (benchmarks/calibrate.py)."""
    accuracy, epochs = sst2_run(submission, seed)
    return accuracy, f"{epochs} epoch(s) of {SST2_RUN['max_epochs']}"


@check(points=3, threshold=SST2_MIN_DEV_ACCURACY)
def sst2_dev_accuracy(submission: ModuleType) -> None:
    """your module, trained by your Trainer, reaches the expected SST-2 dev accuracy

    the student's module (`hidden_dims=(8,)`, lr 0.01) trained by the student's Trainer
    (`max_epochs=1`, `patience=1`, `accelerator="cpu"`) on a seeded subset of 30,000
    training sentences, batch 256, reaches 0.775 dev accuracy
    """
    accuracy, epochs = sst2_run(submission)
    require_dev_accuracy(
        "a6_lightning.sst2_dev_accuracy", accuracy,
        observed=f"trained by your Trainer for {epochs} epoch(s) ({SST2_SETTING}), your "
                 "module reaches",
        reference="the reference reaches 0.80-0.82 over seeds 0-9")
