"""Galerkin boundary operators between triangulated surfaces (the symmetric BEM's blocks).

With G(r) = 1/(4 pi |r|), n the outward normals, P0 functions constant on
each triangle and P1 functions (phi_a: 1 at vertex a, 0 at the others,
linear on each triangle), for a test surface A and a trial surface B:

* single layer, P0 x P0:    S[i, j] = int_{T_i} int_{T_j} G(x - y) dy dx
* double layer, P0 x P1:    D[i, b] = int_{T_i} int_B dG(x - y)/dn_y phi_b(y) dy dx
* hypersingular, P1 x P1:   N[a, b] = -int_A int_B G(x - y) curl phi_a(x) . curl phi_b(y)

N is the Galerkin form of dn_x int dG/dn_y (Nedelec's integration by parts:
the surface curls of P1 functions are constant on each triangle, so N is
three sparse products with S). On a sphere of radius a the operators act on
the spherical harmonics of degree l by a/(2l+1), -1/(2(2l+1)) (the principal
value of D) and -l(l+1)/(a(2l+1)); the tests check these (Kybic et al.
2005, IEEE TMI 24:12, section II).

The outer integral is a 7-point degree-5 rule (Dunavant 1985) on each
test triangle; the inner integrals are the closed forms of
:mod:`mne_cli.geometry.triangle_integrals`. Rows of test triangles are
computed in chunks on the worker threads (:func:`mne_cli.parallel.workers`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse

from ..geometry.triangle_integrals import (
    linear_double_layer_integrals,
    potential_integrals,
)
from ..parallel import workers

FOUR_PI = 4 * np.pi

# Dunavant's degree-5 rule: barycentric coordinates and weights (sum 1).
_A, _B = 0.059715871789770, 0.470142064105115
_C, _D = 0.797426985353087, 0.101286507323456
QUADRATURE_POINTS = np.array([[1 / 3] * 3, [_A, _B, _B], [_B, _A, _B], [_B, _B, _A],
                              [_C, _D, _D], [_D, _C, _D], [_D, _D, _C]])
QUADRATURE_WEIGHTS = np.array([0.225, *[0.132394152788506] * 3, *[0.125939180544827] * 3])

#: Quadrature point x triangle pairs per chunk (about 0.5 kB live per pair).
_CHUNK_PAIRS = 60_000


def quadrature(rr: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature points (T, q, 3) and weights (T, q) (area included) of every triangle."""
    corners = rr[tris]
    area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0],
                                         corners[:, 2] - corners[:, 0]), axis=1)
    points = np.einsum("qa,tai->tqi", QUADRATURE_POINTS, corners)
    return points, area[:, None] * QUADRATURE_WEIGHTS[None, :]


def single_layer(test, trial) -> np.ndarray:
    """S (T_A, T_B): P0 x P0 single layer between surfaces ``test`` and ``trial``.

    Each surface is a pair (rr (n, 3) in m, tris (t, 3)); the entries are in
    m^3 (area x area / distance / 4 pi).
    """
    points, weights = quadrature(*test)
    corners = trial[0][trial[1]]
    result = np.empty((len(points), len(corners)))

    def rows(block: slice) -> None:
        p = points[block]
        values = potential_integrals(p.reshape(-1, 3), corners).reshape(*p.shape[:2], -1)
        result[block] = np.einsum("tq,tqj->tj", weights[block], values) / FOUR_PI

    _run(rows, len(points), points.shape[1] * len(corners))
    return result


def double_layer(test, trial) -> np.ndarray:
    """D (T_A, V_B): P0 test functions on ``test`` x P1 trial functions on ``trial``.

    Dimensionless x area (m^2). On a triangle of the trial surface itself the
    inner integral is its principal value, 0: the +-1/2 jump of the double
    layer belongs to the formulation, not to this matrix.
    """
    points, weights = quadrature(*test)
    rr, tris = trial
    corners = rr[tris]
    by_corner = np.empty((len(points), len(tris), 3))

    def rows(block: slice) -> None:
        p = points[block]
        values = linear_double_layer_integrals(p.reshape(-1, 3), corners)
        values = values.reshape(*p.shape[:2], len(tris), 3)
        by_corner[block] = np.einsum("tq,tqja->tja", weights[block], values) / FOUR_PI

    _run(rows, len(points), points.shape[1] * len(corners))
    # Corner a of triangle j -> vertex tris[j, a].
    gather = scipy.sparse.csr_matrix(
        (np.ones(tris.size), (np.arange(tris.size), tris.ravel())), shape=(tris.size, len(rr)))
    return (gather.T @ by_corner.reshape(len(points), -1).T).T


def surface_curls(rr: np.ndarray, tris: np.ndarray) -> list[scipy.sparse.csr_matrix]:
    """Components k = x, y, z of n_t x grad(phi_a) on triangle t: three (T, V) matrices (1/m)."""
    corners = rr[tris]
    normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    double_area = np.linalg.norm(normal, axis=1)
    normal /= double_area[:, None]
    rows = np.repeat(np.arange(len(tris)), 3)
    curls = np.empty((len(tris), 3, 3))                 # (t, corner a, component)
    for a in range(3):
        opposite = corners[:, (a + 2) % 3] - corners[:, (a + 1) % 3]
        gradient = np.cross(normal, opposite) / double_area[:, None]
        curls[:, a] = np.cross(normal, gradient)
    return [scipy.sparse.csr_matrix((curls[:, :, k].ravel(), (rows, tris.ravel())),
                                    shape=(len(tris), len(rr))) for k in range(3)]


def hypersingular(test, trial, single: np.ndarray | None = None) -> np.ndarray:
    """N (V_A, V_B): P1 x P1 hypersingular operator, from the single layer of the surface curls.

    ``single``: :func:`single_layer` (test, trial), when already computed.
    Units: m (m^3 x 1/m^2).
    """
    if single is None:
        single = single_layer(test, trial)
    left, right = surface_curls(*test), surface_curls(*trial)
    result = np.zeros((left[0].shape[1], right[0].shape[1]))
    for c_test, c_trial in zip(left, right):
        result -= c_test.T @ (c_trial.T @ single.T).T
    return result


def _run(rows, count: int, pairs_per_row: int) -> None:
    """``rows(slice)`` over chunks of ``count`` rows on the worker threads."""
    step = max(1, _CHUNK_PAIRS // max(pairs_per_row, 1))
    blocks = [slice(start, min(start + step, count)) for start in range(0, count, step)]
    threads = workers(len(blocks))
    if threads <= 1:
        for block in blocks:
            rows(block)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(rows, blocks))
