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
