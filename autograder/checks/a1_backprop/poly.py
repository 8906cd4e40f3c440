"""a1, part 1: gradient descent on a cubic fit of sin(x), gradients by hand in numpy.

The loss and gradient are compared in float64 with torch.autograd and central
differences; `fit_poly` runs with the grader's own helpers (numpy's `polyval` and
`polyvander`), so a bug in `poly_loss_and_grad` costs that function's checks only. None of
them is the solution's code, so they ship with the public checks.
"""
from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np
import torch

from autograder.checks.a1_backprop import check
from autograder.checks.a1_backprop.mismatch import describe_mismatch
from autograder.checks.registry import threshold
from autograder.checks.stand_ins import trusted_or_own
from autograder.checks.support import as_float, describe, fail, require, trusted
from autograder.gradcheck import as_float64_array, compare_gradient, numerical_gradient, rel_error

POLY_CASES = ((0, 50), (1, 7), (2, 1))  # (seed, number of points)
# Student and oracles all work in float64 and only the order of additions differs. The
# seeded cases are well conditioned (every value and gradient entry is at least 0.12 of
# the sum of its terms' magnitudes), so correct variants agree to ~1e-16, measured.
PREDICT_RTOL = 1e-12
POLY_LOSS_RTOL = 1e-10
POLY_AUTOGRAD_TOL = 1e-8
# Central differences (step 1e-6) of the reference loss agree with the true gradient to
# at most 8e-10 on these cases (measured); a factor-2 mistake is a relative error of 0.33.
POLY_FD_TOL = 1e-6

FIT_LR = 3e-3
FIT_STEPS = 2000
FIT_POINTS = 50  # a half-open grid on [-π, π): least-squares optimum 0.004445
FIT_SEEDS = (0, 1, 2)  # np.random.seed(...) before each call; the student seeds their start
# Measured with the reference fit_poly (uniform start in [-1, 1]⁴, lr 3e-3, 2000 steps):
# np.random seeds 0-9 end at min 0.004445, mean 0.004451, max 0.004463; the worst of the
# 16 corners of [-1, 1]⁴ ends at 0.004485, a standard-normal start at most 0.004487,
# starts of ±3 at most 0.004675. 0.005 sits 0.0005 (11 % of the optimum) above the worst
# start in [-1, 1]⁴. It asks for a good fit, not an exact step count: 1000 of the 2000
# steps (or half the step size) end at 0.0046-0.0080, 200 steps at 0.02-0.48, and
# steps along the gradient diverge.
FIT_MAX_LOSS = 0.005
FIT_OPTIMUM = 0.004445


def _poly_predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The cubic at every x, evaluated by numpy (`polyval` takes the constant term first,
    as the contract's w = [a, b, c, d] does)."""
    return np.polynomial.polynomial.polyval(x, w)


def _poly_loss(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((_poly_predict(w, x) - y) ** 2))


def _poly_autograd(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    weights = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    with torch.enable_grad():
        prediction = sum(weights[k] * xs**k for k in range(4))
        (grad,) = torch.autograd.grad(((prediction - ys) ** 2).mean(), weights)
    return grad.numpy()


def _poly_inputs(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(w (4,), x (n,), y (n,)) float64: w in [-1, 1]⁴, x in [-π, π], y standard normal."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, 4), rng.uniform(-np.pi, np.pi, n), rng.normal(size=n)


def _number(value: Any, what: str) -> float:
    """A number, a 0-d tensor, or a numpy scalar or one-element array."""
    if isinstance(value, np.ndarray) and value.size == 1:
        return float(value.reshape(()))
    return as_float(value, what)


def _vector(value: Any, what: str, shape: tuple[int, ...]) -> np.ndarray:
    try:
        array = as_float64_array(value)
    except (TypeError, ValueError):
        fail(f"{what} should be a numpy array of shape {shape}; got {describe(value)}.")
    if array.shape != shape:
        fail(f"{what} should have shape {shape}; got shape {array.shape}.")
    return array


def _student_loss_and_grad(submission: ModuleType, w, x, y) -> tuple[Any, Any]:
    result = require(submission, "poly_loss_and_grad")(w.copy(), x.copy(), y.copy())
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"`poly_loss_and_grad` should return a pair (loss, grad); got {describe(result)}.")
    return result[0], result[1]


@check(points=1)
def poly_predict_values(submission: ModuleType) -> None:
    """poly_predict evaluates a + b x + c x² + d x³ at every x"""
    poly_predict = require(submission, "poly_predict")
    w, x, _ = _poly_inputs(seed=0, n=7)
    got = _vector(poly_predict(w.copy(), x.copy()), "`poly_predict(w, x)` for x of shape (7,)",
                  x.shape)
    errors = rel_error(got, _poly_predict(w, x))
    worst = int(np.argmax(errors))
    if errors[worst] <= PREDICT_RTOL:
        return
    reversed_order = np.allclose(got, _poly_predict(w[::-1], x), rtol=PREDICT_RTOL)
    hint = (" That is the polynomial with the coefficients in reverse order: w[0] is the "
            "constant a and w[3] multiplies x³.") if reversed_order else ""
    fail(f"`poly_predict(w, x)` with w = {np.round(w, 4).tolist()} returns {got[worst]:.6g} at "
         f"x = {x[worst]:.4g} (index {worst}); expected a + b·x + c·x² + d·x³ = "
         f"{_poly_predict(w, x)[worst]:.6g} (relative error {errors[worst]:.2g}, tolerance "
         f"{PREDICT_RTOL:g}).{hint}")


@check(points=1)
def poly_loss_value(submission: ModuleType) -> None:
    """poly_loss_and_grad returns the mean squared error as its loss"""
    with trusted(submission, poly_predict=_poly_predict):
        for seed, n in POLY_CASES:
            w, x, y = _poly_inputs(seed, n)
            loss, _ = _student_loss_and_grad(submission, w, x, y)
            got = _number(loss, "the loss returned by `poly_loss_and_grad`")
            expected = _poly_loss(w, x, y)
            if math.isclose(got, expected, rel_tol=POLY_LOSS_RTOL):
                continue
            known = {expected * n: "the sum of squared errors; divide by the number of points",
                     expected / 2: "half the mean squared error; drop the 1/2",
                     math.sqrt(expected): "the root of the mean squared error; do not take "
                                          "the square root"}
            hint = next((f" That is {what}." for value, what in known.items()
                         if math.isclose(got, value, rel_tol=POLY_LOSS_RTOL)), "")
            fail(f"on {n} points (seed {seed}) the loss is {got:.6g}; expected "
                 f"mean((poly_predict(w, x) - y)**2) = {expected:.6g}.{hint}")


def _scale_hint(got: np.ndarray, expected: np.ndarray, n: int) -> str:
    """Name the bug when the gradient is the right one times a constant."""
    scale = float(got @ expected / (expected @ expected))
    if rel_error(scale * expected, got).max() > POLY_FD_TOL:
        return ("∂L/∂w_k = (2/N) Σᵢ (ŷᵢ - yᵢ)·xᵢᵏ; index k is the coefficient of xᵏ, so "
                "check that term's power of x.")
    known = {0.5: "half the true gradient: the derivative of (ŷ - y)² is 2(ŷ - y); the "
                  "factor 2 is missing",
             2.0: "twice the true gradient: the factor 2 is counted twice",
             -1.0: "the true gradient with the wrong sign: the error is ŷ - y, not y - ŷ",
             float(n): f"{n} times the true gradient: it sums over the {n} points where "
                       "the loss takes the mean; divide by N",
             1.0 / n: f"the true gradient divided by {n} once too often"}
    for value, what in known.items():
        if math.isclose(scale, value, rel_tol=1e-6):
            return f"Your gradient is {what}."
    return f"Your gradient is {scale:.4g} times the true one; look for a missing constant factor."


@check(points=2)
def poly_gradient(submission: ModuleType) -> None:
    """poly_loss_and_grad's gradient matches torch.autograd and finite differences"""
    with trusted(submission, poly_predict=_poly_predict):
        for seed, n in POLY_CASES:
            w, x, y = _poly_inputs(seed, n)
            _, grad = _student_loss_and_grad(submission, w, x, y)
            got = _vector(grad, "the gradient returned by `poly_loss_and_grad`", (4,))
            differences = numerical_gradient(lambda v, x=x, y=y: _poly_loss(v, x, y), w)
            oracles = (("torch.autograd", _poly_autograd(w, x, y), POLY_AUTOGRAD_TOL),
                       ("central finite differences", differences, POLY_FD_TOL))
            for oracle, expected, tolerance in oracles:
                comparison = compare_gradient("w", got, expected, tolerance)
                if not comparison.ok:
                    where = f"{n} points (seed {seed})"
                    fail(f"`poly_loss_and_grad` gradient for "
                         f"{describe_mismatch(comparison, where, oracle)} "
                         f"{_scale_hint(got, expected, n)}")


@check(points=2, threshold=FIT_MAX_LOSS)
def fit_poly_fits_sine(submission: ModuleType) -> None:
    """fit_poly fits sin(x) on [-π, π] by gradient descent"""
    fit_poly = require(submission, "fit_poly")
    x = np.linspace(-np.pi, np.pi, FIT_POINTS, endpoint=False)
    y = np.sin(x)
    maximum = threshold("a1_backprop.fit_poly_fits_sine")
    helpers = {"poly_predict": _poly_predict,
               "poly_loss_and_grad": trusted_or_own(submission, "poly", "poly_loss_and_grad")}
    with trusted(submission, **helpers), np.errstate(all="ignore"):
        for seed in FIT_SEEDS:
            np.random.seed(seed)
            w = _vector(fit_poly(x.copy(), y.copy(), FIT_LR, FIT_STEPS),
                        "the weights returned by `fit_poly`", (4,))
            loss = _poly_loss(w, x, y)
            if loss <= maximum:
                continue
            hint = ("The weights diverged: step against the gradient, `w = w - lr * grad`, "
                    "with the lr given." if not math.isfinite(loss) else
                    "Check that each of the `steps` steps moves w by `-lr * grad` (using "
                    "`poly_loss_and_grad`), from a start in [-1, 1]⁴.")
            fail(f"`fit_poly(x, y, lr={FIT_LR}, steps={FIT_STEPS})` on {FIT_POINTS} points of "
                 f"sin(x) in [-π, π), after np.random.seed({seed}), returns w = "
                 f"{np.round(w, 4).tolist()} with loss {loss:.4g}; expected at most {maximum} "
                 f"(the best cubic reaches {FIT_OPTIMUM}). {hint}")
