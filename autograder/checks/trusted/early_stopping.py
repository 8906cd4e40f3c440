"""Trusted version of a4's `EarlyStopping` (checks/a4_early_stopping)."""
from __future__ import annotations

import math


class TrustedEarlyStopping:
    """The contract's rule: improvement is strictly greater; stop once
    intervals_since_improvement > patience."""

    def __init__(self, patience: int = 3):
        self.patience = patience
        self.best_score = -math.inf
        self.intervals_since_improvement = 0

    def step(self, dev_acc: float) -> bool:
        score = float(dev_acc)
        if score > self.best_score:
            self.best_score, self.intervals_since_improvement = score, 0
        else:
            self.intervals_since_improvement += 1
        return self.intervals_since_improvement > self.patience
