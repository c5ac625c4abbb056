"""Icosahedra, solid angles, distances and mesh bookkeeping (mne_cli.geometry)."""

from __future__ import annotations

import numpy as np
import pytest

from mne_cli.geometry.icosahedron import grade_of_triangle_count, icosahedron
from mne_cli.geometry.solid_angle import solid_angle_sums, solid_angles
from mne_cli.geometry.surface import (
    distance_to_surface,
    edge_multiplicity,
    incident_triangle_counts,
    mean_unit_normals,
    triangle_normals,
)


@pytest.mark.parametrize("grade", range(5))
def test_icosahedron_counts_and_nesting(grade):
    rr, tris = icosahedron(grade)
    assert rr.shape == (10 * 4 ** grade + 2, 3) and tris.shape == (20 * 4 ** grade, 3)
    np.testing.assert_allclose(np.linalg.norm(rr, axis=1), 1, rtol=0, atol=1e-15)
    # Closed and wound outward: 4 pi seen from the centre, every edge in two triangles.
    assert solid_angle_sums(np.zeros(3), rr, tris)[0] == pytest.approx(4 * np.pi, rel=1e-12)
    assert set(edge_multiplicity(tris, len(rr)).data) == {2}
    # Subdivision appends vertices: a coarser grade is a prefix of a finer one.
    finer, _ = icosahedron(grade + 1)
    np.testing.assert_array_equal(finer[:len(rr)], rr)
    assert grade_of_triangle_count(len(tris)) == grade


def test_grade_of_triangle_count_rejects_other_counts():
    assert grade_of_triangle_count(316) is None and grade_of_triangle_count(0) is None


@pytest.mark.parametrize("grade", range(5))
def test_icosahedron_matches_mne_tables(grade):
    """Same triangles as MNE's icosahedron tables; vertices within their 4-decimal rounding."""
    surface = pytest.importorskip("mne.surface")
    table = surface._get_ico_surface(grade)
    rr, tris = icosahedron(grade)
    np.testing.assert_array_equal(tris, table["tris"])
    np.testing.assert_allclose(rr, table["rr"], rtol=0, atol=0.51e-4)
    tabulated, _ = icosahedron(grade, tabulated=True)
    # Rounded the same way but for a handful of values sitting on a rounding boundary.
    assert np.mean(np.abs(tabulated - table["rr"]) > 1e-6) < 2e-3


def test_solid_angle_of_an_octant_triangle():
    """The triangle (e_x, e_y, e_z) covers one eighth of the sphere seen from the origin."""
    corners = np.eye(3)[np.newaxis]
    assert solid_angles(np.zeros((1, 3)), corners)[0, 0] == pytest.approx(np.pi / 2, rel=1e-14)
    # From the mirror image of the origin (the other side) it is -pi/2; in its plane, zero.
    mirror = np.full((1, 3), 2 / 3)
    assert solid_angles(mirror, corners)[0, 0] == pytest.approx(-np.pi / 2, rel=1e-14)
    assert solid_angles(np.array([[2.0, -1.0, 0.0]]), corners)[0, 0] == pytest.approx(0, abs=1e-15)


def test_solid_angle_sums_inside_outside_reversed():
    rr, tris = icosahedron(3)
    points = np.array([[0.1, 0.2, -0.3], [2.0, 0.0, 0.0], [0.0, 0.0, 1.5]])
    np.testing.assert_allclose(solid_angle_sums(points, rr, tris) / (4 * np.pi), [1, 0, 0],
                               rtol=0, atol=1e-12)
    reversed_sum = solid_angle_sums(points[:1], rr, tris[:, ::-1])[0]
    assert reversed_sum == pytest.approx(-4 * np.pi, rel=1e-12)


def test_distance_to_surface_cases():
    """Plane, edge and corner regions of one triangle, and points near an ico-4 sphere."""
    rr = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    tris = np.array([[0, 1, 2]])
    points = np.array([[0.2, 0.2, 0.5], [0.5, -0.3, 0.0], [-0.3, -0.4, 0.0], [1, 1, 0]])
    expected = [0.5, 0.3, 0.5, np.sqrt(0.5)]
    np.testing.assert_allclose(distance_to_surface(points, rr, tris), expected, rtol=1e-14)
    sphere, sphere_tris = icosahedron(4)
    outside = np.array([[0.0, 0.0, 1.1], [0.0, 0.8, 0.0]])
    # The facets lie inside the unit sphere by at most ~1e-3 at ico-4.
    np.testing.assert_allclose(distance_to_surface(outside, sphere, sphere_tris), [0.1, 0.2],
                               atol=1.5e-3)


def test_triangle_and_mean_unit_normals():
    rr, tris = icosahedron(2)
    unit, area = triangle_normals(rr, tris)
    centroids = rr[tris].mean(axis=1)
    # Outward: each normal points away from the centre.
    assert (np.einsum("ti,ti->t", unit, centroids) > 0).all()
    # Ico-2 facets cover a bit less than the unit sphere's area.
    assert 0.97 * 4 * np.pi < area.sum() < 4 * np.pi
    nn = mean_unit_normals(rr, tris)
    np.testing.assert_allclose(np.linalg.norm(nn, axis=1), 1, rtol=1e-14)
    np.testing.assert_allclose(nn, rr, atol=0.02)  # close to the radial direction


def test_incident_triangle_counts():
    rr, tris = icosahedron(1)
    counts = incident_triangle_counts(tris, len(rr))
    assert counts[:12].tolist() == [5] * 12 and counts[12:].tolist() == [6] * 30
