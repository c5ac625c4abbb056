"""Analytic triangle integrals of 1/R (mne_cli.geometry.triangle_integrals; part of issue 17).

References, each independent of the closed forms:
* far from the triangle: a degree-5 rule on the triangle cut into 4^5 pieces
  (error ~ (size / distance)^6 / 4^15: below 1e-12 relative at 3 sizes away);
* in the plane (on, inside and outside the triangle, at a vertex, on an
  edge): the Duffy (polar) transform about the point, under which the
  integrand is smooth, with 40-point Gauss-Legendre rules (exact to rounding);
* near, off the plane: the gradient against central differences of the
  integral itself, and its normal component against the Van Oosterom solid
  angle (mne_cli.geometry.solid_angle), a different formula.
"""

from __future__ import annotations

import numpy as np
import pytest

from mne_cli.geometry.solid_angle import solid_angles
from mne_cli.geometry.triangle_integrals import (
    linear_double_layer_integrals,
    linear_potential_integrals,
    potential_integral_gradients,
    potential_integrals,
)

CORNERS = np.array([[0.01, 0.0, 0.0], [0.03, 0.005, 0.002], [0.012, 0.025, -0.003]])
CENTROID = CORNERS.mean(axis=0)
NORMAL = np.cross(CORNERS[1] - CORNERS[0], CORNERS[2] - CORNERS[0])
NORMAL /= np.linalg.norm(NORMAL)
SIZE = np.linalg.norm(CORNERS[1] - CORNERS[0])

# Dunavant's 7-point degree-5 rule: barycentric points and weights (sum 1).
_A, _B = 0.059715871789770, 0.470142064105115
_C, _D = 0.797426985353087, 0.101286507323456
BARY = np.array([[1 / 3] * 3, [_A, _B, _B], [_B, _A, _B], [_B, _B, _A],
                 [_C, _D, _D], [_D, _C, _D], [_D, _D, _C]])
WEIGHTS = np.array([0.225, *[0.132394152788506] * 3, *[0.125939180544827] * 3])


def _subdivided(corners, levels):
    tris = corners[None]
    for _ in range(levels):
        a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
        ab, bc, ca = (a + b) / 2, (b + c) / 2, (c + a) / 2
        tris = np.concatenate([np.stack(t, axis=1) for t in
                               ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))])
    return tris


def _barycentric(points, corners):
    """P1 basis values of the big triangle at points of its plane, (q, 3)."""
    system = np.vstack([corners.T, np.ones(3)])
    return np.linalg.lstsq(system, np.vstack([points.T, np.ones(len(points))]),
                           rcond=None)[0].T


def _quadrature(points, levels=5):
    """(int 1/R, int phi_a/R, grad int 1/R) by the subdivided degree-5 rule."""
    small = _subdivided(CORNERS, levels)
    area = 0.5 * np.linalg.norm(np.cross(small[:, 1] - small[:, 0], small[:, 2] - small[:, 0]),
                                axis=1)
    nodes = np.einsum("qa,tai->tqi", BARY, small).reshape(-1, 3)
    weights = (area[:, None] * WEIGHTS[None]).ravel()
    diff = points[:, None] - nodes[None]
    dist = np.linalg.norm(diff, axis=2)
    phi = _barycentric(nodes, CORNERS)
    return ((weights / dist).sum(axis=1), (weights / dist) @ phi,
            -np.einsum("kq,kqi->ki", weights / dist ** 3, diff))


def _duffy(point):
    """int 1/R and int phi_a/R for a point in the triangle's plane, by polar coordinates.

    The triangle is the signed sum of the three triangles (p, y_i, y_i+1);
    on each, r' = p + u (y_i - p + v (y_i+1 - y_i)) turns dS'/R into
    2 A_i du dv / |y_i - p + v (y_i+1 - y_i)|, polynomial in u and smooth
    in v, though sharply peaked for a point near an edge: 400 panels of 20
    Gauss points in v, 40 points in u.
    """
    x, w = np.polynomial.legendre.leggauss(40)
    x, w = (x + 1) / 2, w / 2
    g, gw = np.polynomial.legendre.leggauss(20)
    panels = np.linspace(0, 1, 401)
    v = ((panels[:-1, None] + panels[1:, None]) / 2 + np.diff(panels)[:, None] / 2 * g).ravel()
    vw = (np.diff(panels)[:, None] / 2 * gw).ravel()
    total, linear = 0.0, np.zeros(3)
    for i in range(3):
        a, b = CORNERS[i] - point, CORNERS[(i + 1) % 3] - CORNERS[i]
        signed = np.dot(np.cross(a, a + b), NORMAL)    # 2 x signed area of (p, y_i, y_i+1)
        if abs(signed) < 1e-30:
            continue
        ray = a[None, :] + v[:, None] * b[None, :]               # (v, 3)
        inv = 1 / np.linalg.norm(ray, axis=1)
        total += signed * (vw * inv).sum()
        nodes = point + x[:, None, None] * ray[None, :, :]        # (u, v, 3)
        phi = _barycentric(nodes.reshape(-1, 3), CORNERS).reshape(len(x), len(v), 3)
        linear += signed * np.einsum("u,v,v,uva->a", w, vw, inv, phi)
    return total, linear


def test_far_points_equal_quadrature():
    """Three or more triangle sizes away: all three integrals to 1e-11 of quadrature."""
    rng = np.random.default_rng(0)
    directions = rng.standard_normal((12, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    points = CENTROID + SIZE * rng.uniform(3, 10, (12, 1)) * directions
    scalar, linear, gradient = _quadrature(points)
    np.testing.assert_allclose(potential_integrals(points, CORNERS[None])[:, 0], scalar,
                               rtol=1e-11)
    np.testing.assert_allclose(linear_potential_integrals(points, CORNERS[None])[:, 0],
                               linear, rtol=1e-10)
    np.testing.assert_allclose(potential_integral_gradients(points, CORNERS[None])[:, 0],
                               gradient, rtol=1e-10, atol=1e-12 * np.abs(gradient).max())


@pytest.mark.parametrize("where", ["centroid", "vertex", "edge-midpoint", "inside-near-edge",
                                   "outside", "on-edge-line-outside"])
def test_points_in_the_plane_equal_polar_quadrature(where):
    """On and around the triangle, where the integrand is singular: 1e-12 relative."""
    point = {"centroid": CENTROID, "vertex": CORNERS[1],
             "edge-midpoint": (CORNERS[0] + CORNERS[2]) / 2,
             "inside-near-edge": 0.99 * (CORNERS[0] + CORNERS[1]) / 2 + 0.01 * CORNERS[2],
             "outside": CENTROID + 1.5 * (CENTROID - CORNERS[2]),
             "on-edge-line-outside": CORNERS[0] + 2.5 * (CORNERS[1] - CORNERS[0])}[where]
    scalar, linear = _duffy(point)
    ours = potential_integrals(point[None], CORNERS[None])[0, 0]
    ours_linear = linear_potential_integrals(point[None], CORNERS[None])[0, 0]
    assert abs(ours - scalar) <= 1e-12 * abs(scalar)
    np.testing.assert_allclose(ours_linear, linear, rtol=1e-11, atol=1e-13 * abs(scalar))
    assert abs(ours_linear.sum() - ours) <= 1e-14 * abs(ours)


@pytest.mark.parametrize("height", [1e-3, 1e-4, -2e-4, 1e-6])
@pytest.mark.parametrize("offset", [(0.0, 0.0), (0.3, 0.2), (1.2, -0.4)])
def test_gradient_near_the_triangle(height, offset):
    """Near the plane: the gradient equals central differences of the integral (1e-6
    relative: step 1e-9 m) and its normal part equals the Van Oosterom solid angle (1e-12)."""
    edge1, edge2 = CORNERS[1] - CORNERS[0], CORNERS[2] - CORNERS[0]
    point = CENTROID + offset[0] * edge1 / 3 + offset[1] * edge2 / 3 + height * NORMAL
    gradient = potential_integral_gradients(point[None], CORNERS[None])[0, 0]
    step = 1e-9
    central = np.array([(potential_integrals((point + step * e)[None], CORNERS[None])
                         - potential_integrals((point - step * e)[None], CORNERS[None]))[0, 0]
                        / (2 * step) for e in np.eye(3)])
    assert np.linalg.norm(gradient - central) <= 1e-6 * np.linalg.norm(gradient)
    omega = solid_angles(point[None], CORNERS[None])[0, 0]
    assert abs(gradient @ NORMAL - omega) <= 1e-12 * max(abs(omega), 1e-3)


def test_continuous_across_the_plane():
    """Through the triangle the integral is continuous with a kink: I(h) = I(0) - 2 pi |h|
    + O(h^2) inside (the solid angle seen from just above or below is 2 pi)."""
    point = CENTROID + 0.2 * (CORNERS[0] - CENTROID)
    height = 1e-9
    values = potential_integrals(np.array([point - height * NORMAL, point,
                                           point + height * NORMAL]), CORNERS[None])[:, 0]
    assert abs(values[0] - values[2]) <= 1e-15
    assert abs((values[1] - values[0]) / height - 2 * np.pi) <= 1e-5


def test_many_points_and_triangles_at_once():
    """Shapes (k, t[, 3]) and the same numbers as one pair at a time."""
    rng = np.random.default_rng(4)
    corners = CORNERS[None] + rng.normal(scale=0.004, size=(5, 3, 3))
    points = CENTROID + rng.normal(scale=0.02, size=(7, 3))
    table = linear_potential_integrals(points, corners)
    assert table.shape == (7, 5, 3)
    assert potential_integral_gradients(points, corners).shape == (7, 5, 3)
    single = linear_potential_integrals(points[3:4], corners[2:3])[0, 0]
    np.testing.assert_allclose(table[3, 2], single, rtol=1e-14)


@pytest.mark.parametrize("distance", [3.0, 0.5, 0.05])
def test_linear_double_layer(distance):
    """int phi_a n.(r - r')/R^3 against quadrature (far: 1e-11) or, near, against the
    normal derivative of int phi_a/R by central differences (1e-6); the sum over a is
    minus the Van Oosterom solid angle (1e-13)."""
    rng = np.random.default_rng(int(distance * 100))
    offsets = rng.standard_normal((5, 3))
    offsets /= np.linalg.norm(offsets, axis=1, keepdims=True)
    points = CENTROID + distance * SIZE * offsets
    ours = linear_double_layer_integrals(points, CORNERS[None])[:, 0]
    if distance >= 3:
        small = _subdivided(CORNERS, 5)
        area = 0.5 * np.linalg.norm(np.cross(small[:, 1] - small[:, 0],
                                             small[:, 2] - small[:, 0]), axis=1)
        nodes = np.einsum("qa,tai->tqi", BARY, small).reshape(-1, 3)
        weights = (area[:, None] * WEIGHTS[None]).ravel()
        diff = points[:, None] - nodes[None]
        kernel = weights * (diff @ NORMAL) / np.linalg.norm(diff, axis=2) ** 3
        np.testing.assert_allclose(ours, kernel @ _barycentric(nodes, CORNERS), rtol=1e-11)
    else:
        step = 1e-9
        derivative = (linear_potential_integrals(points - step * NORMAL, CORNERS[None])
                      - linear_potential_integrals(points + step * NORMAL, CORNERS[None]))[:, 0]
        np.testing.assert_allclose(ours, derivative / (2 * step), rtol=1e-6,
                                   atol=1e-9 * np.abs(ours).max())
    omega = solid_angles(points, CORNERS[None])[:, 0]
    np.testing.assert_allclose(ours.sum(axis=1), -omega, rtol=1e-13, atol=1e-15)


def test_paired_mode_is_the_diagonal():
    """paired=True: point i with triangle i only, the same numbers as the full table's diagonal."""
    rng = np.random.default_rng(9)
    corners = CORNERS[None] + rng.normal(scale=0.004, size=(6, 3, 3))
    points = CENTROID + rng.normal(scale=0.01, size=(6, 3))
    for function in (potential_integrals, linear_potential_integrals,
                     linear_double_layer_integrals, potential_integral_gradients):
        table = function(points, corners)
        paired = function(points, corners, paired=True)
        np.testing.assert_allclose(paired, table[np.arange(6), np.arange(6)], rtol=1e-14,
                                   atol=1e-18)
