"""The grader's SST-2 setting, one for every assignment that trains on SST-2, so that
their thresholds are calibrated under the same seed, batches and optimiser; and the one
way an SST-2 check trains, measures and compares with its threshold."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader

from autograder.checks.registry import threshold
from autograder.checks.support import fail
from autograder.checks.toy_data import accuracy_from_logits
from autograder.data.sst2 import sst2_loaders

SST2_SEED = 0
SST2_BATCH_SIZE = 64
SST2_LR = 0.01
SST2_EPOCHS = 2  # for a fixed-length run (a2, a3)
SST2_SETTING = f"Adam, lr {SST2_LR}, batch {SST2_BATCH_SIZE}, seed {SST2_SEED}"


def seeded_sst2_loaders(seed: int = SST2_SEED) -> tuple[DataLoader, DataLoader, int]:
    """(train loader shuffled with `seed`, dev loader, vocabulary size), then torch
    seeded with `seed` so that the model built next starts the same way every time."""
    loaders = sst2_loaders(SST2_BATCH_SIZE, seed=seed)
    torch.manual_seed(seed)
    return loaders


def sst2_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=SST2_LR)


def trained_dev_accuracy(build_model: Callable[[int], nn.Module],
                         fit: Callable[[nn.Module, DataLoader, DataLoader, torch.optim.Optimizer],
                                       object],
                         seed: int = SST2_SEED) -> float:
    """Dev accuracy of `build_model(vocab_size)` after `fit(model, train_loader,
    dev_loader, optimizer)` in the grader's setting."""
    train_loader, dev_loader, vocab_size = seeded_sst2_loaders(seed)
    model = build_model(vocab_size)
    fit(model, train_loader, dev_loader, sst2_optimizer(model))
    return accuracy_from_logits(model, dev_loader)


def require_dev_accuracy(check_id: str, accuracy: float, *, observed: str, reference: str,
                         advice: str = "The other checks point at the likely cause.") -> None:
    """Fail the check when `accuracy` is under its threshold (the course's, else the
    calibrated one): '{observed} 0.7370 dev accuracy; at least 0.8 is expected
    ({reference}). {advice}'."""
    minimum = threshold(check_id)
    if accuracy < minimum:
        fail(f"{observed} {accuracy:.4f} dev accuracy; at least {minimum} is expected "
             f"({reference}). {advice}")
