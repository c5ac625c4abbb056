"""Analytic integrals of 1/R over flat triangles: the inner integrals of the symmetric BEM.

For an observation point r and a triangle T with unit normal n, the
integrals of 1/R (R = |r - r'|) over T, of the in-plane vector
(rho' - rho)/R, of the linear (P1) basis functions over R and the gradient
of the first with respect to r have closed forms in terms of the edges of T
(D. R. Wilton et al., IEEE Trans. Antennas Propag. 32:276, 1984; R. D.
Graglia, IEEE Trans. Antennas Propag. 41:1448, 1993). With h = (r - y_0).n
the height of r above the plane, rho = r - h n its projection, and for each
edge i from y_i to y_{i+1} its unit tangent l_i, outward in-plane normal
m_i = l_i x n, t_i = (y_i - rho).m_i, s^-_i = (y_i - rho).l_i,
s^+_i = (y_{i+1} - rho).l_i, R0_i^2 = t_i^2 + h^2, R^-_i, R^+_i the distances
from r to the edge's ends and f_i = ln[(R^+_i + s^+_i) / (R^-_i + s^-_i)]:

    int_T 1/R dS'                = sum_i t_i f_i - |h| sum_i beta_i
    int_T (rho' - rho)/R dS'     = 1/2 sum_i m_i (R0_i^2 f_i + s^+_i R^+_i - s^-_i R^-_i)
    grad_r int_T 1/R dS'         = -sum_i m_i f_i - sign(h) n sum_i beta_i

with beta_i = atan[t_i s^+_i / (R0_i^2 + |h| R^+_i)] - atan[t_i s^-_i / (R0_i^2 + |h| R^-_i)].
The P1 integrals follow from the linearity of each basis function phi_a in
the plane: int phi_a / R = phi_a(rho) int 1/R + grad(phi_a).int (rho' - rho)/R,
and the double layer of phi_a, int phi_a n.(r - r')/R^3 dS' = int phi_a h/R^3,
from int h/R^3 = sign(h) sum_i beta_i (the solid angle) and
int (rho' - rho)/R^3 = -sum_i m_i f_i: it is
phi_a(rho) sign(h) sum_i beta_i - h grad(phi_a).sum_i m_i f_i.

All functions take k points and t triangles and return (k, t, ...) arrays;
the caller chunks them (about 40 doubles are live per pair). With
``paired``, the leading shapes of points (..., 3) and corners (..., 3, 3)
broadcast instead: points (P, q, 3) with corners (P, 1, 3, 3) give q
points on each of P triangles, the triangles' own terms computed once.
"""

from __future__ import annotations

import numpy as np

#: Below this R0 (relative to the edge length) the point lies on the edge's line.
_ON_LINE = 1e-12
#: Below this |h| (relative to the triangle's size) the point lies in its plane.
_IN_PLANE = 1e-12


def _edge_terms(points: np.ndarray, corners: np.ndarray):
    """Per pair and edge: t, s-, s+, R0^2, R-, R+, f, beta, m; and h, n, rho.

    ``points`` (..., 3) and ``corners`` (..., 3, 3) as [..., corner, xyz],
    counterclockwise seen from the side the normal points to; their leading
    shapes broadcast (``points[:, None]`` with ``corners[None]`` for every
    point and triangle, equal shapes for paired ones).
    """
    y0, y1, y2 = corners[..., 0, :], corners[..., 1, :], corners[..., 2, :]
    normal = np.cross(y1 - y0, y2 - y0)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    h = np.einsum("...i,...i->...", points - y0, normal)
    # A point of the triangle's plane computed with rounding errors is in the
    # plane: its sign(h) would otherwise pick one side's limit of the double
    # layer and of the gradient (a jump of 2 pi) instead of their mean.
    size = np.linalg.norm(y1 - y0, axis=-1) + np.linalg.norm(y2 - y0, axis=-1)
    h = np.where(np.abs(h) <= _IN_PLANE * size, 0.0, h)
    rho = points - h[..., None] * normal
    abs_h = np.abs(h)
    out = []
    for i in range(3):
        start, end = corners[..., i, :], corners[..., (i + 1) % 3, :]
        length = np.linalg.norm(end - start, axis=-1)
        tangent = (end - start) / length[..., None]
        m = np.cross(tangent, normal)                                 # outward, in-plane
        to_start = start - rho
        t = np.einsum("...i,...i->...", to_start, m)
        s_minus = np.einsum("...i,...i->...", to_start, tangent)
        s_plus = s_minus + length
        r0_sq = t * t + h * h
        r_minus = np.sqrt(r0_sq + s_minus * s_minus)
        r_plus = np.sqrt(r0_sq + s_plus * s_plus)
        f = _log_ratio(r_minus, r_plus, s_minus, s_plus, r0_sq, length)
        beta = (np.arctan2(t * s_plus, r0_sq + abs_h * r_plus)
                - np.arctan2(t * s_minus, r0_sq + abs_h * r_minus))
        out.append((t, s_minus, s_plus, r0_sq, r_minus, r_plus, f, beta, m))
    return out, h, normal, rho


def _log_ratio(r_minus, r_plus, s_minus, s_plus, r0_sq, length):
    """ln[(R+ + s+)/(R- + s-)] without cancellation; 0 where the point is on the edge.

    (R + s)(R - s) = R0^2, so the ratio is also (R- - s-)/(R+ - s+), used
    when the edge lies behind the foot of the perpendicular (s+ <= 0); when
    the foot is inside the edge both forms lose digits and the product form
    (R+ + s+)(R- - s-)/R0^2 is used. On the closed edge itself (R0 = 0, ends
    included) the logarithm is infinite, but the integrals multiply it by
    t = 0 or R0^2 = 0: it is set to 0 (for the gradient, which is infinite
    there, that leaves its finite part).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ahead = np.log((r_plus + s_plus) / (r_minus + s_minus))
        behind = np.log((r_minus - s_minus) / (r_plus - s_plus))
        across = np.log((r_plus + s_plus) * (r_minus - s_minus) / r0_sq)
    f = np.where(s_minus >= 0, ahead, np.where(s_plus <= 0, behind, across))
    on_edge = (r0_sq <= (_ON_LINE * length) ** 2) & (s_minus <= 0) & (s_plus >= 0)
    return np.where(on_edge, 0.0, f)


def _arrange(points, corners, paired: bool):
    """Float arrays shaped for :func:`_edge_terms`: every pair, or ``paired`` row by row."""
    points = np.asarray(points, np.float64)
    corners = np.asarray(corners, np.float64)
    if paired:
        return points, corners
    return points[:, None, :], corners[None]


def potential_integrals(points: np.ndarray, corners: np.ndarray,
                        paired: bool = False) -> np.ndarray:
    """int_T 1/|r - r'| dS' for every point and triangle, shape (k, t), in metres.

    ``points`` (k, 3) and ``corners`` (t, 3, 3) in metres; with ``paired``,
    k = t and point i goes with triangle i only (result (k,)), or any
    shapes that broadcast (module docstring). Exact for any
    position of the point, on the triangle included (the integral is finite).
    """
    terms, h, _, _ = _edge_terms(*_arrange(points, corners, paired))
    return _potential(terms, h)


def _potential(terms, h) -> np.ndarray:
    total = np.zeros_like(h)
    beta_sum = np.zeros_like(h)
    for t, _, _, _, _, _, f, beta, _ in terms:
        total += t * f
        beta_sum += beta
    return total - np.abs(h) * beta_sum


def linear_potential_integrals(points: np.ndarray, corners: np.ndarray,
                               paired: bool = False) -> np.ndarray:
    """int_T phi_a(r') / |r - r'| dS' for the three P1 basis functions, shape (k, t, 3).

    phi_a is 1 at corner a and 0 at the other two (metres, like
    :func:`potential_integrals`, which is their sum); ``paired`` as there.
    """
    points, corners = _arrange(points, corners, paired)
    terms, h, normal, rho = _edge_terms(points, corners)
    scalar = np.zeros_like(h)
    beta_sum = np.zeros_like(h)
    vector = np.zeros(h.shape + (3,))
    for t, s_minus, s_plus, r0_sq, r_minus, r_plus, f, beta, m in terms:
        scalar += t * f
        beta_sum += beta
        vector += 0.5 * (r0_sq * f + s_plus * r_plus - s_minus * r_minus)[..., None] * m
    scalar -= np.abs(h) * beta_sum
    result = np.empty(h.shape + (3,))
    for a, grad in enumerate(_p1_gradients(corners, normal)):
        value_at_rho = 1.0 + np.einsum("...i,...i->...", rho - corners[..., a, :], grad)
        result[..., a] = value_at_rho * scalar + np.einsum("...i,...i->...", vector, grad)
    return result


def _p1_gradients(corners, normal):
    """In-plane gradients of the three P1 basis functions, each (..., 3) in 1/m."""
    double_area = np.linalg.norm(np.cross(corners[..., 1, :] - corners[..., 0, :],
                                          corners[..., 2, :] - corners[..., 0, :]), axis=-1)
    return [np.cross(normal, corners[..., (a + 2) % 3, :] - corners[..., (a + 1) % 3, :])
            / double_area[..., None] for a in range(3)]


def linear_double_layer_integrals(points: np.ndarray, corners: np.ndarray,
                                  paired: bool = False) -> np.ndarray:
    """int_T phi_a(r') n.(r - r') / |r - r'|^3 dS' for the P1 basis functions, (k, t, 3).

    Dimensionless; their sum over a is the solid angle the triangle
    subtends at r, positive on the side the normal points to (the opposite
    sign of :func:`mne_cli.geometry.solid_angle.solid_angles`). In the
    triangle's plane (within 1e-12 of its size) the value is 0, the
    principal value, the mean of the limits from either side. ``paired`` as
    in :func:`potential_integrals`.
    """
    points, corners = _arrange(points, corners, paired)
    return _linear_double_layer(corners, *_edge_terms(points, corners))


def potential_and_double_layer_integrals(points: np.ndarray, corners: np.ndarray,
                                         paired: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`potential_integrals` and :func:`linear_double_layer_integrals` at once.

    The two share the edge terms, the costly part: (k, t) in m and (k, t, 3).
    """
    points, corners = _arrange(points, corners, paired)
    terms, h, normal, rho = _edge_terms(points, corners)
    return _potential(terms, h), _linear_double_layer(corners, terms, h, normal, rho)


def _linear_double_layer(corners, terms, h, normal, rho) -> np.ndarray:
    beta_sum = np.zeros_like(h)
    edge_sum = np.zeros(h.shape + (3,))
    for _, _, _, _, _, _, f, beta, m in terms:
        beta_sum += beta
        edge_sum += f[..., None] * m
    omega = np.sign(h) * beta_sum
    result = np.empty(h.shape + (3,))
    for a, grad in enumerate(_p1_gradients(corners, normal)):
        value_at_rho = 1.0 + np.einsum("...i,...i->...", rho - corners[..., a, :], grad)
        result[..., a] = (value_at_rho * omega
                          - h * np.einsum("...i,...i->...", edge_sum, grad))
    return result


def potential_integral_gradients(points: np.ndarray, corners: np.ndarray,
                                 paired: bool = False) -> np.ndarray:
    """grad_r int_T 1/|r - r'| dS', shape (k, t, 3) (dimensionless: m^2 / m^2).

    Equal to -int_T (r - r')/R^3 dS'. Its normal component is minus the
    solid angle the triangle subtends at r (signed by the side of the
    normal r lies on). On the triangle the normal component jumps by
    4 pi; its mean, 0, is returned there. Infinite on the triangle's edges,
    where the finite part is returned. ``paired`` as in :func:`potential_integrals`.
    """
    terms, h, normal, _ = _edge_terms(*_arrange(points, corners, paired))
    gradient = np.zeros(h.shape + (3,))
    beta_sum = np.zeros_like(h)
    for _, _, _, _, _, _, f, beta, m in terms:
        gradient -= f[..., None] * m
        beta_sum += beta
    gradient -= (np.sign(h) * beta_sum)[..., None] * normal
    return gradient
