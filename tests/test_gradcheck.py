"""The gradient-check helpers catch a wrong gradient, pass a right one, and say where."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.gradcheck import (
    FD_STEP,
    REL_ERROR_EPS,
    GradientMismatch,
    assert_gradients_close,
    compare_gradient,
    compare_gradients,
    numerical_gradient,
    numerical_gradients,
    rel_error,
    report_table,
)

FD_TOL = 1e-7


def _f(x):
    """A smooth scalar function of an array, with a known gradient."""
    return (np.sin(x) * x**2).sum()


def _df(x):
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


def test_rel_error_is_elementwise_and_symmetric():
    a, b = np.array([1.0, 2.0, -3.0]), np.array([1.0, 1.0, 3.0])
    np.testing.assert_allclose(rel_error(a, b), [0.0, 1 / 3, 1.0])
    np.testing.assert_allclose(rel_error(b, a), rel_error(a, b))


def test_rel_error_floors_the_denominator_for_tiny_values():
    # rounding noise around zero is not a 100 % error
    assert rel_error(1e-17, 0.0) == pytest.approx(1e-17 / REL_ERROR_EPS)
    assert rel_error(1e-17, 0.0) < 1e-8


def test_rel_error_takes_tensors_and_counts_nan_as_infinite():
    errors = rel_error(torch.tensor([1.0, float("nan")]), np.array([1.0, 1.0]))
    assert errors.dtype == np.float64
    assert errors[0] == 0.0 and errors[1] == np.inf


def test_numerical_gradient_matches_the_analytic_gradient_in_float64():
    x = np.random.default_rng(0).normal(size=(3, 4))
    before = x.copy()
    numeric = numerical_gradient(_f, x)
    assert numeric.dtype == np.float64 and numeric.shape == x.shape
    assert rel_error(numeric, _df(x)).max() < FD_TOL
    np.testing.assert_array_equal(x, before)  # the caller's array is left alone


def test_numerical_gradient_works_on_float32_tensors_in_float64():
    x = torch.randn(5, generator=torch.Generator().manual_seed(1))
    numeric = numerical_gradient(lambda t: (t.sin() * t**2).sum(), x)
    assert x.dtype == torch.float32
    assert rel_error(numeric, _df(x.double().numpy())).max() < FD_TOL


def test_numerical_gradients_agree_with_autograd_for_every_parameter():
    gen = torch.Generator().manual_seed(2)
    params = {"W": torch.randn(3, 2, generator=gen, dtype=torch.float64),
              "b": torch.randn(3, generator=gen, dtype=torch.float64)}
    X = torch.randn(4, 2, generator=gen, dtype=torch.float64)

    def loss(p):
        return torch.sigmoid(X @ p["W"].T + p["b"]).pow(2).mean()

    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    loss(leaves).backward()
    numeric = numerical_gradients(loss, params)
    assert set(numeric) == {"W", "b"}
    for name in params:
        assert compare_gradient(name, leaves[name].grad, numeric[name], FD_TOL).ok


def test_a_right_gradient_passes():
    x = np.linspace(-2, 2, 6)
    comparison = compare_gradient("w", _df(x), numerical_gradient(_f, x), FD_TOL)
    assert comparison.ok
    assert comparison.max_rel_error < FD_TOL
    assert str(comparison).endswith(": ok")


def test_a_wrong_gradient_fails_and_the_report_points_at_the_worst_entry():
    x = np.random.default_rng(3).normal(size=(2, 3))
    wrong = _df(x)
    wrong[1, 2] *= 2.0  # the factor-2 kind of mistake, in one entry
    wrong[0, 1] *= 1.01  # a smaller one elsewhere
    comparison = compare_gradient("W1", wrong, numerical_gradient(_f, x), FD_TOL)
    assert not comparison.ok
    assert comparison.worst_index == (1, 2)
    assert comparison.max_rel_error == pytest.approx(1 / 3, rel=1e-6)
    assert comparison.got == pytest.approx(wrong[1, 2])
    line = str(comparison)
    for fragment in ("W1", "shape (2, 3)", "max relative error 0.33", "index (1, 2)",
                     f"tolerance {FD_TOL:g}", "TOO LARGE"):
        assert fragment in line


def test_a_gradient_of_the_wrong_shape_is_reported_as_such():
    comparison = compare_gradient("b1", np.zeros((1, 4)), np.zeros(4), FD_TOL)
    assert not comparison.ok
    assert "shape (1, 4), expected shape (4,)" in str(comparison)


def test_compare_gradients_reports_one_line_per_parameter_in_order():
    expected = {"W": np.ones((2, 2)), "b": np.ones(2)}
    got = {"b": np.ones(2), "W": np.array([[1.0, 1.0], [1.0, 3.0]])}
    comparisons = compare_gradients(got, expected, FD_TOL)
    assert [c.name for c in comparisons] == ["W", "b"]
    assert [c.ok for c in comparisons] == [False, True]
    assert report_table(comparisons).splitlines()[0].startswith("W (shape (2, 2))")


def test_compare_gradients_names_a_missing_gradient():
    with pytest.raises(KeyError, match="b2"):
        compare_gradients({"W2": np.ones(1)}, {"W2": np.ones(1), "b2": np.ones(1)}, FD_TOL)


def test_assert_gradients_close_raises_naming_only_the_wrong_parameters():
    expected = {"W": np.ones(3), "b": np.ones(1)}
    assert_gradients_close({"W": np.ones(3), "b": np.ones(1)}, expected, FD_TOL)
    with pytest.raises(GradientMismatch) as failure:
        assert_gradients_close({"W": np.ones(3), "b": np.full(1, 0.5)}, expected, FD_TOL,
                               oracle="torch.autograd")
    message = str(failure.value)
    assert "torch.autograd" in message and "b (shape (1,))" in message
    assert "W (shape" not in message
    assert isinstance(failure.value, AssertionError)


def test_the_default_step_keeps_central_differences_accurate():
    # truncation ~ step², rounding ~ 1e-16 / step: both well under the tolerances used
    assert 1e-7 <= FD_STEP <= 1e-4
