"""Solid angles of triangles seen from points (SPEC section 4)."""

from __future__ import annotations

import numpy as np

# Field points per chunk: bounds the (points x triangles) temporaries to a
# few tens of MB whatever the mesh size.
_CHUNK_PAIRS = 2_000_000


def solid_angle_sums(points: np.ndarray, rr: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Total solid angle (sr) a triangulated surface subtends at each point, shape (k,).

    4 pi for points inside a closed, outward-wound surface, 0 outside, -4 pi
    inside when the triangles are wound inward.
    """
    points = np.atleast_2d(np.asarray(points, np.float64))
    corners = np.asarray(rr, np.float64)[np.asarray(tris)]
    step = max(1, _CHUNK_PAIRS // max(len(tris), 1))
    return np.concatenate([
        solid_angles(points[start:start + step], corners).sum(axis=1)
        for start in range(0, len(points), step)
    ]) if len(points) else np.zeros(0)


def solid_angles(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Solid angle of every triangle at every point, shape (k, t).

    ``corners`` has shape (t, 3, 3): the three vertices of each triangle.
    Uses the Van Oosterom-Strackee formula
    Omega = 2 atan2(a.(b x c), |a||b||c| + (a.b)|c| + (a.c)|b| + (b.c)|a|).
    """
    a, b, c = (corners[np.newaxis, :, i, :] - points[:, np.newaxis, :] for i in range(3))
    la, lb, lc = (np.linalg.norm(v, axis=-1) for v in (a, b, c))
    triple = np.einsum("kti,kti->kt", a, np.cross(b, c))
    denominator = (la * lb * lc + np.einsum("kti,kti->kt", a, b) * lc
                   + np.einsum("kti,kti->kt", a, c) * lb + np.einsum("kti,kti->kt", b, c) * la)
    return 2 * np.arctan2(triple, denominator)
