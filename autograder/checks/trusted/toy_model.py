"""Trusted versions of a2's `BinaryLogisticRegression`, `train_epoch` and `evaluate` (a2-a4)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from autograder.checks.toy_data import accuracy_from_logits


class OracleLogisticRegression(nn.Module):
    """The a2 contract, trusted: `forward(X, y=None) -> dict`."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.linear = nn.Linear(vocab_size, 1)

    def forward(self, X: torch.Tensor, y: torch.Tensor | None = None) -> dict:
        logits = self.linear(X).squeeze(-1)
        probs = torch.sigmoid(logits)
        loss = None if y is None else F.binary_cross_entropy_with_logits(logits, y.float())
        return {"py_logits": logits, "py_probs": probs, "py": (probs > 0.5).long(), "loss": loss}


def oracle_train_epoch(model, loader, optimizer, device="cpu") -> float:
    """Run in place of the student's `train_epoch` where their model or `train` is judged."""
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
    """Run in place of the student's `evaluate` where their `train` is judged."""
    return accuracy_from_logits(model, loader)
