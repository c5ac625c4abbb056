"""Collocation coefficients of the BEM integral equation (SPEC sections 8.5, 8.6).

The linear-collocation weights of MNE-C's ``fwd_bem_lin_pot_coeff`` are
evaluated for all field points of a chunk against all triangles of a
surface at once.  Everything that depends on the triangle alone is computed
once; what depends on the pair is written through quantities that need no
per-pair vector algebra:

* the distances d_i from the field point to the three corners come from one
  point-to-vertex distance matrix;
* the triple product T = (y1 - x).(2A n) and the barycentric numerators
  z_k = (v_{k+1} x v_{k-1}).n are affine in x, so one small matrix product
  gives all of them;
* the edge integrals reduce to beta_i = ln[(s - l)/(s + l)]/l with
  s = d_i + d_{i+1}, and the weight vector w = sum(c_i y_i) has
  coefficients summing to zero, so d_k.w needs only per-triangle dot products.

Chunks of rows run on a small thread pool: numpy and scipy release the GIL in
these loops, and the rows of different chunks never overlap.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse
from scipy.spatial.distance import cdist

from ..geometry.surface import (
    edge_multiplicity,
    incident_triangle_counts,
    triangle_normals,
)
from ..parallel import thread_map
from ..progress import SILENT, Progress
from .model import surface_label

logger = logging.getLogger(__name__)

# Below this |Omega/2| (rad) a triangle is seen edge-on and contributes
# nothing (MNE-C's threshold).
_EDGE_ON = np.pi * 1e-6
# Field points x triangles per chunk: ~20 arrays of this many doubles live
# at once per worker, so 250k pairs keep each worker near 40 MB.
_CHUNK_PAIRS = 250_000
# Output elements of a (k x 4) @ (4 x m) product that OpenBLAS computes on
# one thread (its threshold is 65536 multiply-adds times 4).
_SINGLE_THREAD_GEMM = 32_768


@dataclass
class _TriangleSet:
    """Per-triangle constants of one surface, coordinates relative to ``origin``."""

    tris: np.ndarray        # (t, 3) vertex indices
    rr: np.ndarray          # (n, 3) vertices minus origin
    centroids: np.ndarray   # (t, 3) minus origin
    edge: np.ndarray        # (t, 3) lengths of edges 1->2, 2->3, 3->1
    edge_sq: np.ndarray     # (t, 3) their squares
    affine: np.ndarray      # (4, 4t): [x, 1] @ affine = [T, zeta_1, zeta_2, zeta_3]
    eta: np.ndarray         # (t, 3, 2): d_k.w = coef2 * eta[k, 0] + coef3 * eta[k, 1], over 4A^2
    scatter: scipy.sparse.csr_matrix  # (n, 3t): weight of (corner k, triangle t) -> vertex

    @property
    def ntri(self) -> int:
        return len(self.tris)


def _triangle_set(rr: np.ndarray, tris: np.ndarray, origin: np.ndarray) -> _TriangleSet:
    rr = np.asarray(rr, np.float64) - origin
    tris = np.asarray(tris, np.int64)
    y = [rr[tris[:, i]] for i in range(3)]
    normal, area = triangle_normals(rr, tris)
    ntri = len(tris)
    edge_vec = [y[1] - y[0], y[2] - y[1], y[0] - y[2]]
    edge = np.column_stack([np.linalg.norm(e, axis=1) for e in edge_vec])

    affine = np.empty((4, 4 * ntri))
    # T = (y1 - x) . N with N = 2A n
    big_n = normal * (2 * area)[:, np.newaxis]
    affine[:3, :ntri] = -big_n.T
    affine[3, :ntri] = np.einsum("ti,ti->t", y[0], big_n)
    # zeta_k = -z_k / (2A), z_k = (y_{k+1} - x) . (d_k x n), d_k = y_{k-1} - y_{k+1}
    eta = np.empty((ntri, 3, 2))
    e12, e13 = y[1] - y[0], y[2] - y[0]
    inv_4a2 = 1 / (2 * area) ** 2
    for k in range(3):
        nxt, prv = y[(k + 1) % 3], y[(k - 1) % 3]
        d_k = prv - nxt
        m_k = np.cross(d_k, normal)
        cols = slice((k + 1) * ntri, (k + 2) * ntri)
        affine[:3, cols] = (m_k / (2 * area)[:, np.newaxis]).T
        affine[3, cols] = -np.einsum("ti,ti->t", nxt, m_k) / (2 * area)
        # w = coef2 (y2 - y1) + coef3 (y3 - y1) because the coefficients sum to 0
        eta[:, k, 0] = np.einsum("ti,ti->t", d_k, e12) * inv_4a2
        eta[:, k, 1] = np.einsum("ti,ti->t", d_k, e13) * inv_4a2

    columns = np.arange(3 * ntri)
    scatter = scipy.sparse.csr_matrix(
        (np.ones(3 * ntri), (tris.T.ravel(), columns)), shape=(len(rr), 3 * ntri))
    return _TriangleSet(tris, rr, (y[0] + y[1] + y[2]) / 3, edge, edge ** 2, affine, eta,
                        scatter)


class _Workspace:
    """Scratch arrays for one chunk of m field points against one triangle set.

    Reusing them matters: freshly allocated arrays of this size come from
    new pages, and faulting those in costs more than the arithmetic.
    """

    def __init__(self, ts: _TriangleSet, m: int):
        ntri = ts.ntri
        self.dist = np.empty((len(ts.rr), m))
        self.d = np.empty((3, ntri, m))
        self.tmp = np.empty((3, ntri, m))
        self.den = np.empty((ntri, m))
        self.omega = np.empty((ntri, m))
        self.forms = np.empty((4 * ntri, m))
        self.homog = np.ones((4, m))
        self.weights = np.empty((3 * ntri, m))


_workspaces = threading.local()


def _workspace(ts: _TriangleSet, m: int) -> _Workspace:
    cache = getattr(_workspaces, "cache", None)
    if cache is None or cache[0] is not ts or cache[1] != m:
        cache = _workspaces.cache = (ts, m, _Workspace(ts, m))
    return cache[2]


def _solid_angle_terms(points: np.ndarray, ts: _TriangleSet, ws: _Workspace) -> None:
    """Corner distances ``ws.d``, affine forms ``ws.forms`` and solid angles ``ws.omega``.

    Arrays are laid out (triangles, points): gathering whole rows of the
    vertex-to-point distance matrix is cheap, and per-triangle constants
    broadcast as columns.  The triple products are ``ws.forms[:t]``.
    """
    cdist(ts.rr, points, out=ws.dist)
    d, tmp, den = ws.d, ws.tmp, ws.den
    for i in range(3):
        np.take(ws.dist, ts.tris[:, i], axis=0, out=d[i])
    ws.homog[:3] = points.T
    # Small products stay on the calling thread in OpenBLAS; a large one
    # would wake its worker threads, which then spin on the core our other
    # chunk worker needs.
    step = max(1, _SINGLE_THREAD_GEMM // len(points))
    affine_t = ts.affine.T
    for start in range(0, len(affine_t), step):
        np.matmul(affine_t[start:start + step], ws.homog, out=ws.forms[start:start + step])
    # |a||b||c| + (a.b)|c| + (a.c)|b| + (b.c)|a| with a.b = (|a|^2 + |b|^2 - l_ab^2) / 2
    sq = tmp
    np.multiply(d, d, out=sq)
    den.fill(0.0)
    scratch = ws.omega
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        np.add(sq[i], sq[j], out=scratch)
        scratch -= ts.edge_sq[:, i:i + 1]
        scratch *= d[k]
        den += scratch
    den *= 0.5
    np.multiply(d[0], d[1], out=scratch)
    scratch *= d[2]
    den += scratch
    np.arctan2(ws.forms[:ts.ntri], den, out=ws.omega)
    ws.omega *= 2


def _linear_rows(points: np.ndarray, ts: _TriangleSet, own_vertices: np.ndarray | None,
                 ws: _Workspace) -> np.ndarray:
    """Weights of every corner of every triangle at the points, shape (3t, m), in ``ws``.

    Row k * t + j holds corner k of triangle j.  ``own_vertices`` gives, for
    field points that are vertices of this same surface, their vertex
    numbers: triangles containing the point itself are left out (their
    contribution is restored by the auto-solid-angle step).
    """
    ntri = ts.ntri
    d, beta, omega, forms = ws.d, ws.tmp, ws.omega, ws.forms
    triple = forms[:ntri]
    with np.errstate(divide="ignore", invalid="ignore"):
        _solid_angle_terms(points, ts, ws)
        for i in range(3):
            edge = ts.edge[:, i:i + 1]
            b = np.add(d[i], d[(i + 1) % 3], out=beta[i])
            b += edge
            np.divide(-2 * edge, b, out=b)
            np.log1p(b, out=b)
            b /= edge
        # d_k.w / (4 A^2) = (beta1 - beta2) eta[k, 0] + (beta2 - beta3) eta[k, 1]; fold T in.
        t_coef2 = np.subtract(beta[0], beta[1], out=beta[0])
        t_coef2 *= triple
        t_coef3 = np.subtract(beta[1], beta[2], out=beta[1])
        t_coef3 *= triple
        weights = ws.weights
        for k in range(3):
            out = weights[k * ntri:(k + 1) * ntri]
            np.multiply(omega, forms[(k + 1) * ntri:(k + 2) * ntri], out=out)
            out += np.multiply(t_coef2, ts.eta[:, k, 0:1], out=d[0])
            out += np.multiply(t_coef3, ts.eta[:, k, 1:2], out=d[1])
    edge_on = np.abs(omega, out=d[2]) < 2 * _EDGE_ON
    if edge_on.any():
        for k in range(3):
            weights[k * ntri:(k + 1) * ntri][edge_on] = 0.0
    if own_vertices is not None:
        columns, tri_idx = _incident_pairs(ts.tris, own_vertices)
        for k in range(3):
            weights[k * ntri + tri_idx, columns] = 0.0
    return weights


def _incident_pairs(tris: np.ndarray, vertices: np.ndarray):
    """(i, triangle) pairs where vertex ``vertices[i]`` is a corner of the triangle."""
    position = np.full(tris.max() + 1, -1)
    position[vertices] = np.arange(len(vertices))
    rows = position[tris]
    hit = rows >= 0
    return rows[hit], np.nonzero(hit)[0]


def _chunks(nrows: int, ncols: int):
    step = max(8, _CHUNK_PAIRS // max(ncols, 1))
    return [slice(start, min(start + step, nrows)) for start in range(0, nrows, step)]


def _run(tasks, progress: Progress) -> None:
    """Run the chunk tasks on the worker threads (:func:`mne_cli.parallel.thread_map`)."""
    thread_map(lambda task: task(), tasks, lambda _: progress.advance())


def _origin(surfaces) -> np.ndarray:
    # Working relative to the model's centre keeps the affine forms free of
    # cancellation between large coordinates.
    return np.vstack([s.rr for s in surfaces]).mean(axis=0)


def _assemble(surfaces, sizes, pairs_per_row, fill, finish, progress: Progress) -> np.ndarray:
    """Fill an (N, N) matrix block by block, each block in chunks of rows on the thread pool.

    ``sizes[p]`` rows/columns belong to surface p; ``fill(block, rows, p, q)``
    writes rows of block (p, q); ``pairs_per_row[q]`` sizes the chunks;
    ``finish(block, p, q)`` runs on each completed block. ``progress``
    counts finished chunks over all blocks.
    """
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    coeff = np.empty((offsets[-1], offsets[-1]))
    pairs = [(p, q) for p in range(len(surfaces)) for q in range(len(surfaces))]
    chunks = {(p, q): _chunks(sizes[p], pairs_per_row[q]) for p, q in pairs}
    progress.start("BEM coefficients", sum(len(c) for c in chunks.values()))
    try:
        for p, q in pairs:
            logger.debug("        %s (%d) -> %s (%d) ...", surface_label(surfaces[p]),
                         sizes[p], surface_label(surfaces[q]), sizes[q])
            block = coeff[offsets[p]:offsets[p + 1], offsets[q]:offsets[q + 1]]
            _run([partial(fill, block, rows, p, q) for rows in chunks[p, q]], progress)
            finish(block, p, q)
    finally:
        progress.finish()
    return coeff


def linear_coefficients(surfaces, progress: Progress = SILENT) -> np.ndarray:
    """Linear-collocation coefficient matrix C, shape (N, N), N = total vertices.

    Block (p, q) holds, for every vertex x of surface p, minus the linear
    double-layer weights of the triangles of q at x, with the auto-solid-angle
    correction on diagonal blocks (SPEC 8.5 steps 1-2).
    """
    origin = _origin(surfaces)
    sets = [_triangle_set(s.rr, s.tris, origin) for s in surfaces]

    def fill(block, rows, p, q):
        own = np.arange(rows.start, rows.stop) if p == q else None
        ws = _workspace(sets[q], rows.stop - rows.start)
        weights = _linear_rows(sets[p].rr[rows], sets[q], own, ws)
        block[rows] = -(sets[q].scatter @ weights).T

    def finish(block, p, q):
        if p == q:
            _correct_auto_elements(block, surfaces[p].tris)

    return _assemble(surfaces, [len(s.rr) for s in surfaces], [3 * ts.ntri for ts in sets],
                     fill, finish, progress)


def _correct_auto_elements(block: np.ndarray, tris: np.ndarray) -> None:
    """Restore each row's missing solid angle (2 pi minus the row sum) around the node.

    Half goes to the node itself; the rest is shared equally among the
    corners of its triangles (MNE-C's auto-element approximation).
    """
    nvert = len(block)
    missing = 2 * np.pi - block.sum(axis=1)
    counts = incident_triangle_counts(tris, nvert)
    block[np.arange(nvert), np.arange(nvert)] = missing / 2
    shares = edge_multiplicity(tris, nvert).tocoo()
    share = missing / (4 * counts)
    block[shares.row, shares.col] += share[shares.row] * shares.data


def constant_coefficients(surfaces, progress: Progress = SILENT) -> np.ndarray:
    """Constant-collocation coefficients, shape (T, T), T = total triangles (SPEC 8.6).

    Entry (i, j) is the solid angle of triangle j seen from the centroid of
    triangle i (0 for a triangle and itself).  Row sums per block should be
    about 2 pi (same surface), 4 pi (a surface inside the other) or 0;
    departures are logged as warnings, as MNE-C did.
    """
    origin = _origin(surfaces)
    sets = [_triangle_set(s.rr, s.tris, origin) for s in surfaces]
    sizes = [ts.ntri for ts in sets]

    def fill(block, rows, p, q):
        ws = _workspace(sets[q], rows.stop - rows.start)
        with np.errstate(divide="ignore", invalid="ignore"):
            _solid_angle_terms(sets[p].centroids[rows], sets[q], ws)
        block[rows] = ws.omega.T
        if p == q:
            own = np.arange(rows.start, rows.stop)
            block[own, own] = 0.0

    def finish(block, p, q):
        _check_solid_angle_sums(block, p, q, surfaces)

    return _assemble(surfaces, sizes, sizes, fill, finish, progress)


def _check_solid_angle_sums(block, p, q, surfaces) -> None:
    expected = 2 * np.pi if p == q else (4 * np.pi if p > q else 0.0)
    worst = np.abs(block.sum(axis=1) - expected).max()
    if worst > 0.1 * np.pi:
        logger.warning("Solid angles from %s to %s sum to within %.3f of %.3f only; "
                       "check the surfaces", surface_label(surfaces[p]),
                       surface_label(surfaces[q]), worst, expected)
