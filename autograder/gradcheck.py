"""Gradient checking: central differences in float64 and a readable report per parameter.

The checks use these helpers, and so can students in their own gradient-check cells:

    from autograder.gradcheck import compare_gradients, numerical_gradients, report_table
    expected = numerical_gradients(lambda p: loss_of(p), params)   # central differences
    print(report_table(compare_gradients(my_grads, expected, tolerance=1e-6)))

Every comparison names the parameter, its shape, the largest relative error
|a - b| / max(eps, |a| + |b|), the tolerance and the index where the error is worst.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import torch

# Below this size of |a| + |b| a difference is measured against REL_ERROR_EPS instead:
# two gradients of 1e-17 and 0 (rounding noise) must not count as 100 % apart.
REL_ERROR_EPS = 1e-8
# Central differences in float64: truncation error ~ step², rounding error ~ 1e-16 / step;
# 1e-6 keeps both near 1e-10 for the smooth, O(1) functions of the assignments.
FD_STEP = 1e-6


def as_float64_array(value: Any) -> np.ndarray:
    """A float64 numpy copy of a tensor, array, list or number (for comparisons only)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64).numpy().copy()
    return np.array(value, dtype=np.float64)


def rel_error(a: Any, b: Any, *, eps: float = REL_ERROR_EPS) -> np.ndarray:
    """Elementwise |a - b| / max(eps, |a| + |b|) in float64; NaN (a NaN on either side) is inf."""
    a, b = np.broadcast_arrays(as_float64_array(a), as_float64_array(b))
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(a - b) / np.maximum(eps, np.abs(a) + np.abs(b))
    both_same_inf = np.isinf(a) & (a == b)
    error = np.where(both_same_inf, 0.0, error)
    return np.where(np.isnan(error), np.inf, error)


def _float64_copy(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().to(torch.float64).clone()
    return np.array(x, dtype=np.float64)


def _central_differences(f: Callable[[], Any], x: Any, step: float) -> np.ndarray:
    """∂f/∂x by perturbing `x` (a float64 array or tensor) in place, one entry at a time."""
    flat = x.reshape(-1)
    grad = np.zeros(flat.shape[0], dtype=np.float64)
    for i in range(flat.shape[0]):
        original = float(flat[i])
        flat[i] = original + step
        plus = float(f())
        flat[i] = original - step
        minus = float(f())
        flat[i] = original
        grad[i] = (plus - minus) / (2 * step)
    return grad.reshape(tuple(x.shape))


def numerical_gradient(f: Callable[[Any], Any], x: Any, *, step: float = FD_STEP) -> np.ndarray:
    """Central-difference gradient of a scalar function at `x`, in float64.

    Inputs:
    - f: takes an array (or tensor) shaped like `x`, returns a number (or 0-d tensor).
    - x: numpy array or torch tensor; it is not modified (f gets a float64 copy).
    Returns: float64 numpy array of x's shape, (f(x + h e_i) - f(x - h e_i)) / 2h per entry.
    """
    point = _float64_copy(x)
    with torch.no_grad():
        return _central_differences(lambda: f(point), point, step)


def numerical_gradients(f: Callable[[dict], Any], params: Mapping[str, Any], *,
                        step: float = FD_STEP) -> dict[str, np.ndarray]:
    """Central-difference gradient of `f(params)` with respect to every entry of `params`.

    Inputs:
    - f: takes a dict shaped like `params`, returns a number (or 0-d tensor).
    - params: name -> numpy array or torch tensor; not modified (f gets float64 copies).
    Returns: name -> float64 numpy array of that parameter's shape.
    """
    point = {name: _float64_copy(value) for name, value in params.items()}
    with torch.no_grad():
        return {name: _central_differences(lambda: f(point), point[name], step)
                for name in point}


@dataclass(frozen=True)
class GradientComparison:
    """One parameter's gradient against an oracle's, reduced to what a student reads."""

    name: str
    shape: tuple[int, ...]
    expected_shape: tuple[int, ...]
    max_rel_error: float
    tolerance: float
    worst_index: tuple[int, ...]
    got: float
    expected: float

    @property
    def ok(self) -> bool:
        return self.shape == self.expected_shape and self.max_rel_error <= self.tolerance

    def __str__(self) -> str:
        if self.shape != self.expected_shape:
            return (f"{self.name}: gradient of shape {self.shape}, expected shape "
                    f"{self.expected_shape}")
        verdict = "ok" if self.ok else "TOO LARGE"
        return (f"{self.name} (shape {self.shape}): max relative error "
                f"{self.max_rel_error:.2g} at index {self.worst_index} (got {self.got:.6g}, "
                f"expected {self.expected:.6g}), tolerance {self.tolerance:g}: {verdict}")


def compare_gradient(name: str, got: Any, expected: Any, tolerance: float) -> GradientComparison:
    """Compare one gradient with the oracle's; the shapes must match exactly."""
    got_array, expected_array = as_float64_array(got), as_float64_array(expected)
    if got_array.shape != expected_array.shape:
        return GradientComparison(name, got_array.shape, expected_array.shape, float("inf"),
                                  tolerance, (), float("nan"), float("nan"))
    errors = rel_error(got_array, expected_array)
    if errors.size == 0:
        return GradientComparison(name, got_array.shape, expected_array.shape, 0.0, tolerance,
                                  (), float("nan"), float("nan"))
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(errors)), errors.shape))
    return GradientComparison(name, got_array.shape, expected_array.shape,
                              float(errors[worst]), tolerance, worst,
                              float(got_array[worst]), float(expected_array[worst]))


def compare_gradients(got: Mapping[str, Any], expected: Mapping[str, Any],
                      tolerance: float) -> list[GradientComparison]:
    """One comparison per parameter of `expected`, in its order (a missing one is an error)."""
    missing = [name for name in expected if name not in got]
    if missing:
        raise KeyError(f"no gradient for {', '.join(missing)}")
    return [compare_gradient(name, got[name], expected[name], tolerance) for name in expected]


def report_table(comparisons: list[GradientComparison]) -> str:
    """The comparisons as lines a student can read, one per parameter."""
    return "\n".join(str(c) for c in comparisons)


class GradientMismatch(AssertionError):
    """Some gradient differs from the oracle by more than the tolerance."""


def assert_gradients_close(got: Mapping[str, Any], expected: Mapping[str, Any],
                           tolerance: float, *, oracle: str = "finite differences") -> None:
    """Raise GradientMismatch listing every parameter whose gradient is off."""
    comparisons = compare_gradients(got, expected, tolerance)
    bad = [c for c in comparisons if not c.ok]
    if bad:
        raise GradientMismatch(f"gradients differ from {oracle}:\n" + report_table(bad))
