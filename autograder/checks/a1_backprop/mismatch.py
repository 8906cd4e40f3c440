"""The one wording of a gradient mismatch, shared by a1's numpy and torch parts."""
from __future__ import annotations

from autograder.gradcheck import GradientComparison


def describe_mismatch(c: GradientComparison, where: str, oracle: str) -> str:
    """'W1 (shape (4, 5)) on …  differs from …: max relative error … at index …, tolerance …'"""
    return (f"{c.name} (shape {c.expected_shape}) on {where} differs from {oracle}: max "
            f"relative error {c.max_rel_error:.2g} at index {c.worst_index} (got {c.got:.6g}, "
            f"expected {c.expected:.6g}), tolerance {c.tolerance:g}.")
