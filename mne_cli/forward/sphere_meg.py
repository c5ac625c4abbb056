"""MEG field of current dipoles in a spherically symmetric conductor (Sarvas 1987).

The field outside a spherically symmetric conductor depends only on the
origin, not on the conductivities; radial dipoles produce none (SPEC 9.9).
"""

from __future__ import annotations

import numpy as np

from .sensors import SensorSet

#: mu0 / (4 pi), T m / A.
MAG_FACTOR = 1e-7
#: Sources closer than this to the sphere origin (m) produce no field.
ORIGIN_TOLERANCE = 1e-10
#: Source-chunk size: bounds the (points x sources) temporaries to ~25 MB each.
_PAIRS_PER_CHUNK = 1 << 20


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
    """
    combine = sensors.combiner()
    r = sensors.points - origin
    n = sensors.directions
    gain = np.empty((sensors.nchan, 3 * len(sources)))
    step = max(1, _PAIRS_PER_CHUNK // max(len(r), 1))
    for start in range(0, len(sources), step):
        rq = sources[start:start + step] - origin
        field = _sarvas(r, n, rq)  # (npts, nchunk, 3)
        gain[:, 3 * start:3 * (start + len(rq))] = combine @ field.reshape(len(r), -1)
    return gain


def _sarvas(r: np.ndarray, n: np.ndarray, rq: np.ndarray) -> np.ndarray:
    """B(r) . n as a vector in the dipole moment, shape (npts, nsrc, 3).

    With A = r - rq, a = |A|, rho = |r| and F = a (rho a + rho^2 - rq.r):
    B . n = mu0/4pi Q . [(rq x n) / F - (grad F . n) (rq x r) / F^2].
    """
    rho = np.linalg.norm(r, axis=1)[:, None]                        # (npts, 1)
    r_dot_n = np.einsum("pi,pi->p", r, n)[:, None]
    rq_dot_r = r @ rq.T                                              # (npts, nsrc)
    rq_dot_n = n @ rq.T
    a2 = (rho ** 2 + np.einsum("si,si->s", rq, rq)[None, :]) - 2 * rq_dot_r
    a = np.sqrt(a2)
    a_dot_r = rho ** 2 - rq_dot_r                                    # A . r
    F = a * (rho * a + rho ** 2 - rq_dot_r)
    grad_r = a2 / rho + a_dot_r / a + 2 * a + 2 * rho                # coefficient of r
    grad_rq = a + 2 * rho + a_dot_r / a                              # coefficient of -rq
    grad_n = grad_r * r_dot_n - grad_rq * rq_dot_n
    near_origin = np.linalg.norm(rq, axis=1) <= ORIGIN_TOLERANCE
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_f = np.where(near_origin[None, :], 0.0, 1.0 / F)
    c1 = MAG_FACTOR * inv_f
    c2 = MAG_FACTOR * grad_n * inv_f ** 2
    rq_x_n = np.cross(rq[None, :, :], n[:, None, :])                 # (npts, nsrc, 3)
    rq_x_r = np.cross(rq[None, :, :], r[:, None, :])
    return c1[..., None] * rq_x_n - c2[..., None] * rq_x_r
