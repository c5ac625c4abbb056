"""Subdivided icosahedra (SPEC section 4), the templates of --ico options.

Grade k has 10 * 4**k + 2 unit vertices and 20 * 4**k triangles, counter-
clockwise seen from outside.  The numbering follows the subdivision rule
MNE-C used, so that surfaces made from these templates (FreeSurfer
watershed surfaces, MNE source spaces) can be matched index for index.
"""

from __future__ import annotations

from functools import cache

import numpy as np

MAX_GRADE = 7


def icosahedron(grade: int, tabulated: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (unit vectors, shape (n, 3)) and 0-based triangles (t, 3) of grade ``grade``.

    ``tabulated`` rounds the vertices to four decimals, as MNE's icosahedron
    tables list them; the surface normals MNE-C stores for --ico meshes come
    from those rounded vertices.
    """
    if not 0 <= grade <= MAX_GRADE:
        raise ValueError(f"icosahedron grade must be 0..{MAX_GRADE}, not {grade}")
    rr, tris = _icosahedron(grade)
    return (rr.round(4) if tabulated else rr.copy()), tris.copy()


def grade_of_triangle_count(ntri: int) -> int | None:
    """The grade g with 20 * 4**g == ntri, or None when there is none."""
    grade = 0
    while 20 * 4 ** grade < ntri:
        grade += 1
    return grade if 20 * 4 ** grade == ntri else None


@cache
def _icosahedron(grade: int) -> tuple[np.ndarray, np.ndarray]:
    if grade == 0:
        return _base()
    rr, tris = _icosahedron(grade - 1)
    return _subdivide(rr, tris)


def _base() -> tuple[np.ndarray, np.ndarray]:
    z = 1 / np.sqrt(5)
    rho = 2 / np.sqrt(5)
    upper = np.deg2rad(np.arange(0, 360, 72))
    lower = upper - np.deg2rad(36)
    rr = np.vstack([
        [0, 0, 1],
        np.column_stack([rho * np.cos(upper), rho * np.sin(upper), np.full(5, z)]),
        np.column_stack([rho * np.cos(lower), rho * np.sin(lower), np.full(5, -z)]),
        [0, 0, -1],
    ])
    tris = np.array([
        (0, 3, 4), (0, 4, 5), (0, 5, 1), (0, 1, 2), (0, 2, 3), (3, 2, 8), (3, 8, 9),
        (3, 9, 4), (4, 9, 10), (4, 10, 5), (5, 10, 6), (5, 6, 1), (1, 6, 7), (1, 7, 2),
        (2, 7, 8), (8, 11, 9), (9, 11, 10), (10, 11, 6), (6, 11, 7), (7, 11, 8)])
    return rr, tris


def _subdivide(rr: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split every triangle in four at its normalised edge midpoints.

    Midpoints are numbered in the order first met, visiting the parents in
    order and, within one, the edges ac, bc, ab.
    """
    ntri = len(tris)
    a, b, c = tris.T
    # Edges in visiting order: per parent ac, bc, ab.
    edges = np.stack([np.stack([a, c], 1), np.stack([b, c], 1), np.stack([a, b], 1)], 1)
    keys = np.sort(edges.reshape(-1, 2), axis=1)
    key_codes = keys[:, 0] * len(rr) + keys[:, 1]
    _, first, inverse = np.unique(key_codes, return_index=True, return_inverse=True)
    # Number the distinct edges by their first occurrence.
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    mid_index = len(rr) + rank[inverse].reshape(ntri, 3)
    mids = rr[keys[np.sort(first)]].sum(axis=1)
    mids /= np.linalg.norm(mids, axis=1, keepdims=True)
    new_rr = np.vstack([rr, mids])
    m_ac, m_bc, m_ab = mid_index.T
    children = np.stack([
        np.stack([a, m_ab, m_ac], 1),
        np.stack([m_ac, m_bc, c], 1),
        np.stack([m_ab, m_bc, m_ac], 1),
        np.stack([m_ab, b, m_bc], 1),
    ], 1)
    return new_rr, children.reshape(-1, 3)
