"""a6, part 5: the student's module, trained by the student's Trainer on SST-2.

One seeded epoch over a subset of the training sentences, small enough for a grading on
2 CPU cores; the dev accuracy is held to a threshold calibrated on the reference
(`calibration_run`, benchmarks/calibrate.py).
"""
from __future__ import annotations

from types import ModuleType

import numpy as np
import torch
from torch.utils.data import DataLoader

from autograder.checks.a6_lightning import check
from autograder.checks.a6_lightning.harness import (
    fraction_correct,
    run_lightning,
    scratch_dir,
    student_module,
    student_trainer,
)
from autograder.checks.sst2_setting import SST2_LR, SST2_SEED, require_dev_accuracy
from autograder.data.sst2 import batch_loader, load_sst2_features

# SST-2 run: the shared seed and lr (sst2_setting); one epoch over a seeded subset of
# 30,000 training sentences in batches of 256, one hidden layer of 8 units, so that a
# grading fits in 30 s on 2 CPU cores (Lightning adds about 1 ms per step; the dense
# 13,774-wide first layer costs the rest). One epoch leaves early stopping out of this
# check: the scripted checks (scripted_trainer) judge it.
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
    module = student_module(submission, vocab_size, SST2_HIDDEN, SST2_LR)
    with scratch_dir() as scratch:
        trainer = student_trainer(submission, str(scratch / "run"), **SST2_RUN)
        run_lightning("training on SST-2 with your Trainer", trainer.fit, module, train, dev)
    return fraction_correct(module, dev), trainer.current_epoch


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
