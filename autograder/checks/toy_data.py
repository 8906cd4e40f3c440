"""Small seeded data, and the model, for checks that test training code.

Checks of `train_epoch`, `evaluate` and `train` run them on a trusted model where the
kit has one (`checks.stand_ins`), so a bug in the student's model cannot cost points in
a check of their loop; `accuracy_from_logits` is the grader's own measurement.
"""
from __future__ import annotations

from types import ModuleType

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.utils.data import DataLoader

from autograder.checks.stand_ins import trusted_or_own
from autograder.data.sst2 import batch_loader

TOY_VOCAB = 20


def toy_bow(n: int, *, vocab: int = TOY_VOCAB, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(X counts (n, vocab) float32, y labels (n,) int64) from a noisy linear rule."""
    rng = np.random.default_rng(seed)
    X = rng.poisson(0.6, size=(n, vocab)).astype(np.float32)
    direction = rng.normal(size=vocab)
    y = (X @ direction + rng.normal(scale=0.5, size=n) > 0).astype(np.int64)
    return torch.from_numpy(X), torch.from_numpy(y)


def toy_loader(batch_sizes: list[int], *, vocab: int = TOY_VOCAB, seed: int = 0) -> DataLoader:
    """Batches of exactly `batch_sizes` (all but the last equal), in a fixed order."""
    X, y = toy_bow(sum(batch_sizes), vocab=vocab, seed=seed)
    assert len(set(batch_sizes[:-1])) <= 1 and batch_sizes[-1] <= batch_sizes[0]
    return batch_loader(sp.csr_matrix(X.numpy()), y.numpy(), batch_sizes[0], shuffle=False)


def loop_model(submission: ModuleType, vocab_size: int = TOY_VOCAB, *, seed: int = 0) -> nn.Module:
    """The seeded logistic regression under which the student's loops are tested: the
    trusted one in the instructor's kit, else the student's own `BinaryLogisticRegression`
    (a2's contract; a3's and a4's stubs give it)."""
    model_class = trusted_or_own(submission, "toy_model", "OracleLogisticRegression",
                                 own="BinaryLogisticRegression")
    torch.manual_seed(seed)
    return model_class(vocab_size)


def accuracy_from_logits(model: nn.Module, loader) -> float:
    """Dev accuracy measured by the grader: the sign of `py_logits` against `y`."""
    was_training = model.training
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for batch in loader:
            logits = model(batch["X"])["py_logits"].reshape(-1)
            correct += int(((logits > 0).long() == batch["y"]).sum())
            total += len(batch["y"])
    model.train(was_training)
    return correct / total


def toy_split_loaders(train_batches: list[int], dev_batches: list[int], *, seed: int = 0,
                      label_noise: float = 0.0) -> tuple[DataLoader, DataLoader]:
    """(train, dev) loaders drawn from one noisy linear rule, in a fixed order, with a
    fraction `label_noise` of the training labels flipped: a model that fits the flipped
    labels loses dev accuracy, the curve early stopping is for."""
    n_train = sum(train_batches)
    X, y = toy_bow(n_train + sum(dev_batches), seed=seed)
    y_train = y[:n_train].clone()
    flipped = np.random.default_rng(seed).choice(n_train, round(label_noise * n_train),
                                                 replace=False)
    y_train[flipped] = 1 - y_train[flipped]
    return (_fixed_batches(X[:n_train], y_train, train_batches),
            _fixed_batches(X[n_train:], y[n_train:], dev_batches))


def _fixed_batches(X: torch.Tensor, y: torch.Tensor, batch_sizes: list[int]) -> DataLoader:
    assert len(set(batch_sizes[:-1])) <= 1 and batch_sizes[-1] <= batch_sizes[0]
    return batch_loader(sp.csr_matrix(X.numpy()), y.numpy(), batch_sizes[0], shuffle=False)
