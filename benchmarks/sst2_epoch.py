"""Seconds to build SST-2 features and per training epoch of logistic regression.

Compares the kit's loader (dense batches sliced from the sparse matrix) with the
lecture's per-row densifying Dataset, in the same process, so the ratio holds on
a noisy machine.

    python benchmarks/sst2_epoch.py [--batch-size 64] [--epochs 2]
"""
from __future__ import annotations

import time

import click
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from autograder.data.manifest import require_dataset
from autograder.data.sst2 import _vectorize, batch_loader, load_sst2_features


class PerRowDataset(Dataset):
    """The lecture's idiom: densify one row per item."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        return {"X": torch.from_numpy(np.asarray(self.X[i].todense())[0]),
                "y": torch.tensor(self.y[i])}


def epoch_seconds(loader, vocab_size: int) -> float:
    torch.manual_seed(0)
    model = nn.Linear(vocab_size, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    start = time.perf_counter()
    for batch in loader:
        optimizer.zero_grad()
        logits = model(batch["X"]).squeeze(-1)
        F.binary_cross_entropy_with_logits(logits, batch["y"].float()).backward()
        optimizer.step()
    return time.perf_counter() - start


@click.command()
@click.option("--batch-size", default=64, show_default=True)
@click.option("--epochs", default=2, show_default=True)
def main(batch_size: int, epochs: int) -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    _vectorize(require_dataset("sst2"))
    click.echo(f"read + vectorize (no cache): {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    features = load_sst2_features()
    click.echo(f"load features (cached):      {time.perf_counter() - start:.2f} s")
    kit = batch_loader(features.X_train, features.y_train, batch_size, shuffle=True)
    lecture = DataLoader(PerRowDataset(features.X_train, features.y_train),
                         batch_size=batch_size, shuffle=True)
    for name, loader in (("kit loader", kit), ("per-row densify (lecture)", lecture)):
        times = [epoch_seconds(loader, features.vocab_size) for _ in range(epochs)]
        click.echo(f"{name:27s} s/epoch: " + ", ".join(f"{t:.2f}" for t in times))


if __name__ == "__main__":
    main()
