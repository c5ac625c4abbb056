"""Comparisons of objects read by MNE-Python, shared by several test modules."""

from __future__ import annotations

import numpy as np
import scipy.sparse


def sparse_equal(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = scipy.sparse.csr_matrix(a), scipy.sparse.csr_matrix(b)
    return a.shape == b.shape and (a != b).nnz == 0


_KEYS = ("id", "type", "np", "ntri", "nuse", "nuse_tri", "coord_frame", "subject_his_id",
         "dist_limit", "shape", "mri_width", "mri_height", "mri_depth", "mri_volume_name",
         "mri_file", "seg_name")
_ARRAYS = ("rr", "nn", "inuse", "vertno", "tris", "use_tris", "nearest", "nearest_dist")


def assert_mne_spaces_equal(a, b):
    """Two MNE-Python readings agree on every field the file carries."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for key in _KEYS:
            assert x.get(key) == y.get(key), key
        for key in _ARRAYS:
            if y.get(key) is None:
                assert x.get(key) is None, key
            else:
                np.testing.assert_array_equal(x[key], y[key], err_msg=key)
        assert sparse_equal(x.get("dist"), y.get("dist"))
        assert sparse_equal(x.get("interpolator"), y.get("interpolator"))
        for key in ("src_mri_t", "vox_mri_t", "mri_ras_t"):
            if y.get(key) is None:
                assert x.get(key) is None, key
            else:
                assert x[key]["from"] == y[key]["from"] and x[key]["to"] == y[key]["to"]
                np.testing.assert_array_equal(x[key]["trans"], y[key]["trans"], err_msg=key)
        if y.get("neighbor_vert") is None:
            assert x.get("neighbor_vert") is None
        else:
            assert all(np.array_equal(p, q) for p, q in zip(x["neighbor_vert"], y["neighbor_vert"]))


def point_triangle_distances(points: np.ndarray, rr: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Exact distance of every point to every triangle, shape (k, t): a brute-force reference.

    The closest point of a triangle is its plane foot when that lies inside
    (barycentric coordinates from the 2x2 normal equations), otherwise the
    closest point of one of its three edges.
    """
    p = np.asarray(points, float)[:, None, :]                     # (k, 1, 3)
    a, b, c = (rr[tris[:, i]][None] for i in range(3))            # (1, t, 3)
    e1, e2, d = b - a, c - a, p - a
    g11, g12, g22 = (np.sum(u * v, axis=-1) for u, v in ((e1, e1), (e1, e2), (e2, e2)))
    h1, h2 = np.sum(d * e1, axis=-1), np.sum(d * e2, axis=-1)
    det = g11 * g22 - g12 ** 2
    s, t = (g22 * h1 - g12 * h2) / det, (g11 * h2 - g12 * h1) / det
    foot = a + s[..., None] * e1 + t[..., None] * e2
    inside = (s >= 0) & (t >= 0) & (s + t <= 1)
    best = np.where(inside, np.linalg.norm(p - foot, axis=-1), np.inf)
    for u, v in ((a, b), (b, c), (c, a)):
        edge = v - u
        f = np.clip(np.sum((p - u) * edge, axis=-1) / np.sum(edge * edge, axis=-1), 0, 1)
        best = np.minimum(best, np.linalg.norm(p - (u + f[..., None] * edge), axis=-1))
    return best
