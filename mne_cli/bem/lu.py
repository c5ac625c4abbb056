"""LU factorisation and solves for matrices too large for one LAPACK call.

The 32-bit LAPACK that SciPy ships (OpenBLAS) crashes with a segmentation
fault inside ``dgetrf`` for a 30726 x 30726 matrix (a 3-layer ico-5 head):
its multi-threaded update computes a byte offset past 2^32 in a 32-bit
integer; 16500 x 16500 still works. Above ``ONE_CALL_LIMIT`` unknowns the
factorisation is therefore done here, right-looking by panels of ``_PANEL``
columns (as LAPACK's own blocked ``dgetrf``), with every BLAS/LAPACK call
given a block that spans fewer than 2^31 bytes of the matrix. The flops are
the same; the extra cost is one pass over the trailing matrix per panel.

Layout and pivots are LAPACK's: ``a`` Fortran-ordered, overwritten by L
(unit lower, below the diagonal) and U, with 0-based row interchanges
``piv`` applied in order (SciPy's convention for ``dgetrf``).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas, lapack

from ..errors import GeometryError

#: Largest n factored by one ``dgetrf`` call: 8 n^2 bytes stay below 2^31.
ONE_CALL_LIMIT = 16384
#: Columns per panel, and per block of the trailing update.
_PANEL = 2048


def lu_factor(a: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """LU factors of the Fortran-ordered square ``a``, in place, and the pivots.

    Parameters
    ----------
    a : ndarray, shape (n, n), float64, Fortran order
        Overwritten by the factors (no copy is made of it).
    source : str
        The model file, for the error message.

    Returns
    -------
    (a, piv) : the factors (``a`` itself) and the 0-based pivots, shape (n,).

    Raises
    ------
    GeometryError
        When the matrix is singular (surfaces not closed, nested or apart).
    """
    n = len(a)
    if n <= ONE_CALL_LIMIT:
        lu, piv, info = lapack.dgetrf(a, overwrite_a=True)
        _check_info(info, source)
        return lu, piv
    piv = np.empty(n, np.int32)
    for j in range(0, n, _PANEL):
        end = min(j + _PANEL, n)
        panel, panel_piv, info = lapack.dgetrf(a[j:, j:end])   # a copy: not contiguous
        _check_info(info, source)
        a[j:, j:end] = panel
        piv[j:end] = panel_piv + j
        rows, source_rows = _interchanges(piv, j, end, n)
        for block in _blocks(0, j):
            a[rows, block] = a[source_rows, block]
        lower = a[j:end, j:end]
        for block in _blocks(end, n):
            a[rows, block] = a[source_rows, block]
            upper = blas.dtrsm(1.0, lower, a[j:end, block], lower=1, diag=1)
            a[j:end, block] = upper
            a[end:, block] -= a[end:, j:end] @ upper
    return a, piv


def lu_solve(factors: tuple[np.ndarray, np.ndarray], b: np.ndarray) -> np.ndarray:
    """x with A x = b from ``lu_factor``'s factors of A; ``b`` (n, k) is overwritten.

    Returns the solution, shape (n, k) (``b`` itself when it was a float64
    Fortran-ordered array and the factors came from one LAPACK call).
    """
    lu, piv = factors
    n = len(lu)
    if n <= ONE_CALL_LIMIT:
        x, info = lapack.dgetrs(lu, piv, b, overwrite_b=True)
        if info != 0:
            raise ValueError(f"LAPACK dgetrs: illegal argument {-info}")
        return x
    rows, source_rows = _interchanges(piv, 0, n, n)
    b[rows] = b[source_rows]
    for j in range(0, n, _PANEL):                     # L y = P b, by block rows
        end = min(j + _PANEL, n)
        b[j:end] = blas.dtrsm(1.0, lu[j:end, j:end], b[j:end], lower=1, diag=1)
        b[end:] -= lu[end:, j:end] @ b[j:end]
    for j in reversed(range(0, n, _PANEL)):           # U x = y
        end = min(j + _PANEL, n)
        b[j:end] = blas.dtrsm(1.0, lu[j:end, j:end], b[j:end], lower=0)
        b[:j] -= lu[:j, j:end] @ b[j:end]
    return b


def _interchanges(piv: np.ndarray, start: int, end: int, n: int):
    """Rows changed by the interchanges piv[start:end], and the rows they receive."""
    order = np.arange(n)
    for k in range(start, end):
        p = piv[k]
        order[k], order[p] = order[p], order[k]
    rows = np.flatnonzero(order != np.arange(n))
    return rows, order[rows]


def _blocks(start: int, stop: int):
    """Column slices of at most ``_PANEL`` columns covering [start, stop)."""
    return [slice(c, min(c + _PANEL, stop)) for c in range(start, stop, _PANEL)]


def _check_info(info: int, source: str) -> None:
    if info > 0:
        raise GeometryError(f"{source}: the BEM system matrix is singular; check that the "
                            "surfaces are closed, nested and do not touch")
    if info < 0:
        raise ValueError(f"LAPACK dgetrf: illegal argument {-info}")
