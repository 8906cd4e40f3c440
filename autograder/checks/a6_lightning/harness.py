"""a6's harness: the student's module and Trainer built, and Lightning run, for every part.

Lightning's own exceptions are verdicts on the student's configuration, not grader
errors; its notices are silenced, and its log lines kept off stderr; each run gets a
fresh working directory. The toy constants are the defaults of the module the checks
build.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path
from types import ModuleType
from typing import Iterator

import lightning as L
import torch

from autograder.checks.support import describe, fail, require
from autograder.checks.toy_data import TOY_VOCAB
from autograder.student_code import is_student_file

NUM_CLASSES = 2
LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")
TOY_HIDDEN = (8,)
TOY_LR = 0.0123  # unusual on purpose: an optimiser with another lr ignored the argument
# Toy batches for the logging checks: equal sizes, so that the mean of per-step values
# is the epoch's value whatever the weighting.
TOY_TRAIN_BATCHES = [8, 8, 8]
TOY_VAL_BATCHES = [10, 10, 10, 10]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
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


def run_lightning(what: str, action, *args, **kwargs):
    """Call into Lightning; an exception raised by Lightning itself (no student code in
    the traceback) is a verdict on the student's configuration, not a grader error."""
    try:
        with quiet():
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


def student_trainer(submission: ModuleType, root: str, *, max_epochs: int, patience: int,
                    accelerator: str = "cpu") -> L.Trainer:
    make_trainer = require(submission, "make_trainer")
    trainer = run_lightning(f"building `make_trainer({max_epochs}, {patience}, "
                            f"accelerator={accelerator!r}, ...)`", make_trainer, max_epochs,
                            patience, accelerator=accelerator, default_root_dir=root,
                            logger=False, enable_progress_bar=False, devices=1)
    if not isinstance(trainer, L.Trainer):
        hint = (" It is a `pytorch_lightning.Trainer`: import `lightning as L` and use "
                "`L.Trainer`." if type(trainer).__module__.startswith("pytorch_lightning")
                else "")
        fail(f"`make_trainer` should return a `lightning.Trainer`; got "
             f"{describe(trainer)}.{hint}")
    return trainer


def student_module(submission: ModuleType, input_dim: int = TOY_VOCAB,
                   hidden_dims: tuple[int, ...] = TOY_HIDDEN, lr: float = TOY_LR):
    module = require(submission, "LitSentimentClassifier")(input_dim, hidden_dims=hidden_dims,
                                                           lr=lr)
    if not isinstance(module, L.LightningModule):
        bases = [f"{b.__module__}.{b.__name__}" for b in type(module).__mro__[1:3]]
        fail("`LitSentimentClassifier` should subclass `lightning.LightningModule` (`import "
             "lightning as L`, then `class LitSentimentClassifier(L.LightningModule)`); its "
             f"bases are {bases}.")
    return module


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A fresh working directory for a run, removed afterwards."""
    previous = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            yield Path(scratch)
        finally:
            os.chdir(previous)


def fraction_correct(module, loader) -> float:
    module.eval()
    correct = total = 0
    with torch.no_grad():
        for batch in loader:
            correct += int((module(batch["X"]).argmax(dim=1) == batch["y"]).sum())
            total += len(batch["y"])
    return correct / total
