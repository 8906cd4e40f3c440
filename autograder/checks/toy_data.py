"""Small seeded data and a trusted model for checks that test training code.

Checks of `train_epoch`, `evaluate` and `train` run them on this oracle model, so
a bug in the student's model cannot cost points in a check of their loop.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

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


class OracleLogisticRegression(nn.Module):
    """The a2 contract, trusted: `forward(X, y=None) -> dict`."""

    def __init__(self, vocab_size: int = TOY_VOCAB, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.linear = nn.Linear(vocab_size, 1)

    def forward(self, X: torch.Tensor, y: torch.Tensor | None = None) -> dict:
        logits = self.linear(X).squeeze(-1)
        probs = torch.sigmoid(logits)
        loss = None if y is None else F.binary_cross_entropy_with_logits(logits, y.float())
        return {"py_logits": logits, "py_probs": probs, "py": (probs > 0.5).long(), "loss": loss}


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


def oracle_train_epoch(model, loader, optimizer, device="cpu") -> float:
    model.train()
    losses = []
    for batch in loader:
        optimizer.zero_grad()
        loss = model(batch["X"].to(device), batch["y"].to(device))["loss"]
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


def oracle_evaluate(model, loader, device="cpu") -> float:
    return accuracy_from_logits(model, loader)


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
