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

Quadrature by distance, in triangle sizes (the larger centroid-to-corner
distance of the pair): closer than :data:`NEAR_SIZES`, the closed forms of
:mod:`mne_cli.geometry.triangle_integrals` inside and a 7-point degree-5
rule (Dunavant 1985) outside; closer than :data:`MID_SIZES`, the degree-5
rule on both triangles; farther, the 3-point degree-2 rule on both (Strang
and Fix 1973), whose kernel at all point pairs is one matrix product
(|x|^2 + |y|^2 - 2 x.y). Rows of test triangles are computed in chunks on
the worker threads (:func:`mne_cli.parallel.thread_map`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
from scipy.spatial import cKDTree

from ..geometry.surface import squared_distances, triangle_normals
from ..geometry.triangle_integrals import (
    linear_double_layer_integrals,
    potential_and_double_layer_integrals,
    potential_integrals,
)
from ..parallel import thread_map
from ..progress import SILENT, Progress

FOUR_PI = 4 * np.pi

# Dunavant's degree-5 rule: barycentric coordinates and weights (sum 1).
_A, _B = 0.059715871789770, 0.470142064105115
_C, _D = 0.797426985353087, 0.101286507323456
QUADRATURE_POINTS = np.array([[1 / 3] * 3, [_A, _B, _B], [_B, _A, _B], [_B, _B, _A],
                              [_C, _D, _D], [_D, _C, _D], [_D, _D, _C]])
QUADRATURE_WEIGHTS = np.array([0.225, *[0.132394152788506] * 3, *[0.125939180544827] * 3])
# The interior 3-point degree-2 rule, for far pairs.
FAR_POINTS = np.array([[2 / 3, 1 / 6, 1 / 6], [1 / 6, 2 / 3, 1 / 6], [1 / 6, 1 / 6, 2 / 3]])
FAR_WEIGHTS = np.full(3, 1 / 3)

#: Triangle pairs closer than this many sizes get exact inner integrals.
NEAR_SIZES = 3.0
#: Pairs closer than this many sizes (and not near) get the degree-5 rule on
#: both triangles, the farther ones the degree-2 rule. Against exact inner
#: integrals for every pair, the entries differ by at most 7e-6 (S) and
#: 5e-5 (D) of the largest on ico-2 spheres, and the solutions of the
#: symmetric BEM by 1e-6 to 5e-6 of their norm on ico-2 and ico-3 heads
#: (tests/test_galerkin.py, tests/test_symmetric_bem.py): 3 and 6 sizes
#: are where these stop falling (4 and 6 gave the same; 3 and 5, or 2 and
#: 6, up to ten times more).
MID_SIZES = 6.0

#: Precision of the far-pair kernels: single, as R >= MID_SIZES sizes keeps
#: |x|^2 + |y|^2 - 2 x.y within a factor 20 of R^2 in centred coordinates
#: (relative error 1e-6 at most, below the rule's own).
FAR_DTYPE = np.float32

#: Far-rule point pairs per chunk of test triangles (a few doubles each).
_CHUNK_PAIRS = 1_000_000


def quadrature(rr: np.ndarray, tris: np.ndarray, points: np.ndarray = QUADRATURE_POINTS,
               weights: np.ndarray = QUADRATURE_WEIGHTS) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature points (T, q, 3) and weights (T, q) (area included) of every triangle.

    ``points`` (q, 3) barycentric and ``weights`` (q,) summing to 1: a rule
    on the reference triangle, by default the degree-5 one.
    """
    _, area = triangle_normals(rr, tris)
    return np.einsum("qa,tai->tqi", points, rr[tris]), area[:, None] * weights[None, :]


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
    inner integral; the others the rules of the module docstring.
    """
    return layers(test, trial, near, double=False)[0]


def double_layer(test, trial, near: float | None = None) -> np.ndarray:
    """D (T_A, V_B): P0 test functions on ``test`` x P1 trial functions on ``trial``.

    Dimensionless x area (m^2). On a triangle of the trial surface itself the
    inner integral is its principal value, 0: the +-1/2 jump of the double
    layer belongs to the formulation, not to this matrix. ``near`` as in
    :func:`single_layer`.
    """
    return layers(test, trial, near, single=False)[1]


def layers(test, trial, near: float | None = None, single: bool = True,
           double: bool = True, progress: Progress = SILENT
           ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(:func:`single_layer`, :func:`double_layer`) of two surfaces in one pass.

    The two share the quadrature, the distances and the exact integrals'
    edge terms; either may be skipped (None is returned in its place).
    ``progress`` advances by the test triangles done.
    """
    layout = _Layout(test, trial, near)
    rr, tris = trial
    normals = layout.trial_normals
    if double:
        # Corner a of triangle j -> vertex tris[j, a], applied chunk by chunk
        # (the per-corner table of all rows would be 3 T_B / V_B = 6 times the result).
        gather = scipy.sparse.csr_matrix(
            (np.ones(tris.size), (np.arange(tris.size), tris.ravel())),
            shape=(tris.size, len(rr)))
        far_normals = np.repeat(normals, FAR_WEIGHTS.size, axis=0).astype(FAR_DTYPE)
        offset = np.einsum("ki,ki->k", layout.trial_far_points.reshape(-1, 3), far_normals)
        # Trial weights times the P1 basis values at the trial points, per rule.
        far_basis = layout.trial_far_weights[:, :, None] * FAR_POINTS[None]  # (T_B, r, 3)
        basis = layout.trial_weights[:, :, None] * QUADRATURE_POINTS[None]   # (T_B, r, 3)

    def rows(block: slice) -> None:
        count = block.stop - block.start
        inverse = layout.far_distances(block)
        np.reciprocal(inverse, out=inverse)                               # 1/R (c q, T_B r)
        values_s = values_d = None
        if single:
            values_s = np.einsum("ijr,jr->ij", layout.reduce_test(inverse, block),
                                 layout.trial_far_weights).astype(np.float64)
        if double:                                      # n_y.(x - y)/R^3
            kernel = layout.test_far_points[block].reshape(-1, 3) @ far_normals.T
            kernel -= offset[None, :]
            kernel *= inverse
            inverse *= inverse
            kernel *= inverse
            values_d = np.einsum("ijr,jra->ija", layout.reduce_test(kernel, block),
                                 far_basis).astype(np.float64)
            del kernel
        del inverse
        pairs_i, pairs_j = layout.pairs(block, "mid")
        if len(pairs_i):
            x, wx = layout.test_points[block][pairs_i], layout.test_weights[block][pairs_i]
            y = layout.trial_points[pairs_j]                                 # (P, r, 3)
            # 1/R for the q x r point pairs of each triangle pair, by products.
            inverse = x @ y.transpose(0, 2, 1)
            inverse *= -2.0
            inverse += np.einsum("pqi,pqi->pq", x, x)[:, :, None]
            inverse += np.einsum("pri,pri->pr", y, y)[:, None, :]
            np.sqrt(inverse, out=inverse)
            np.reciprocal(inverse, out=inverse)                              # (P, q, r)
            # Sums over the point pairs as batched products (P, 1, q) @ (P, q, r).
            if single:
                values_s[pairs_i, pairs_j] = np.einsum(
                    "pr,pr->p", (wx[:, None, :] @ inverse)[:, 0], layout.trial_weights[pairs_j])
            if double:
                normal = normals[pairs_j][:, :, None]                          # (P, 3, 1)
                kernel = (x @ normal) - (y @ normal).transpose(0, 2, 1)     # (P, q, r)
                kernel *= inverse
                inverse *= inverse
                kernel *= inverse
                values_d[pairs_i, pairs_j] = ((wx[:, None, :] @ kernel) @ basis[pairs_j])[:, 0]
        pairs_i, pairs_j = layout.pairs(block, "near")
        if len(pairs_i):
            points = layout.test_points[block][pairs_i]                        # (P, q, 3)
            corners = layout.trial_corners[pairs_j][:, None]                   # (P, 1, 3, 3)
            weights = layout.test_weights[block][pairs_i]
            if single and double:
                exact_s, exact_d = potential_and_double_layer_integrals(points, corners,
                                                                        paired=True)
            elif single:
                exact_s = potential_integrals(points, corners, paired=True)
            else:
                exact_d = linear_double_layer_integrals(points, corners, paired=True)
            if single:
                values_s[pairs_i, pairs_j] = np.einsum("pq,pq->p", weights, exact_s)
            if double:
                values_d[pairs_i, pairs_j] = np.einsum("pq,pqa->pa", weights, exact_d)
        if single:
            np.divide(values_s, FOUR_PI, out=out_s[block])
        if double:
            np.divide((gather.T @ values_d.reshape(count, -1).T).T, FOUR_PI, out=out_d[block])

    # Each chunk writes its own rows of the results.
    count = len(layout.test_points)
    out_s = np.empty((count, len(tris))) if single else None
    out_d = np.empty((count, len(rr)), order="F") if double else None   # as the system's
    layout.run(rows, progress)
    return out_s, out_d


class _Layout:
    """Quadrature points of both surfaces, the near and mid pairs, and the chunked row loop."""

    def __init__(self, test, trial, near: float | None):
        near = NEAR_SIZES if near is None else near
        centre = np.vstack([test[0], trial[0]]).mean(axis=0)   # small coordinates: exact R^2
        test = (test[0] - centre, test[1])
        trial = (trial[0] - centre, trial[1])
        self.test_points, self.test_weights = quadrature(*test)
        self.trial_points, self.trial_weights = quadrature(*trial)
        self.test_far_points, self.test_far_weights = (
            a.astype(FAR_DTYPE) for a in quadrature(*test, FAR_POINTS, FAR_WEIGHTS))
        self.trial_far_points, self.trial_far_weights = (
            a.astype(FAR_DTYPE) for a in quadrature(*trial, FAR_POINTS, FAR_WEIGHTS))
        self.trial_corners = trial[0][trial[1]]
        self.trial_normals, _ = triangle_normals(*trial)
        self._trial_flat = self.trial_far_points.reshape(-1, 3)
        self._trial_sq = np.einsum("ki,ki->k", self._trial_flat, self._trial_flat)
        self._pairs = _close_pairs(triangle_extents(test[0][test[1]]),
                                   triangle_extents(self.trial_corners),
                                   max(near, MID_SIZES) if near != np.inf else near)
        gap_sizes = self._pairs[2]
        self._kind = {"near": gap_sizes < near, "mid": gap_sizes >= near}
        self._all_near = near == np.inf

    def far_distances(self, block: slice) -> np.ndarray:
        """|x - y| (c r, T_B r) between the far-rule points of a block and of the trial
        surface, in place from one matrix product."""
        out = squared_distances(self.test_far_points[block].reshape(-1, 3), self._trial_flat,
                                self._trial_sq)
        np.maximum(out, 1e-12, out=out)   # near pairs (replaced) may round to <= 0
        return np.sqrt(out, out=out)

    def reduce_test(self, kernel: np.ndarray, block: slice) -> np.ndarray:
        """Sum a far kernel (c q, T_B r) over the test rule: (c, T_B, r)."""
        count = block.stop - block.start
        return np.einsum("iq,iqk->ik", self.test_far_weights[block],
                         kernel.reshape(count, FAR_WEIGHTS.size, -1)).reshape(
                             count, len(self.trial_corners), FAR_WEIGHTS.size)

    def pairs(self, block: slice, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """(row in block, trial triangle) of the ``kind`` ("near" or "mid") pairs of a block."""
        if self._all_near:
            rows = np.arange(block.stop - block.start)
            count = len(self.trial_corners)
            if kind == "mid":
                return rows[:0], rows[:0]
            return np.repeat(rows, count), np.tile(np.arange(count), len(rows))
        test, trial, _ = self._pairs
        lo, hi = np.searchsorted(test, [block.start, block.stop])
        keep = self._kind[kind][lo:hi]
        return test[lo:hi][keep] - block.start, trial[lo:hi][keep]

    def run(self, rows, progress: Progress = SILENT) -> list:
        """``rows(slice)`` for the chunks of test triangles, in order, on the worker threads."""
        count = len(self.test_points)
        per_row = FAR_WEIGHTS.size ** 2 * len(self.trial_corners)
        step = max(1, _CHUNK_PAIRS // max(per_row, 1))
        blocks = [slice(start, min(start + step, count)) for start in range(0, count, step)]
        return thread_map(rows, blocks, lambda done: progress.advance(done.stop - done.start))


def _close_pairs(test_extents, trial_extents, sizes: float):
    """(test, trial, gap in sizes) of the triangle pairs whose centroids are closer than
    ``sizes`` times the larger size of the two, grouped by test triangle."""
    (test_centroids, test_size), (trial_centroids, trial_size) = test_extents, trial_extents
    if sizes == np.inf:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    reach = sizes * max(test_size.max(), trial_size.max())
    found = cKDTree(test_centroids).sparse_distance_matrix(
        cKDTree(trial_centroids), reach, output_type="ndarray")
    test, trial = found["i"].astype(np.intp), found["j"].astype(np.intp)
    gap = found["v"] / np.maximum(test_size[test], trial_size[trial])
    keep = gap < sizes
    order = np.argsort(test[keep], kind="stable")
    return test[keep][order], trial[keep][order], gap[keep][order]


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
    single = np.ascontiguousarray(single)
    left, right = surface_curls(*test), surface_curls(*trial)
    result = np.zeros((left[0].shape[1], right[0].shape[1]))
    for c_test, c_trial in zip(left, right):
        # C_A^T S row by row of S, then its product with C_B (sparse times dense
        # rows both times: 3x faster than the other association at ico-4).
        rows = c_test.T.tocsr() @ single                                    # (V_A, T_B)
        result -= (c_trial.T.tocsr() @ rows.T).T
    return result
