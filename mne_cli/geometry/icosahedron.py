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


def octahedron(grade: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (unit vectors) and triangles of the grade-``grade`` subdivided octahedron.

    SPEC section 4: oct-n has 4**n + 2 vertices and 8 * 4**(n - 1) triangles;
    vertices are numbered in the order the triangles' corners first meet
    them (MNE's ``_tessellate_sphere``).
    """
    if not 1 <= grade <= MAX_GRADE:
        raise ValueError(f"octahedron grade must be 1..{MAX_GRADE}, not {grade}")
    rr, tris = _octahedron(grade)
    return rr.copy(), tris.copy()


@cache
def _octahedron(grade: int) -> tuple[np.ndarray, np.ndarray]:
    rr = np.array([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
    tris = np.array([(0, 4, 2), (2, 4, 1), (1, 4, 3), (3, 4, 0),
                     (0, 2, 5), (2, 1, 5), (1, 3, 5), (3, 0, 5)])[:, ::-1]
    for _ in range(grade - 1):
        p0, p1, p2 = tris.T
        mids = [rr[i] + rr[j] for i, j in ((p0, p2), (p0, p1), (p1, p2))]
        mids = [m / np.linalg.norm(m, axis=1, keepdims=True) for m in mids]
        ntri, nvert = len(tris), len(rr)
        a, b, c = (nvert + k * ntri + np.arange(ntri) for k in range(3))
        rr = np.vstack([rr, *mids])
        tris = np.stack([np.stack([p0, b, a], 1), np.stack([b, p1, c], 1),
                         np.stack([a, b, c], 1), np.stack([a, c, p2], 1)], 1).reshape(-1, 3)
    # Merge the duplicate midpoints (one per triangle sharing an edge),
    # numbering points in the order the triangle corners meet them.
    corners = rr[tris.ravel()]
    keys = np.round(corners * 1e9).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return corners[np.sort(first)], rank[inverse.ravel()].reshape(-1, 3)
