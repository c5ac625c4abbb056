"""Blocked LU (mne_cli.bem.lu) against LAPACK's one-call dgetrf/dgetrs.

The blocked path runs only above 16384 unknowns in use (a 2 GiB matrix); here
the limit and the panel width are lowered so that small matrices take it
with several panels, a last partial panel and interchanges across panels.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import lapack

from mne_cli.bem import lu
from mne_cli.bem.solution import factor_bem_system, make_bem_solution
from mne_cli.errors import GeometryError

from .bem_helpers import three_layer_head


def _use_small_panels(monkeypatch):
    monkeypatch.setattr(lu, "ONE_CALL_LIMIT", 50)
    monkeypatch.setattr(lu, "_PANEL", 48)


@pytest.fixture
def small_panels(monkeypatch):
    _use_small_panels(monkeypatch)


@pytest.mark.parametrize("n", [51, 300, 577])
def test_blocked_factors_equal_lapack(small_panels, n):
    """Same pivots as dgetrf and the same factors up to rounding (1e-12 of |A| ~ 4).

    Partial pivoting picks the same rows panel by panel as LAPACK's blocked
    dgetrf; the factors differ only by the order of the update sums.
    """
    a = np.random.default_rng(n).standard_normal((n, n))
    reference, reference_piv, info = lapack.dgetrf(a)
    assert info == 0
    factors, piv = lu.lu_factor(np.asfortranarray(a), "test")
    np.testing.assert_array_equal(piv, reference_piv)
    assert np.abs(factors - reference).max() < 1e-12 * np.abs(reference).max() * n


@pytest.mark.parametrize("n", [51, 300, 577])
def test_blocked_solve_has_lapack_residuals(small_panels, n):
    """A x = b with residuals at rounding level, like dgetrs (measured 1e-14 ... 1e-12)."""
    rng = np.random.default_rng(n + 1)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, 5))
    factors = lu.lu_factor(np.asfortranarray(a), "test")
    x = lu.lu_solve(factors, np.asfortranarray(b))
    scale = np.abs(a).sum(axis=1).max() * np.abs(x).max()
    assert np.abs(a @ x - b).max() < 1e-13 * scale * n


def test_blocked_bem_system_gives_the_solution_products(monkeypatch):
    """The factored 3-layer BEM (with the isolated-skull step) through the blocked path
    equals G times LAPACK's explicit inverse within 1e-11 (as the one-call path does)."""
    surfaces = three_layer_head(2)
    explicit = make_bem_solution(surfaces).solution
    _use_small_panels(monkeypatch)
    factored = factor_bem_system(surfaces)
    coeff = np.random.default_rng(5).standard_normal((30, len(explicit)))
    product = factored.factors.left_multiply(coeff)
    expected = coeff @ explicit
    assert np.abs(product - expected).max() <= 1e-11 * np.abs(expected).max()


def test_singular_matrix_is_a_geometry_error(small_panels):
    a = np.ones((120, 120), order="F")
    with pytest.raises(GeometryError, match="model-bem.fif: the BEM system matrix is singular"):
        lu.lu_factor(a, "model-bem.fif")


@pytest.mark.parametrize("method", ["linear", "constant"])
def test_solution_by_solves_equals_the_inverse(monkeypatch, method):
    """Above the one-call limit the stored solution is formed by blocked solves, in
    float32; it equals LAPACK's inverse to float32 rounding (2e-7 of the largest entry)."""
    surfaces = three_layer_head(2)
    inverse = make_bem_solution(surfaces, method).solution
    _use_small_panels(monkeypatch)
    by_solves = make_bem_solution(surfaces, method).solution
    assert inverse.dtype == np.float64 and by_solves.dtype == np.float32
    assert np.abs(by_solves - inverse).max() <= 2e-7 * np.abs(inverse).max()


def test_symmetric_solution_by_solves_equals_the_inverse(monkeypatch):
    """The packed symmetric (OpenMEEG-layout) inverse by panels and blocked solves equals
    LAPACK's one-call inverse to float32 rounding (2e-7 of the largest entry)."""
    surfaces = three_layer_head(1)
    inverse = make_bem_solution(surfaces, "symmetric").solution
    _use_small_panels(monkeypatch)
    by_solves = make_bem_solution(surfaces, "symmetric").solution
    assert by_solves.shape == inverse.shape == (286 * 287 // 2,)
    assert np.abs(by_solves - inverse).max() <= 2e-7 * np.abs(inverse).max()
