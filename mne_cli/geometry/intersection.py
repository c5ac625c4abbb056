"""Triangles of one surface that cross each other (self-intersections).

A BEM surface must bound a region: no two of its triangles may pass
through each other. MNE-C does not test this; a surface with a vertex
pushed through the opposite side still sums to 4 pi seen from its centre,
so the completeness check of SPEC 7.4 passes it.

Method: candidate pairs come from a uniform grid (each triangle is
registered in every cell its bounding box overlaps, so two triangles whose
boxes overlap share a cell; the few triangles far longer than the cells
are compared with all others by bounding box instead). Pairs whose boxes
overlap and that are not neighbours in the mesh get an exact
segment-triangle test of every edge of one triangle against the other
(Moller 1997, "A fast triangle-triangle intersection test", with its plane
rejection first). Everything is vectorised over the candidate pairs; not
all pairs are formed (about six candidates per triangle on an ico-5
surface).
"""

from __future__ import annotations

import itertools

import numpy as np

# Triple products smaller than this fraction of the product of their three
# vectors' lengths are taken as zero (touching, not crossing): the rounding
# error of a float64 triple product is a few 1e-16 of that product.
_ZERO = 1e-12
# A triangle whose bounding box covers more grid cells than this is
# compared with all others by box instead of being registered.
_MAX_CELLS_PER_TRIANGLE = 64
# Largest cell number along an axis (far cells are clipped together).
_MAX_CELL = 2.0 ** 20
# Candidate pairs tested at a time, to bound the vectorised test's
# temporaries (ten times as many raw grid pairs are formed at a time).
_CHUNK = 100_000


def self_intersections(rr, tris) -> np.ndarray:
    """Pairs of triangles of a surface that cross each other.

    Parameters
    ----------
    rr : array, shape (n, 3)
        Vertex positions (any length unit; the test is scale-free).
    tris : array of int, shape (t, 3)
        0-based vertex indices of the triangles.

    Returns
    -------
    pairs : ndarray of int64, shape (k, 2)
        Indices (i, j), i < j, of the triangles that cross, sorted by i then j.

    Notes
    -----
    Two triangles cross when an edge of one passes through the interior
    of the other, with its end points strictly on the two sides of that
    triangle's plane (the exact segment-triangle test, applied to all six
    edges, as in Moller's triangle-triangle test). Triple products within
    rounding error of zero count as zero, so triangles that only touch
    (coplanar, or meeting at a point or along a line) do not cross.

    Triangles sharing an edge are neighbours and never reported. Triangles
    sharing one vertex P are tested too: they cross if they overlap beyond
    P. Their common segment then runs from P to a point on the edge
    opposite P in one of them, which therefore pierces the other, so only
    those two opposite edges are tested (the far end could lie on an edge
    through P only if that edge lay in the other triangle's plane, which
    is touching). Triangles with a NaN or infinite corner are left out.
    """
    rr = np.asarray(rr, np.float64)
    tris = np.asarray(tris, np.int64).reshape(-1, 3)
    corners = rr[tris]                                        # (t, 3, 3)
    finite = np.nonzero(np.isfinite(corners).all(axis=(1, 2)))[0]
    if len(finite) < 2:
        return np.zeros((0, 2), np.int64)
    lo, hi = corners[finite].min(axis=1), corners[finite].max(axis=1)
    first, second = (finite[k] for k in _candidate_pairs(lo, hi))
    found = []
    for start in range(0, len(first), _CHUNK):
        i, j = first[start:start + _CHUNK], second[start:start + _CHUNK]
        crossing = _crossing(corners[i], corners[j], tris[i], tris[j])
        found.append(np.column_stack([i[crossing], j[crossing]]))
    pairs = np.vstack(found) if found else np.zeros((0, 2), np.int64)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def most_crossed_vertex(tris, pairs) -> int:
    """The vertex belonging to the most crossing triangles, to say where they are.

    A vertex pushed through the other side of a surface belongs to all of
    its (crossing) triangles. Ties go to the vertex in the most crossing
    pairs, then to the lowest index.

    Parameters
    ----------
    tris : array of int, shape (t, 3)
    pairs : array of int, shape (k, 2), k >= 1
        As returned by :func:`self_intersections`.
    """
    tris = np.asarray(tris, np.int64)
    pairs = np.asarray(pairs, np.int64)
    n = int(tris.max()) + 1
    crossing_tris = np.unique(pairs)
    in_triangles = np.bincount(tris[crossing_tris].ravel(), minlength=n)
    in_pairs = np.bincount(tris[pairs].ravel(), minlength=n)
    # lexsort: last key is primary; the lowest index wins a full tie.
    order = np.lexsort((np.arange(n), -in_pairs, -in_triangles))
    return int(order[0])


def _candidate_pairs(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangle pairs (i < j) whose bounding boxes (``lo``, ``hi``: (t, 3)) overlap.

    The cells of the grid are cubes as large as the median bounding box.
    A triangle whose box would need more than ``_MAX_CELLS_PER_TRIANGLE``
    cells (a spike across the surface) is not registered; its box is
    compared with every other box instead, a block of such triangles at a
    time.
    """
    ntri = len(lo)
    extent = (hi - lo).max(axis=1)
    size = float(np.median(extent)) or float(extent.mean()) or 1.0
    origin = lo.min(axis=0)
    # Cell numbers are clipped to a range int64 holds; clipping far cells
    # together can only add candidates, never lose one.
    clo = np.clip(np.floor((lo - origin) / size), 0, _MAX_CELL)
    chi = np.clip(np.floor((hi - origin) / size), 0, _MAX_CELL)
    big = (chi - clo + 1).prod(axis=1) > _MAX_CELLS_PER_TRIANGLE
    small = np.nonzero(~big)[0]
    first, second = _grid_pairs(clo[small].astype(np.int64), chi[small].astype(np.int64),
                                lo[small], hi[small])
    firsts, seconds = [small[first]], [small[second]]
    # Each large triangle against the small ones and the large ones after it.
    large = np.nonzero(big)[0]
    step = max(1, _CHUNK * 10 // ntri)
    for start in range(0, len(large), step):
        rows = large[start:start + step]
        overlap = ((lo[rows, np.newaxis] <= hi[np.newaxis]).all(axis=2)
                   & (lo[np.newaxis] <= hi[rows, np.newaxis]).all(axis=2))
        overlap &= ~big[np.newaxis] | (np.arange(ntri)[np.newaxis] > rows[:, np.newaxis])
        r, k = np.nonzero(overlap)
        firsts.append(np.minimum(rows[r], k))
        seconds.append(np.maximum(rows[r], k))
    return np.concatenate(firsts), np.concatenate(seconds)


def _grid_pairs(clo, chi, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of boxes that overlap, among boxes registered in cells ``clo``..``chi``.

    A pair is kept only in the cell holding the low corner of the overlap of
    the two boxes, so each pair comes once without a sort over all pairs.
    """
    ntri = len(lo)
    if ntri < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    span = chi - clo + 1
    ncells = span.prod(axis=1)
    # One entry per (triangle, cell) registration, sorted by cell.
    owner = np.repeat(np.arange(ntri), ncells)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(ncells) - ncells, ncells)
    s = span[owner]
    cell = clo[owner] + np.column_stack([rank % s[:, 0], rank // s[:, 0] % s[:, 1],
                                         rank // (s[:, 0] * s[:, 1])])
    # Cell numbers are at most _MAX_CELL = 2**20: 21 bits per axis.
    key = (cell[:, 0] << 42) | (cell[:, 1] << 21) | cell[:, 2]
    order = np.argsort(key, kind="stable")
    key, owner, cell = key[order], owner[order], cell[order]
    # Every pair of entries within a cell: entry a with each later entry of
    # its cell, made for a block of entries at a time to bound the memory
    # a crowded cell could take.
    later = np.searchsorted(key, key, side="right") - np.arange(len(key)) - 1
    ends = np.cumsum(later)
    bounds = np.searchsorted(ends, np.arange(0, ends[-1], _CHUNK * 10), side="right")
    bounds = np.unique(np.concatenate([[0], bounds, [len(key)]]))
    firsts, seconds = [], []
    for start, stop in itertools.pairwise(bounds):
        count = later[start:stop]
        a = np.repeat(np.arange(start, stop), count)
        b = a + 1 + np.arange(len(a)) - np.repeat(np.cumsum(count) - count, count)
        i, j = owner[a], owner[b]
        keep = ((np.maximum(clo[i], clo[j]) == cell[a]).all(axis=1)
                & (np.maximum(lo[i], lo[j]) <= np.minimum(hi[i], hi[j])).all(axis=1))
        firsts.append(np.minimum(i[keep], j[keep]))
        seconds.append(np.maximum(i[keep], j[keep]))
    return np.concatenate(firsts), np.concatenate(seconds)


def _crossing(a: np.ndarray, b: np.ndarray, ta: np.ndarray, tb: np.ndarray) -> np.ndarray:
    """Whether triangles ``a[k]`` and ``b[k]`` (shape (k, 3, 3)) cross, shape (k,), bool.

    ``ta`` and ``tb`` (k, 3) are their vertex indices, to leave out
    neighbours and the edges through a shared vertex.
    """
    same = ta[:, :, np.newaxis] == tb[:, np.newaxis, :]      # (k, 3, 3)
    shared_a = same.any(axis=2)                               # a's vertices also in b
    shared_b = same.any(axis=1)
    result = np.zeros(len(a), bool)
    # Neighbours along an edge (or the same triangle) are never crossings.
    todo = np.nonzero(shared_a.sum(axis=1) <= 1)[0]
    # Plane rejection: each triangle must have vertices strictly on both
    # sides of the other's plane.
    side_a = _plane_side(b[todo], a[todo])                    # a's vertices vs b's plane
    side_b = _plane_side(a[todo], b[todo])
    straddle = (((side_a > 0).any(axis=1) & (side_a < 0).any(axis=1))
                & ((side_b > 0).any(axis=1) & (side_b < 0).any(axis=1)))
    todo, side_a, side_b = todo[straddle], side_a[straddle], side_b[straddle]
    hit = (_edges_pierce(a[todo], side_a, shared_a[todo], b[todo])
           | _edges_pierce(b[todo], side_b, shared_b[todo], a[todo]))
    result[todo[hit]] = True
    return result


def _plane_side(tri: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Side (+1, -1, or 0 within rounding) of each of ``points`` (k, 3, 3) on ``tri``'s plane."""
    origin = tri[:, np.newaxis, 0]
    u = np.broadcast_to((tri[:, 1] - tri[:, 0])[:, np.newaxis], points.shape)
    v = np.broadcast_to((tri[:, 2] - tri[:, 0])[:, np.newaxis], points.shape)
    return _triple_sign(u, v, points - origin)


def _edges_pierce(tri: np.ndarray, side: np.ndarray, shared: np.ndarray,
                  other: np.ndarray) -> np.ndarray:
    """Whether an edge of ``tri`` (k, 3, 3) passes through the interior of ``other``.

    ``side`` (k, 3) is the side of each vertex of ``tri`` on ``other``'s
    plane; edges through a vertex ``other`` shares (``shared``, (k, 3))
    are skipped.
    """
    hit = np.zeros(len(tri), bool)
    for e in range(3):   # the three edges, vectorised over pairs
        f = (e + 1) % 3
        test = np.nonzero((side[:, e] * side[:, f] < 0) & ~shared[:, e] & ~shared[:, f])[0]
        p, q = tri[test, e], tri[test, f]
        pq = q - p
        signs = np.stack([_triple_sign(pq, other[test, m] - p, other[test, (m + 1) % 3] - p)
                          for m in range(3)], axis=1)
        inside = (signs == signs[:, :1]).all(axis=1) & (signs[:, 0] != 0)
        hit[test[inside]] = True
    return hit


def _triple_sign(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Sign of u . (v x w) over the last axis, 0 where it is within rounding of zero."""
    value = np.einsum("...i,...i->...", u, np.cross(v, w))
    scale = (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1)
             * np.linalg.norm(w, axis=-1))
    return np.where(np.abs(value) <= _ZERO * scale, 0, np.sign(value)).astype(np.int8)
