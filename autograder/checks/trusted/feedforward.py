"""Stands in for a5's `FeedforwardNet`: the net a5 tests `train_model` and `predict` on."""
from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn


class OracleFeedforwardNet(nn.Module):
    """The contract's net, trusted: Linear, ReLU, Dropout per hidden layer, then logits."""

    def __init__(self, input_dim: int, hidden_dims: list[int], num_classes: int = 2,
                 dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        for width_in, width_out in pairwise([input_dim, *hidden_dims]):
            layers += [nn.Linear(width_in, width_out), nn.ReLU(), nn.Dropout(dropout)]
        layers.append(nn.Linear([input_dim, *hidden_dims][-1], num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layers(X)
