"""The grader's SST-2 setting, one for every assignment that trains on SST-2, so that
their thresholds are calibrated under the same seed, batches and optimiser."""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader

from autograder.data.sst2 import sst2_loaders

SST2_SEED = 0
SST2_BATCH_SIZE = 64
SST2_LR = 0.01
SST2_SETTING = f"Adam, lr {SST2_LR}, batch {SST2_BATCH_SIZE}, seed {SST2_SEED}"


def seeded_sst2_loaders(seed: int = SST2_SEED) -> tuple[DataLoader, DataLoader, int]:
    """(train loader shuffled with `seed`, dev loader, vocabulary size), then torch
    seeded with `seed` so that the model built next starts the same way every time."""
    loaders = sst2_loaders(SST2_BATCH_SIZE, seed=seed)
    torch.manual_seed(seed)
    return loaders


def sst2_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=SST2_LR)
