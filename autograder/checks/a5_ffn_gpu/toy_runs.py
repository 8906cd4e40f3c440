"""What a5's checks of `train_model` and `predict` run on, shared by its parts: the
seeded trusted net (`checks.stand_ins`; the student's own in the student kit, so a bug in
their net costs its own checks only), small seeded data, and the grader's own measure of
accuracy, which the SST-2 run uses too.
"""
from __future__ import annotations

from types import ModuleType

import torch
from torch import nn
from torch.utils.data import DataLoader

from autograder.checks.stand_ins import trusted_or_own
from autograder.checks.toy_data import TOY_VOCAB, toy_split_loaders

# Toy runs of train_model and predict: the trusted net on toy_data's noisy linear rule.
TOY_TRAIN_BATCHES = [8, 8, 8, 8, 4]
TOY_DEV_BATCHES = [8, 8, 8, 8, 8]
TOY_LR = 0.01


def toy_net(submission: ModuleType, dropout: float = 0.0, seed: int = 0) -> nn.Module:
    """The seeded net `train_model` and `predict` are tested on: the trusted one, else (the
    student kit) the student's own `FeedforwardNet`."""
    net_class = trusted_or_own(submission, "feedforward", "OracleFeedforwardNet",
                               own="FeedforwardNet")
    torch.manual_seed(seed)
    return net_class(TOY_VOCAB, [8], 2, dropout)


def toy_loaders() -> tuple[DataLoader, DataLoader]:
    return toy_split_loaders(TOY_TRAIN_BATCHES, TOY_DEV_BATCHES, seed=0)


def toy_accuracy(model: nn.Module, loader, device: torch.device | str = "cpu") -> float:
    """The fraction of `loader` the model classifies right, measured by the grader."""
    was_training = model.training
    model.to(device).eval()
    correct = total = 0
    with torch.no_grad():
        for batch in loader:
            predicted = model(batch["X"].to(device)).argmax(dim=1).cpu()
            correct += int((predicted == batch["y"]).sum())
            total += len(batch["y"])
    model.train(was_training)
    return correct / total
