"""Checks for a1: gradients by hand, against torch.autograd and central differences.

Three independent parts, as in the lectures, one module each: gradient descent on a
cubic fit of sin(x) in numpy (`poly`), backpropagation through a 2-layer sigmoid
network without autograd (`mlp`), and a scalar autograd engine, `Value` (`value`).
Oracles run in float64 on seeded inputs; a check of one function swaps the student's
helpers for trusted ones, so a bug is charged to its own check only.
"""
from __future__ import annotations

import importlib

from autograder.checks.registry import checker

check = checker("a1_backprop")

PARTS = ("poly", "mlp", "value")  # imported in this order, the order the checks run in
for _part in PARTS:
    importlib.import_module(f"{__name__}.{_part}")
