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
