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
    cross = triangle_cross(rr, tris)
    nn = np.zeros_like(rr, dtype=np.float64)
    for corner in range(3):
        np.add.at(nn, tris[:, corner], cross)
    norms = np.linalg.norm(nn, axis=1, keepdims=True)
    np.divide(nn, norms, out=nn, where=norms > 0)
    return nn


def triangle_normals(rr: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit triangle normals, shape (t, 3), and triangle areas (m^2 for m input), shape (t,)."""
    cross = triangle_cross(rr, tris)
    double_area = np.linalg.norm(cross, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = cross / double_area[:, np.newaxis]
    return unit, double_area / 2


def template_normals(rr: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Vertex normals as the unweighted mean of the unit normals of incident triangles.

    MNE-C stores these for meshes decimated with --ico (computed on the
    icosahedron template, not on the subject's surface).
    """
    unit, _ = triangle_normals(rr, tris)
    nn = np.zeros_like(rr, dtype=np.float64)
    for corner in range(3):
        np.add.at(nn, tris[:, corner], unit)
    norms = np.linalg.norm(nn, axis=1, keepdims=True)
    np.divide(nn, norms, out=nn, where=norms > 0)
    return nn


def incident_triangle_counts(tris: np.ndarray, nvert: int) -> np.ndarray:
    """Number of triangles each vertex belongs to, shape (nvert,)."""
    return np.bincount(np.asarray(tris).ravel(), minlength=nvert)


def edge_multiplicity(tris: np.ndarray, nvert: int):
    """Sparse (nvert, nvert) matrix: entry (a, b) counts the triangles with edge a-b.

    On a closed manifold mesh every edge is shared by exactly two triangles.
    """
    import scipy.sparse

    tris = np.asarray(tris)
    rows = np.concatenate([tris[:, 0], tris[:, 1], tris[:, 2], tris[:, 1], tris[:, 2], tris[:, 0]])
    cols = np.concatenate([tris[:, 1], tris[:, 2], tris[:, 0], tris[:, 0], tris[:, 1], tris[:, 2]])
    ones = np.ones(len(rows), np.int64)
    matrix = scipy.sparse.coo_matrix((ones, (rows, cols)), shape=(nvert, nvert)).tocsr()
    matrix.sum_duplicates()
    return matrix
