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
test triangle. The inner integrals are the closed forms of
:mod:`mne_cli.geometry.triangle_integrals` for triangle pairs closer than
:data:`NEAR_SIZES` sizes, and the same rule for the others, where the kernel
at all point pairs is one matrix product (|x|^2 + |y|^2 - 2 x.y). Rows of
test triangles are computed in chunks on the worker threads
(:func:`mne_cli.parallel.workers`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse

from ..geometry.surface import triangle_normals
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

#: Quadrature-point pairs per chunk of test triangles (a few doubles each).
_CHUNK_PAIRS = 2_000_000


def quadrature(rr: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature points (T, q, 3) and weights (T, q) (area included) of every triangle."""
    _, area = triangle_normals(rr, tris)
    points = np.einsum("qa,tai->tqi", QUADRATURE_POINTS, rr[tris])
    return points, area[:, None] * QUADRATURE_WEIGHTS[None, :]


def triangle_extents(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centroids (t, 3) and sizes (t,) of triangles (t, 3, 3): the size is the largest
    centroid-to-corner distance, the unit of the near/far rules."""
    centroids = corners.mean(axis=1)
    return centroids, np.linalg.norm(corners - centroids[:, None], axis=2).max(axis=1)


def single_layer(test, trial, near: float | None = None) -> np.ndarray:
    """S (T_A, T_B): P0 x P0 single layer between surfaces ``test`` and ``trial``.

    Each surface is a pair (rr (n, 3) in m, tris (t, 3)); the entries are in
    m^3 (area x area / distance / 4 pi). Triangle pairs closer than ``near``
    sizes (default :data:`NEAR_SIZES`; ``inf``: all pairs) get the exact
    inner integral, the others the degree-5 rule on both triangles.
    """
    layout = _Layout(test, trial, near)

    def rows(block: slice) -> np.ndarray:
        x = layout.test_points[block].reshape(-1, 3)
        count, nq = block.stop - block.start, QUADRATURE_WEIGHTS.size
        kernel = 1 / layout.distances(x)                                  # (c q, T_B q)
        kernel = np.einsum("iq,iqk->ik", layout.test_weights[block],
                           kernel.reshape(count, nq, -1)).reshape(count, -1, nq)
        values = np.einsum("ijr,jr->ij", kernel, layout.trial_weights)
        pairs_i, pairs_j = layout.near_pairs(block)
        if len(pairs_i):
            points = layout.test_points[block][pairs_i]                    # (P, q, 3)
            exact = potential_integrals(points.reshape(-1, 3),
                                        np.repeat(layout.trial_corners[pairs_j],
                                                  points.shape[1], axis=0), paired=True)
            values[pairs_i, pairs_j] = np.einsum(
                "pq,pq->p", layout.test_weights[block][pairs_i], exact.reshape(points.shape[:2]))
        return values / FOUR_PI

    return layout.run(rows)


def double_layer(test, trial, near: float | None = None) -> np.ndarray:
    """D (T_A, V_B): P0 test functions on ``test`` x P1 trial functions on ``trial``.

    Dimensionless x area (m^2). On a triangle of the trial surface itself the
    inner integral is its principal value, 0: the +-1/2 jump of the double
    layer belongs to the formulation, not to this matrix. ``near`` as in
    :func:`single_layer`.
    """
    layout = _Layout(test, trial, near)
    rr, tris = trial
    # Corner a of triangle j -> vertex tris[j, a], applied chunk by chunk (the
    # per-corner table of all rows would be 3 T_B / V_B = 6 times the result).
    gather = scipy.sparse.csr_matrix(
        (np.ones(tris.size), (np.arange(tris.size), tris.ravel())), shape=(tris.size, len(rr)))
    normals = np.repeat(layout.trial_normals, QUADRATURE_WEIGHTS.size, axis=0)  # (T_B q, 3)
    y = layout.trial_points.reshape(-1, 3)
    offset = np.einsum("ki,ki->k", y, normals)
    # Trial weights times the P1 basis values at the trial quadrature points.
    basis = layout.trial_weights[:, :, None] * QUADRATURE_POINTS[None, :, :]  # (T_B, q, 3)

    def rows(block: slice) -> np.ndarray:
        x = layout.test_points[block].reshape(-1, 3)
        count, nq = block.stop - block.start, QUADRATURE_WEIGHTS.size
        dist = layout.distances(x)
        kernel = x @ normals.T                                          # n_y.(x - y)/R^3
        kernel -= offset[None, :]
        kernel /= dist * dist * dist
        # Test weights first (over q), then the trial basis (over r), per corner a.
        kernel = np.einsum("iq,iqk->ik", layout.test_weights[block],
                           kernel.reshape(count, nq, -1)).reshape(count, len(tris), nq)
        values = np.stack([np.einsum("ijr,jr->ij", kernel, basis[:, :, a]) for a in range(3)],
                          axis=-1)
        pairs_i, pairs_j = layout.near_pairs(block)
        if len(pairs_i):
            points = layout.test_points[block][pairs_i]
            exact = linear_double_layer_integrals(
                points.reshape(-1, 3), np.repeat(layout.trial_corners[pairs_j],
                                                 points.shape[1], axis=0), paired=True)
            values[pairs_i, pairs_j] = np.einsum(
                "pq,pqa->pa", layout.test_weights[block][pairs_i],
                exact.reshape(*points.shape[:2], 3))
        return (gather.T @ values.reshape(count, -1).T).T / FOUR_PI

    return layout.run(rows)


#: Triangle pairs whose centroids are closer than this many triangle sizes
#: (the larger centroid-to-corner distance of the two) get exact inner
#: integrals; farther, the degree-5 rule on both triangles: the matrices then
#: differ from all-exact ones by less than 1e-5 of their largest entry
#: (tests/test_galerkin.py).
NEAR_SIZES = 4.0


class _Layout:
    """Quadrature points of both surfaces, near pairs, and the chunked row loop."""

    def __init__(self, test, trial, near: float | None):
        near = NEAR_SIZES if near is None else near
        centre = np.vstack([test[0], trial[0]]).mean(axis=0)   # small coordinates: exact R^2
        test = (test[0] - centre, test[1])
        trial = (trial[0] - centre, trial[1])
        self.test_points, self.test_weights = quadrature(*test)
        self.trial_points, self.trial_weights = quadrature(*trial)
        self.trial_corners = trial[0][trial[1]]
        self.trial_normals, _ = triangle_normals(*trial)
        self._trial_flat = self.trial_points.reshape(-1, 3)
        self._trial_sq = np.einsum("ki,ki->k", self._trial_flat, self._trial_flat)
        self._test_centroids, self._test_size = triangle_extents(test[0][test[1]])
        self._trial_centroids, self._trial_size = triangle_extents(self.trial_corners)
        self._near = near

    def distances(self, x: np.ndarray) -> np.ndarray:
        """|x - y| for the points x against every trial quadrature point (GEMM form)."""
        sq = (np.einsum("ki,ki->k", x, x)[:, None] + self._trial_sq[None, :]
              - 2 * x @ self._trial_flat.T)
        return np.sqrt(np.maximum(sq, 1e-30))  # near pairs (replaced) may round to <= 0

    def near_pairs(self, block: slice) -> tuple[np.ndarray, np.ndarray]:
        """(row in block, trial triangle) of the pairs that need exact inner integrals."""
        if self._near == np.inf:
            rows = np.arange(block.stop - block.start)
            return (np.repeat(rows, len(self._trial_size)),
                    np.tile(np.arange(len(self._trial_size)), len(rows)))
        gap = np.linalg.norm(self._test_centroids[block, None] - self._trial_centroids[None],
                             axis=2)
        size = np.maximum(self._test_size[block, None], self._trial_size[None])
        return np.nonzero(gap < self._near * size)

    def run(self, rows) -> np.ndarray:
        """Stack ``rows(slice)`` over chunks of test triangles, on the worker threads."""
        count = len(self.test_points)
        per_row = self.test_points.shape[1] * self.trial_points.shape[0] * \
            self.trial_points.shape[1]
        step = max(1, _CHUNK_PAIRS // max(per_row, 1))
        blocks = [slice(start, min(start + step, count)) for start in range(0, count, step)]
        threads = workers(len(blocks))
        if threads <= 1:
            parts = [rows(block) for block in blocks]
        else:
            with ThreadPoolExecutor(threads) as pool:
                parts = list(pool.map(rows, blocks))
        return np.concatenate(parts) if parts else np.zeros((0, 0))


def surface_curls(rr: np.ndarray, tris: np.ndarray) -> list[scipy.sparse.csr_matrix]:
    """Components k = x, y, z of n_t x grad(phi_a) on triangle t: three (T, V) matrices (1/m)."""
    corners = rr[tris]
    normal, area = triangle_normals(rr, tris)
    double_area = 2 * area
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
