"""Which points lie inside a closed surface (SPEC section 4's inside test).

A point is inside when the surface's total solid angle there is 4 pi, i.e.
when the surface winds once around it. For a closed surface that total is
4 pi times the winding number, which equals the signed count of crossings of
a ray from the point; counting crossings costs a few operations per row of
points instead of one arctangent per point and triangle, so it is used
whenever the mesh is closed and the ray is clear of edges and vertices.
Every other case (open or inconsistently wound meshes, rays grazing an edge,
points closer to the surface than 1e-10 of its size) goes to
:func:`~mne_cli.geometry.solid_angle.solid_angle_sums`.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse

from .solid_angle import solid_angle_sums

logger = logging.getLogger(__name__)

def inside_surface(points, rr, tris) -> np.ndarray:
    """Whether each point is inside a closed surface (SPEC section 4), shape (k,), bool.

    Inside means total solid angle 4 pi (|sum/(4 pi) - 1| <= 1e-5). For a
    closed mesh the winding number is found by ray crossings (module
    docstring); ambiguous points are retried with two rotated rays, then
    given to :func:`solid_angle_sums`. Open meshes use solid angles only.
    """
    points = np.asarray(points, np.float64).reshape(-1, 3)
    rr = np.asarray(rr, np.float64)
    tris = np.asarray(tris, np.int64)
    winding = np.zeros(len(points))
    todo = np.arange(len(points))
    if _is_closed(tris, len(rr)) and len(todo):
        centre = rr.mean(axis=0)
        for rotation in _RAY_ROTATIONS:
            turns, ambiguous = _ray_winding((points[todo] - centre) @ rotation.T,
                                            (rr - centre) @ rotation.T, tris)
            winding[todo[~ambiguous]] = turns[~ambiguous]
            todo = todo[ambiguous]
            if not len(todo):
                break
    else:
        logger.info("The bounding surface is not closed; using solid angles throughout")
    if len(todo):
        logger.debug("Solid angles for %d points", len(todo))
        winding[todo] = solid_angle_sums(points[todo], rr, tris) / (4 * np.pi)
    return np.abs(winding - 1.0) <= 1e-5


def _rotation(axis, angle: float) -> np.ndarray:
    axis = np.asarray(axis, np.float64) / np.linalg.norm(axis)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


# Ray direction +x in the rotated frame; the rotations are arbitrary but fixed.
_RAY_ROTATIONS = (np.eye(3), _rotation((1, 2 ** 0.5, 3 ** 0.5), 1.0),
                  _rotation((-5 ** 0.5, 1, 7 ** 0.5), 2.0))
_PAIRS_PER_CHUNK = 2_000_000


def _is_closed(tris, nvert: int) -> bool:
    """Every directed edge a->b is matched by a b->a (closed, consistently wound)."""
    rows = tris.ravel()
    cols = tris[:, [1, 2, 0]].ravel()
    edges = scipy.sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(nvert, nvert))
    edges = edges.tocsr()
    return (edges - edges.T).count_nonzero() == 0


def _ray_winding(points, rr, tris) -> tuple[np.ndarray, np.ndarray]:
    """Winding numbers by signed crossings of +x rays, and an ambiguity flag.

    Points are grouped into rows of equal (y, z); each triangle is paired with
    the rows that pass its (y, z) bounding box. A crossing counts +1 when the
    triangle normal has x > 0 (the ray leaves), -1 otherwise. A point is
    ambiguous when its row passes within a relative 1e-10 of a triangle edge,
    hits a nearly ray-parallel triangle, or when it lies within 1e-10 of the
    surface extent from a crossing.
    """
    rows, row_of = np.unique(points[:, 1:], axis=0, return_inverse=True)
    row_of = row_of.ravel()
    corners = rr[tris]
    lo = np.searchsorted(rows[:, 0], corners[:, :, 1].min(axis=1), "left")
    hi = np.searchsorted(rows[:, 0], corners[:, :, 1].max(axis=1), "right")
    counts = hi - lo
    bounds = np.unique(np.r_[0, np.searchsorted(
        np.cumsum(counts), np.arange(0, counts.sum(), _PAIRS_PER_CHUNK), "right")])
    hit_row, hit_x, hit_sign, bad_rows = [], [], [], []
    for start, stop in zip(bounds, [*bounds[1:], len(tris)]):
        tri = np.repeat(np.arange(start, stop), counts[start:stop])
        first = np.cumsum(counts[start:stop]) - counts[start:stop]
        row = (np.arange(len(tri)) - np.repeat(first, counts[start:stop])
               + np.repeat(lo[start:stop], counts[start:stop]))
        c = corners[tri]
        z = rows[row, 1]
        keep = (z >= c[:, :, 2].min(axis=1)) & (z <= c[:, :, 2].max(axis=1))
        tri, row, c = tri[keep], row[keep], c[keep]
        dy = c[:, :, 1] - rows[row, 0][:, np.newaxis]
        dz = c[:, :, 2] - rows[row, 1][:, np.newaxis]
        # e_i: twice the signed (y, z) area of the ray point and the edge opposite corner i.
        e = dy[:, [1, 2, 0]] * dz[:, [2, 0, 1]] - dz[:, [1, 2, 0]] * dy[:, [2, 0, 1]]
        total = e.sum(axis=1)  # = x component of the triangle normal (b - a) x (c - a)
        size2 = np.ptp(c[:, :, 1], axis=1) ** 2 + np.ptp(c[:, :, 2], axis=1) ** 2
        tol = 1e-10 * size2
        positive = e * np.sign(total)[:, np.newaxis]
        hit = np.all(positive > tol[:, np.newaxis], axis=1)
        flat = np.abs(total) < 1e-6 * size2
        near = np.all(positive > -tol[:, np.newaxis], axis=1) & (~hit | flat)
        bad_rows.append(row[near])
        hit &= ~flat
        hit_row.append(row[hit])
        hit_x.append(np.einsum("ki,ki->k", e[hit], c[hit, :, 0]) / total[hit])
        hit_sign.append(np.sign(total[hit]))
    hit_row, hit_x, hit_sign = (np.concatenate(a) for a in (hit_row, hit_x, hit_sign))
    ambiguous_row = np.zeros(len(rows), bool)
    ambiguous_row[np.concatenate(bad_rows)] = True

    # Merge crossings and points by (row, x); a point's winding number is the
    # sum of the signs of the crossings after it in its row.
    npts = len(points)
    key_row = np.concatenate([hit_row, row_of])
    key_x = np.concatenate([hit_x, points[:, 0]])
    sign = np.concatenate([hit_sign, np.zeros(npts)])
    order = np.lexsort((key_x, key_row))
    before = np.cumsum(sign[order]) - sign[order]
    row_total = np.bincount(hit_row, weights=hit_sign, minlength=len(rows))
    row_start = np.searchsorted(key_row[order], np.arange(len(rows)), "left")
    start_sum = np.concatenate([[0.0], np.cumsum(sign[order])])[row_start]
    at = np.empty_like(order)
    at[order] = np.arange(len(order))
    pos = at[len(hit_row):]
    winding = row_total[row_of] - (before[pos] - start_sum[row_of])
    # Distance along the row to the nearest crossing on either side.
    is_hit = np.zeros(len(order), bool)
    is_hit[:len(hit_row)] = True
    sorted_hit = is_hit[order]
    idx = np.arange(len(order))
    prev = np.maximum.accumulate(np.where(sorted_hit, idx, -1))[pos]
    nxt = np.minimum.accumulate(np.where(sorted_hit, idx, len(order))[::-1])[::-1][pos]
    sorted_row, sorted_x = key_row[order], key_x[order]
    gap = np.full(npts, np.inf)
    for other in (prev, nxt):
        ok = (other >= 0) & (other < len(order))
        ok[ok] &= sorted_row[other[ok]] == row_of[ok]
        gap[ok] = np.minimum(gap[ok], np.abs(sorted_x[other[ok]] - points[ok, 0]))
    extent = np.ptp(rr, axis=0).max() if len(rr) else 1.0
    ambiguous = ambiguous_row[row_of] | (gap <= 1e-10 * extent)
    return winding, ambiguous
