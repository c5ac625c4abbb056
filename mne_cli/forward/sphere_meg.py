"""MEG field of current dipoles in a spherically symmetric conductor (Sarvas 1987).

The field outside a spherically symmetric conductor depends only on the
origin, not on the conductivities; radial dipoles produce none (SPEC 9.9).
"""

from __future__ import annotations

import numpy as np

from .blocks import as_vectors, run_blocks
from .sensors import SensorSet

#: mu0 / (4 pi), T m / A.
MAG_FACTOR = 1e-7
#: Sources closer than this to the sphere origin (m) produce no field.
ORIGIN_TOLERANCE = 1e-10


def sphere_meg_gain(sources: np.ndarray, sensors: SensorSet, origin: np.ndarray) -> np.ndarray:
    """Channel values for unit dipoles along x, y, z at each source.

    Parameters
    ----------
    sources : ndarray, shape (nsrc, 3)
        Dipole positions, metres, in the sensors' frame.
    sensors : SensorSet
        MEG integration points in the same frame.
    origin : ndarray, shape (3,)
        Sphere centre, metres.

    Returns
    -------
    gain : ndarray, shape (nchan, 3 * nsrc)
        T/(A m) (or T/m/(A m) for planar gradiometers); column 3k + i is
        source k with its moment along axis i.

    Notes
    -----
    With A = r - r_q, a = |A|, rho = |r| and F = a (rho a + rho^2 - r_q.r)
    (all relative to the origin), Sarvas' field gives
    B . n = mu0/4pi Q . (r_q x (c1 n - c2 r)) with c1 = 1/F and
    c2 = (grad F . n)/F^2. Since r_q does not depend on the integration
    point, the channel sum of c1 n - c2 r is formed first and crossed with
    r_q once per channel and source.
    """
    r = sensors.points - origin
    n = sensors.directions
    rq_all = np.asarray(sources, np.float64) - origin
    rho_all = np.linalg.norm(r, axis=1)
    r_dot_n_all = np.einsum("pi,pi->p", r, n)
    gain = np.empty((sensors.nchan, len(rq_all), 3))

    def task(channels: slice, points: slice, targets: slice, by_n, by_r) -> None:
        rq = rq_all[targets]
        c1, c2 = _sarvas_factors(r[points], n[points], rho_all[points, None],
                                 r_dot_n_all[points, None], rq)
        nch = channels.stop - channels.start
        summed = as_vectors(by_n @ c1 - by_r @ c2, nch)                 # (nch, nsrc, 3)
        gain[channels, targets] = np.cross(rq[None, :, :], summed)

    run_blocks(sensors, len(rq_all), (n, r), task)
    return MAG_FACTOR * gain.reshape(sensors.nchan, -1)


def _sarvas_factors(r: np.ndarray, n: np.ndarray, rho: np.ndarray, r_dot_n: np.ndarray,
                    rq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """c1 = 1/F and c2 = (grad F . n)/F^2 per (point, source), shape (npts, nsrc) each."""
    rq_dot_r = r @ rq.T
    rq_dot_n = n @ rq.T
    rho2 = rho * rho
    a = rho2 + np.einsum("si,si->s", rq, rq)[None, :] - 2 * rq_dot_r   # |A|^2
    a2 = a.copy()
    np.sqrt(a, out=a)
    a_dot_r = rho2 - rq_dot_r                                            # A . r
    f = a * (rho * a + rho2 - rq_dot_r)
    a_dot_r /= a
    # grad F = (a^2/rho + A.r/a + 2a + 2rho) r - (a + 2rho + A.r/a) r_q
    grad_n = (a2 / rho + a_dot_r + 2 * a + 2 * rho) * r_dot_n
    grad_n -= (a + 2 * rho + a_dot_r) * rq_dot_n
    near_origin = np.linalg.norm(rq, axis=1) <= ORIGIN_TOLERANCE
    with np.errstate(divide="ignore", invalid="ignore"):
        c1 = np.reciprocal(f, out=f)
        c1[:, near_origin] = 0.0
    grad_n *= c1
    grad_n *= c1
    return c1, grad_n
