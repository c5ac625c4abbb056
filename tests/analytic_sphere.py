"""Exact potential of a current dipole in concentric conducting spheres.

An independent reference for tests of the BEM EEG solutions (constant and
linear collocation): the potential is written as a Legendre series and the
boundary-value problem is solved exactly, degree by degree. No Berg-Scherg
approximation is involved (that is what MNE-C's ``fwd_eeg_sphere_models.c``
and ``mne.make_sphere_model`` use; it agrees with this series to ~1e-3).

Physics
-------
Let ``L = len(radii)`` spheres with radii ``s_0 > s_1 > ... > s_{L-1}`` share
one centre. Compartment ``j`` is the shell ``s_{j+1} < rho <= s_j``
(``s_L = 0``) with conductivity ``sigmas[j]``; the dipole sits in the
innermost compartment ``L - 1`` and the outside of ``s_0`` is an insulator.

In an infinite medium of conductivity ``sigma = sigmas[-1]`` the dipole
potential ``q . (r - r0) / (4 pi sigma |r - r0|^3)`` expands, for
``rho = |r| > |r0|``, into ``sum_{n>=1} c_n(r_hat) rho^-(n+1)`` with::

    c_n = |r0|^(n-1) / (4 pi sigma) * [n P_n(u) q.r0_hat
                                       + P_n'(u) (q.r_hat - u q.r0_hat)]
    u = r_hat . r0_hat

(the gradient with respect to ``r0`` of the generating function of the
Legendre polynomials; at ``r0 = 0`` only ``n = 1`` survives and equals
``q.r_hat / (4 pi sigma)`` whatever ``r0_hat`` is taken to be). Every
degree is solved on its own: in compartment ``j`` the potential is
``c_n(r_hat) B_j rho^-(n+1) (1 + g_j (rho / s_j)^(2n+1))`` where ``B_{L-1} =
1`` fixes the source singularity and ``g_j`` is the ratio of the regular to
the singular part, scaled at the compartment's own outer radius. The outer
condition ``dV/drho = 0`` gives ``g_0 = (n + 1) / n``; continuity of ``V`` and
of ``sigma dV/drho`` at each interface gives ``g_j`` from ``g_{j-1}`` and then
``B_j / B_{j-1}``. Written this way every number stays of order one for any
degree (no ``rho^n`` overflow), unlike the textbook 2L-1 square system.

Reference level: the series has no ``n = 0`` term, so the potential averages
to zero over every sphere concentric with the model (in particular over the
scalp surface); it is not referred to infinity.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sphere_potential"]

# Points a few rounding errors outside the outermost sphere count as on it.
_SURFACE_SLACK = 1e-9


def _check_model(radii, sigmas) -> tuple[np.ndarray, np.ndarray]:
    radii = np.atleast_1d(np.asarray(radii, dtype=float))
    sigmas = np.atleast_1d(np.asarray(sigmas, dtype=float))
    if radii.ndim != 1 or radii.shape != sigmas.shape or radii.size == 0:
        raise ValueError(
            f"radii {radii.shape} and sigmas {sigmas.shape} must be 1-D and of the same "
            "length, outermost sphere first"
        )
    if not (np.all(np.isfinite(radii)) and np.all(radii > 0) and np.all(np.diff(radii) < 0)):
        raise ValueError(f"radii must be positive and strictly decreasing (outermost first), "
                         f"got {radii}")
    if not (np.all(np.isfinite(sigmas)) and np.all(sigmas > 0)):
        raise ValueError(f"sigmas must be positive and finite, got {sigmas}")
    return radii, sigmas


def _degree_coefficients(n: int, radii: np.ndarray, sigmas: np.ndarray):
    """Per-compartment coefficients of degree ``n``.

    Parameters
    ----------
    n : int
        Legendre degree, ``n >= 1``.
    radii, sigmas : ndarray, shape (L,)
        Sphere radii (m, outermost first) and conductivities inside them (S/m).

    Returns
    -------
    g : ndarray, shape (L,)
        ``g_j``: regular-to-singular ratio in compartment ``j`` scaled at its
        outer radius, i.e. the radial factor is ``1 + g_j (rho / s_j)^(2n+1)``.
    b : ndarray, shape (L,)
        ``B_j``: amplitude of the singular part ``rho^-(n+1)`` relative to the
        source compartment (``b[-1] == 1``).
    """
    nl = len(radii)
    g = np.empty(nl)
    b = np.empty(nl)
    g[0] = (n + 1.0) / n
    ratio = np.ones(nl)  # B_{j-1} / B_j, for j >= 1
    for j in range(1, nl):
        # Outer compartment j-1 seen at the interface radius s_j.
        g_out = g[j - 1] * (radii[j] / radii[j - 1]) ** (2 * n + 1)
        h = sigmas[j - 1] / sigmas[j] * (n * g_out - (n + 1.0)) / (1.0 + g_out)
        g[j] = (h + n + 1.0) / (n - h)
        ratio[j] = (1.0 + g[j]) / (1.0 + g_out)
    b[-1] = 1.0
    for j in range(nl - 1, 0, -1):
        b[j - 1] = b[j] * ratio[j]
    return g, b


def _sphere_series(points, r0, q, radii, sigmas, center=(0.0, 0.0, 0.0), tol=1e-12,
                   max_terms=2000, radial_derivative=False):
    """Sum the Legendre series; see :func:`sphere_potential`.

    Returns ``(V, dV/drho, n_terms)``; the derivative (V/m, along the outward
    radius from ``center``) is None unless ``radial_derivative`` is true.
    """
    radii, sigmas = _check_model(radii, sigmas)
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must have shape (k, 3), got {points.shape}")
    center = np.asarray(center, dtype=float).reshape(3)
    r0 = np.asarray(r0, dtype=float).reshape(3) - center
    q = np.asarray(q, dtype=float).reshape(3)
    rel = points - center
    rho = np.linalg.norm(rel, axis=1)
    r0_norm = float(np.linalg.norm(r0))
    if not r0_norm < radii[-1]:
        raise ValueError(f"dipole at {r0_norm:g} m from the centre is not strictly inside the "
                         f"innermost sphere (radius {radii[-1]:g} m)")
    if np.any(rho > radii[0] * (1.0 + _SURFACE_SLACK)):
        raise ValueError(f"{int(np.sum(rho > radii[0] * (1 + _SURFACE_SLACK)))} field point(s) "
                         f"lie outside the outermost sphere (radius {radii[0]:g} m); "
                         f"largest distance {rho.max():g} m")
    if np.any(rho <= r0_norm):
        raise ValueError(f"field points must be farther from the centre than the dipole "
                         f"({r0_norm:g} m); the series does not converge at "
                         f"{rho.min():g} m")
    k = len(points)
    pot = np.zeros(k)
    deriv = np.zeros(k) if radial_derivative else None
    if k == 0 or not np.any(q):
        return pot, deriv, 0

    r_hat = rel / rho[:, None]
    r0_hat = r0 / r0_norm if r0_norm > 0 else np.array([0.0, 0.0, 1.0])
    u = np.clip(r_hat @ r0_hat, -1.0, 1.0)
    a = float(q @ r0_hat)  # q . r0_hat
    bq = r_hat @ q  # q . r_hat
    tang = bq - u * a  # q . (r_hat - u r0_hat)
    # Compartment of each point: 0 = outermost; points on an interface take
    # the inner side (both sides agree by continuity).
    comp = np.sum(radii[None, 1:] >= rho[:, None], axis=1)
    x = r0_norm / rho  # < 1
    x_max = float(x.max())
    s_rho = rho / radii[comp]  # <= 1 (up to the surface slack)
    pref = 1.0 / (4.0 * np.pi * sigmas[-1] * rho**2)
    qn = float(np.linalg.norm(q))

    p_prev, p_cur = np.ones(k), u.copy()  # P_{n-1}, P_n
    dp_prev, dp_cur = np.zeros(k), np.ones(k)  # P'_{n-1}, P'_n
    xn = np.ones(k)  # x^(n-1)
    for n in range(1, max_terms + 1):
        g, b = _degree_coefficients(n, radii, sigmas)
        w = s_rho ** (2 * n + 1)
        gj, bj = g[comp], b[comp]
        angular = n * p_cur * a + dp_cur * tang
        common = pref * xn * bj
        pot += common * angular * (1.0 + gj * w)
        radial = None
        if radial_derivative:
            radial = (-(n + 1.0) + n * gj * w) / rho
            deriv += common * angular * radial
        # Convergence: a bound on this term's size, times a geometric tail
        # factor. |P_n| <= 1 and |q.(r_hat - u r0_hat)| <= |q| sqrt(1-u^2) with
        # sqrt(1-u^2) |P_n'| = |P_n^1| <= sqrt(n(n+1)) give |angular| <= (2n+1)|q|.
        bound = pref * xn * np.abs(bj) * (qn * (2 * n + 1)) * (1.0 + np.abs(gj) * w)
        if radial_derivative:
            bound = bound * (n + 1.0) * (1.0 + np.abs(gj)) / rho
            scale = max(np.abs(deriv).max(), np.abs(pot).max() / rho.max())
        else:
            scale = np.abs(pot).max()
        if n == 1:
            floor = bound.max() * 1e-3  # used only when every value is ~0
        tail = bound.max() / max(1.0 - x_max, 1e-300) if x_max > 0 else bound.max()
        if tail <= tol * max(scale, floor):
            return pot, deriv, n
        # Recurrences (stable also at u = +-1):
        # (n+1) P_{n+1} = (2n+1) u P_n - n P_{n-1};  P'_{n+1} = P'_{n-1} + (2n+1) P_n
        p_next = ((2 * n + 1) * u * p_cur - n * p_prev) / (n + 1)
        dp_next = dp_prev + (2 * n + 1) * p_cur
        p_prev, p_cur = p_cur, p_next
        dp_prev, dp_cur = dp_cur, dp_next
        xn = xn * x
    raise RuntimeError(f"sphere series did not reach tol={tol:g} in {max_terms} terms "
                       f"(dipole-to-point radius ratio up to {x_max:.6f}); raise max_terms "
                       "or keep the points farther from the dipole")


def sphere_potential(points, r0, q, radii, sigmas, center=(0.0, 0.0, 0.0), tol=1e-12,
                     max_terms=2000) -> np.ndarray:
    """Exact potential of a current dipole in concentric spheres.

    Parameters
    ----------
    points : array_like, shape (k, 3)
        Field points (m). Any point of the conductor farther from the centre
        than the dipole is allowed (in practice the outermost surface or
        shell); points up to 1e-9 relative outside the outer sphere count as
        on it.
    r0 : array_like, shape (3,)
        Dipole position (m), strictly inside the innermost sphere.
    q : array_like, shape (3,)
        Dipole moment (A m).
    radii : array_like, shape (L,)
        Sphere radii (m), strictly decreasing: outermost first, e.g. scalp,
        outer skull, inner skull ``(0.09, 0.085, 0.08)``.
    sigmas : array_like, shape (L,)
        Conductivity (S/m) inside each sphere, same order; ``sigmas[-1]``
        holds the dipole. Outside ``radii[0]`` is an insulator.
    center : array_like, shape (3,)
        Common centre of the spheres (m).
    tol : float
        Stop when a bound on the remaining terms is below ``tol`` times the
        largest ``|V|`` over the points.
    max_terms : int
        Largest Legendre degree tried before giving up.

    Returns
    -------
    V : ndarray, shape (k,)
        Potential (V). There is no ``n = 0`` term, so ``V`` has zero mean over
        any sphere concentric with the model (e.g. the scalp): this is the
        reference level, not a potential at infinity.

    Raises
    ------
    ValueError
        Dipole not strictly inside the innermost sphere, a point outside the
        outermost sphere or not farther from the centre than the dipole, or an
        invalid model.
    RuntimeError
        The series did not converge within ``max_terms`` degrees.
    """
    return _sphere_series(points, r0, q, radii, sigmas, center, tol, max_terms)[0]
