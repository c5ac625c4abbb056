"""Triangle and vertex quantities of a triangulated surface (SPEC section 4)."""

from __future__ import annotations

import numpy as np


def triangle_cross(rr: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Unnormalised triangle normals (r2 - r1) x (r3 - r1), shape (t, 3).

    Their length is twice the triangle area.
    """
    r1 = rr[tris[:, 0]]
    return np.cross(rr[tris[:, 1]] - r1, rr[tris[:, 2]] - r1)


def vertex_normals(rr: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals, shape (n, 3).

    Each vertex sums the cross products of its triangles (MNE-C
    ``mne_add_triangle_data``); a vertex whose sum vanishes keeps a zero
    normal.
    """
    return _normalised_vertex_sums(len(rr), tris, triangle_cross(rr, tris))


def triangle_normals(rr: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit triangle normals, shape (t, 3), and triangle areas (m^2 for m input), shape (t,)."""
    cross = triangle_cross(rr, tris)
    double_area = np.linalg.norm(cross, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = cross / double_area[:, np.newaxis]
    return unit, double_area / 2


def mean_unit_normals(rr: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Vertex normals as the unweighted mean of the unit normals of incident triangles.

    MNE-Python's vertex normals (source spaces), and what MNE-C stores for
    BEM meshes decimated with --ico (computed on the icosahedron template).
    """
    return _normalised_vertex_sums(len(rr), tris, triangle_normals(rr, tris)[0])


def _normalised_vertex_sums(nvert: int, tris: np.ndarray, per_triangle: np.ndarray) -> np.ndarray:
    """Sum a per-triangle vector into its three corners, then normalise (zero stays zero)."""
    nn = np.zeros((nvert, 3))
    for corner in range(3):
        np.add.at(nn, tris[:, corner], per_triangle)
    norms = np.linalg.norm(nn, axis=1, keepdims=True)
    np.divide(nn, norms, out=nn, where=norms > 0)
    return nn


def incident_triangle_counts(tris: np.ndarray, nvert: int) -> np.ndarray:
    """Number of triangles each vertex belongs to, shape (nvert,)."""
    return np.bincount(np.asarray(tris).ravel(), minlength=nvert)


def edge_multiplicity(tris: np.ndarray, nvert: int):
    """Sparse (nvert, nvert) CSR matrix: entry (a, b) counts the triangles with edge a-b.

    On a closed manifold mesh every edge is shared by exactly two triangles.
    Row a lists the 1-ring neighbours of vertex a in ascending order, so the
    matrix also serves as the mesh's vertex adjacency.
    """
    import scipy.sparse

    tris = np.asarray(tris)
    rows = np.concatenate([tris[:, 0], tris[:, 1], tris[:, 2], tris[:, 1], tris[:, 2], tris[:, 0]])
    cols = np.concatenate([tris[:, 1], tris[:, 2], tris[:, 0], tris[:, 0], tris[:, 1], tris[:, 2]])
    ones = np.ones(len(rows), np.int64)
    matrix = scipy.sparse.coo_matrix((ones, (rows, cols)), shape=(nvert, nvert)).tocsr()
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def squared_distances(points: np.ndarray, targets: np.ndarray,
                      targets_sq: np.ndarray | None = None) -> np.ndarray:
    """|p - t|^2 for every pair, (npoints, ntargets), in the dtype of the inputs.

    Expanded into |p|^2 + |t|^2 - 2 p.t: one matrix product and three
    passes, in place. The expansion loses digits when the distance is small
    against the coordinates (work in centred coordinates, keep the pairs
    apart, or replace the close ones), and can round to small negative
    values there. ``targets_sq``: the |t|^2, when computed once for many calls.
    """
    if targets_sq is None:
        targets_sq = np.einsum("ti,ti->t", targets, targets)
    result = points @ targets.T
    result *= -2
    result += np.einsum("pi,pi->p", points, points)[:, None]
    result += targets_sq[None, :]
    return result


def distance_to_surface(points: np.ndarray, rr: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Shortest distance from each point to a triangulated surface, shape (k,).

    Exact point-to-triangle distances (plane, edges and corners); see
    :func:`nearest_surface_points`.
    """
    return nearest_surface_points(points, rr, tris)[2]


def nearest_surface_points(points: np.ndarray, rr: np.ndarray, tris: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closest point of a triangulated surface to each point, exactly.

    Each point is tested against the triangles whose bounding sphere comes
    closer to it than its nearest vertex (no other triangle can hold the
    closest point). When several triangles share the closest point (an edge
    or a corner), the one whose plane holds the point's foot least outside
    it is chosen (largest smallest barycentric coordinate), and of equals
    (within 1e-9) the lowest-numbered. The choice depends on the geometry
    only; tests/test_electrode_interpolation.py checks it by brute force.

    Returns
    -------
    tri : ndarray, shape (k,), int
        Triangle holding the closest point.
    weights : ndarray, shape (k, 3)
        Its barycentric coordinates on the triangle's corners (sum 1).
    dist : ndarray, shape (k,)
        The distance, in the units of ``rr``.
    """
    points = np.atleast_2d(np.asarray(points, np.float64))
    corners = rr[tris]                                           # (t, 3, 3)
    centre = corners.mean(axis=1)
    reach = np.linalg.norm(corners - centre[:, None], axis=-1).max(axis=1)
    tri_out = np.empty(len(points), np.intp)
    weights_out = np.empty((len(points), 3))
    dist_out = np.empty(len(points))
    for k, p in enumerate(points):
        bound = np.sqrt(np.min(np.einsum("vi,vi->v", rr - p, rr - p)))
        near = np.flatnonzero(np.linalg.norm(centre - p, axis=1) - reach <= bound * (1 + 1e-9))
        pick, weights_out[k], dist_out[k] = _nearest_on_triangles(p, corners[near])
        tri_out[k] = near[pick]
    return tri_out, weights_out, dist_out


def _nearest_on_triangles(p: np.ndarray, corners: np.ndarray) -> tuple[int, np.ndarray, float]:
    """Closest point to ``p`` among triangles ``corners`` (t, 3, 3): index, weights, distance."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    normal = np.cross(b - a, c - a)
    twice_area = np.linalg.norm(normal, axis=1)
    normal /= twice_area[:, None]
    # Candidate 1: the foot on the triangle's plane, if it lies inside.
    height = np.einsum("ti,ti->t", p - a, normal)
    foot = p - height[:, None] * normal
    bary = np.stack([np.einsum("ti,ti->t", np.cross(w - v, foot - v), normal)
                     for v, w in ((b, c), (c, a), (a, b))], axis=-1) / twice_area[:, None]
    best = np.where((bary >= 0).all(axis=-1), np.abs(height), np.inf)
    best_w = bary.copy()
    # Candidates 2-4: the closest points of the three edges.
    for i, j in ((0, 1), (1, 2), (2, 0)):
        u, v = corners[:, i], corners[:, j]
        edge = v - u
        t = np.clip(np.einsum("ti,ti->t", p - u, edge) / np.einsum("ti,ti->t", edge, edge),
                    0, 1)
        d = np.linalg.norm(p - (u + t[:, None] * edge), axis=-1)
        closer = d < best
        w = np.zeros((len(d), 3))
        w[:, i] = 1 - t
        w[:, j] = t
        best = np.where(closer, d, best)
        best_w = np.where(closer[:, None], w, best_w)
    # Ties (closest point on a shared edge or corner) go to the triangle
    # whose plane foot lies least outside it: the one interpolation on the
    # triangle's plane extrapolates least from; a tie of that (a point
    # straight out of a symmetric corner) to the first triangle.
    tied = best <= best.min() * (1 + 1e-9) + 1e-15
    outside = np.where(tied, bary.min(axis=-1), -np.inf)
    pick = int(np.flatnonzero(outside >= outside.max() - 1e-9)[0])
    return pick, best_w[pick], float(best[pick])


def plane_coordinates(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Barycentric coordinates of each point's foot on its triangle's plane.

    Not clamped: a foot outside the triangle gets a negative coordinate, so
    interpolating with them extrapolates linearly (as MNE-C and MNE-Python
    interpolate at electrodes).

    Parameters
    ----------
    points : ndarray, shape (k, 3)
    corners : ndarray, shape (k, 3, 3)
        The three corners of each point's triangle.

    Returns
    -------
    weights : ndarray, shape (k, 3)
        Sum to 1.
    """
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    e1, e2, d = b - a, c - a, points - a
    # Least-squares solve of d = x e1 + y e2 (the in-plane part of d).
    g11, g12, g22 = (np.einsum("ki,ki->k", u, v) for u, v in ((e1, e1), (e1, e2), (e2, e2)))
    h1, h2 = np.einsum("ki,ki->k", d, e1), np.einsum("ki,ki->k", d, e2)
    det = g11 * g22 - g12 * g12
    x = (g22 * h1 - g12 * h2) / det
    y = (g11 * h2 - g12 * h1) / det
    return np.stack([1 - x - y, x, y], axis=1)
