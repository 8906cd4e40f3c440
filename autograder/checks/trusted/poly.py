"""What a1's `fit_poly` check runs in place of the student's `poly_loss_and_grad`."""
from __future__ import annotations

import numpy as np


def poly_loss_and_grad(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """`poly_loss_and_grad` for the student's `fit_poly` to call, 6,000 times a check (autograd
    per call makes the check ~10 times slower, measured): the loss, and its gradient through
    numpy's Vandermonde matrix V (column k is xᵏ), ∂/∂w mean((V w - y)²) = 2 Vᵀ(V w - y) / N."""
    vander = np.polynomial.polynomial.polyvander(x, 3)
    error = vander @ w - y
    return float(np.mean(error**2)), 2 * vander.T @ error / len(x)
