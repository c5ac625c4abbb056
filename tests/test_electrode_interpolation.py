"""EEG electrodes are interpolated on the truly nearest scalp triangle (issue 13, item 5).

mne_cli gives each electrode (and reference) the scalp triangle that holds
the point of the mesh nearest to it, found exactly; where several triangles
share that point (an edge or a corner), the one whose plane holds the
electrode's foot least outside it. The potential is then interpolated
linearly on that triangle's plane at the foot (barycentric coordinates not
clamped, as MNE-C and MNE-Python do).

MNE-Python (a port of MNE-C's nearest-triangle search) sometimes takes
another triangle for electrodes off the scalp: on the mgh70 montage with the
sample head, 4 of 71 electrode points (3 ties on an edge or corner, one
0.03 mm farther), which moves the EEG rows by 1.5e-2 relative (4 % for one
channel); on the sample montage, which lies on the scalp, both agree to
float32 precision (tests/test_forward_solution.py).

Every check here is against a brute-force search over all triangles
(tests/compare.py), written independently of mne_cli's pruned search.
"""

from __future__ import annotations

import numpy as np
import pytest

from mne_cli.fiff.constants import ChannelKind, Frame
from mne_cli.forward.bem_fields import eeg_coefficients
from mne_cli.forward.sensors import eeg_sensors
from mne_cli.geometry.icosahedron import icosahedron
from mne_cli.geometry.surface import nearest_surface_points
from mne_cli.io.bem import read_bem_solution
from mne_cli.io.meas import read_meas_info
from mne_cli.io.transform import read_head_mri_transform

from .compare import point_triangle_distances
from .conftest import case_file

#: Two triangles tie when their distances differ by less than this (m):
#: far above double-precision rounding of 0.1 m coordinates (1e-17 m), far
#: below any real difference of mesh distances.
TIE = 1e-12


def _plane_barycentric(points, corners):
    """Barycentric coordinates of the feet on the triangles' planes (normal equations)."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    e1, e2, d = b - a, c - a, points - a
    g = np.stack([np.stack([np.sum(e1 * e1, -1), np.sum(e1 * e2, -1)], -1),
                  np.stack([np.sum(e1 * e2, -1), np.sum(e2 * e2, -1)], -1)], -2)
    st = np.linalg.solve(g, np.stack([np.sum(d * e1, -1), np.sum(d * e2, -1)], -1)[..., None])
    s, t = st[..., 0, 0], st[..., 1, 0]
    return np.stack([1 - s - t, s, t], axis=-1)


def _reference_choice(points, rr, tris):
    """The brute-force nearest triangle, ties going to the least-outside foot.

    Of triangles equally good by both (a point straight out of a symmetric
    corner), the lowest-numbered.
    """
    dist = point_triangle_distances(points, rr, tris)
    chosen = np.empty(len(points), int)
    for k, row in enumerate(dist):
        tied = np.flatnonzero(row <= row.min() + TIE)
        outside = _plane_barycentric(np.repeat(points[k:k + 1], len(tied), 0),
                                     rr[tris[tied]]).min(axis=1)
        chosen[k] = tied[outside >= outside.max() - 1e-9][0]
    return chosen, dist


def _assert_nearest(points, rr, tris):
    tri, _, dist = nearest_surface_points(points, rr, tris)
    expected, all_dist = _reference_choice(points, rr, tris)
    np.testing.assert_allclose(dist, all_dist.min(axis=1), rtol=0, atol=TIE)
    np.testing.assert_array_equal(tri, expected)
    return tri


def test_nearest_triangle_on_a_synthetic_scalp():
    """Points 0-30 mm off an ico-2 head (coarse: many edge and corner feet)."""
    rng = np.random.default_rng(13)
    unit, tris = icosahedron(2)
    rr = unit * [0.08, 0.095, 0.09]
    directions = rng.normal(size=(400, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    points = directions * (0.09 + rng.uniform(-0.01, 0.03, (400, 1)))
    # Points straight out of vertices and edge midpoints: exact ties.
    points = np.concatenate([points, rr[:20] * 1.1,
                             (rr[tris[:20, 0]] + rr[tris[:20, 1]]) / 2 * 1.15])
    _assert_nearest(points, rr, tris)


@pytest.mark.parametrize("case", ["mgh70", "sample"])
def test_every_electrode_gets_the_nearest_triangle(sample_forward_inputs, case):
    """Electrodes and reference of a real montage on the sample scalp; the EEG coefficients."""
    meas = (case_file("mgh70_eeg_raw.fif") if case == "mgh70"
            else sample_forward_inputs["meas"])
    solution = read_bem_solution(sample_forward_inputs["sol"])
    scalp = solution.surfaces[0]
    head_mri = read_head_mri_transform(sample_forward_inputs["trans"]).towards(Frame.HEAD,
                                                                               Frame.MRI)
    channels = [ch for ch in read_meas_info(meas).channels if ch.kind == ChannelKind.EEG]
    sensors = eeg_sensors(channels, head_mri)
    tri = _assert_nearest(sensors.points, scalp.rr, scalp.tris)
    # Each channel's row: +/- the plane coordinates on that triangle, at its vertices.
    expected = np.zeros((len(channels), len(solution.solution)))
    bary = _plane_barycentric(sensors.points, scalp.rr[scalp.tris[tri]])
    for p, (c, w) in enumerate(zip(sensors.channel, sensors.weights)):
        for corner in range(3):
            expected[c, scalp.tris[tri[p], corner]] += w * bary[p, corner]
    got = eeg_coefficients(solution, sensors, "bem")
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_mne_python_takes_a_farther_or_tied_triangle(sample_forward_inputs):
    """Where MNE-Python's triangle differs (mgh70), it is never nearer than ours."""
    mne = pytest.importorskip("mne")
    from mne.surface import _project_onto_surface

    meas = case_file("mgh70_eeg_raw.fif")
    scalp = mne.read_bem_surfaces(sample_forward_inputs["bem"], verbose=False)[0]
    mne.surface.complete_surface_info(scalp, copy=False, verbose=False)
    head_mri = read_head_mri_transform(sample_forward_inputs["trans"]).towards(Frame.HEAD,
                                                                               Frame.MRI)
    channels = [ch for ch in read_meas_info(meas).channels if ch.kind == ChannelKind.EEG]
    points = np.unique(eeg_sensors(channels, head_mri).points, axis=0)  # 70 + reference
    ours, _, _ = nearest_surface_points(points, scalp["rr"], scalp["tris"])
    weights, theirs = _project_onto_surface(points, scalp)[:2]
    dist = point_triangle_distances(points, scalp["rr"], scalp["tris"])
    rows = np.arange(len(points))
    differ = ours != theirs
    assert 0 < differ.sum() <= 8     # 4 of 71 with MNE-Python 1.13
    assert (dist[rows, theirs] >= dist[rows, ours] - TIE).all()
    # Same triangle, same interpolation weights.
    bary = _plane_barycentric(points, scalp["rr"][scalp["tris"][ours]])
    np.testing.assert_allclose(weights[~differ], bary[~differ], rtol=0, atol=1e-9)
