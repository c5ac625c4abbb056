"""MEG and EEG signals of current dipoles in a BEM conductor (SPEC 9.9).

The BEM solution S maps the infinite-medium potentials v0 at the BEM nodes
(vertices for linear collocation, triangle centroids for constant) to the
surface potentials. Every channel is a fixed linear functional of the
surface potentials, so the work splits in two:

* once per run, a *transfer matrix* T (channels x nodes): the electrode
  interpolation (EEG) or the magnetic coefficients of the surface currents
  (MEG), times S, times the node scaling m;
* per source chunk, v0 at all nodes, then one GEMM T @ v0 (plus the primary
  current field for MEG).

All BEM work is in MRI coordinates.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import InputError
from ..fiff.constants import BemApprox
from ..geometry.surface import nearest_surface_points, plane_coordinates, triangle_cross
from ..objects import BemSolution
from .sensors import SensorSet
from .sphere_meg import MAG_FACTOR

#: Point-by-node elements per chunk (~32 MB per float64 temporary).
_ELEMENTS_PER_CHUNK = 1 << 22


def bem_nodes(solution: BemSolution) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Collocation nodes of the solution, in solution-matrix order.

    Returns
    -------
    nodes : ndarray, shape (N, 3)
        Vertices (linear collocation) or triangle centroids (constant), m.
    areas : ndarray, shape (N, 3)
        Area-weighted normals carried by each node, m^2: the triangle's
        area times its unit normal (constant), or a third of that summed
        over the vertex's triangles (linear).
    surface : ndarray, shape (N,), int
        Index of the node's surface in ``solution.surfaces``.
    """
    nodes, areas, surface = [], [], []
    for k, surf in enumerate(solution.surfaces):
        half_cross = triangle_cross(surf.rr, surf.tris) / 2  # area x unit normal
        if solution.approx == BemApprox.CONSTANT:
            nodes.append(surf.rr[surf.tris].mean(axis=1))
            areas.append(half_cross)
        else:
            share = np.zeros_like(surf.rr)
            for corner in range(3):
                np.add.at(share, surf.tris[:, corner], half_cross / 3)
            nodes.append(surf.rr)
            areas.append(share)
        surface.append(np.full(len(nodes[-1]), k))
    return np.concatenate(nodes), np.concatenate(areas), np.concatenate(surface)


def node_multipliers(solution: BemSolution, surface: np.ndarray) -> np.ndarray:
    """m_j = source_mult(surface of j) / (4 pi) for every node, shape (N,)."""
    from ..bem.solution import conductivity_factors

    source_mult, _, _ = conductivity_factors([s.sigma for s in solution.surfaces])
    return source_mult[surface] / (4 * np.pi)


def meg_transfer(solution: BemSolution, sensors: SensorSet) -> np.ndarray:
    """T for MEG channels, shape (nchan, N): B_volume = T @ v0 (mu0/4pi included).

    The magnetic field of the secondary currents on a node's surface
    element at coil point p is ((p - r_j) x a_j) . n_p / |p - r_j|^3 with
    a_j the node's area-weighted normal, times the conductivity jump of the
    surface (``field_mult``). ``sensors`` must be in MRI coordinates.
    """
    from ..bem.solution import conductivity_factors

    nodes, areas, surface = bem_nodes(solution)
    _, field_mult, _ = conductivity_factors([s.sigma for s in solution.surfaces])
    combine = sensors.combiner().tocsc()
    coeff = np.zeros((sensors.nchan, len(nodes)))
    # ((p - r) x a) . n = (n x p) . a - (r x a) . n: expanded, every product is
    # a small GEMM over the 3 coordinates.
    node_r_cross_a = np.cross(nodes, areas)
    for rows in _chunks(len(sensors.points), len(nodes)):
        p, n = sensors.points[rows], sensors.directions[rows]
        triple = np.cross(n, p) @ areas.T - n @ node_r_cross_a.T    # ((p - r) x a) . n
        dist2 = (np.einsum("pi,pi->p", p, p)[:, None] + np.einsum("ji,ji->j", nodes, nodes)
                 - 2 * p @ nodes.T)
        triple /= dist2 * np.sqrt(dist2)
        coeff += combine[:, rows] @ triple
    coeff *= MAG_FACTOR * field_mult[surface]
    return _through_solution(coeff, solution, surface)


def eeg_transfer(solution: BemSolution, sensors: SensorSet, source: str) -> np.ndarray:
    """T for EEG channels, shape (nchan, N): V = T @ v0.

    Each electrode point is assigned the scalp (first surface) triangle
    nearest to it. Linear collocation interpolates the node potentials
    linearly on that triangle's plane, at the foot of the point (the
    coordinates are not clamped to the triangle, as in MNE-C and
    MNE-Python); constant collocation takes the triangle's value.
    """
    if len(solution.surfaces) < 3:
        raise InputError(f"Cannot use a homogeneous model in EEG calculations ({source} has "
                         "one surface); use a three-layer BEM.")
    scalp = solution.surfaces[0]
    tri, _, _ = nearest_surface_points(sensors.points, scalp.rr, scalp.tris)
    bary = plane_coordinates(sensors.points, scalp.rr[scalp.tris[tri]])
    interp = np.zeros((sensors.nchan, len(solution.solution)))
    if solution.approx == BemApprox.CONSTANT:
        np.add.at(interp, (sensors.channel, tri), sensors.weights)
    else:
        for corner in range(3):
            np.add.at(interp, (sensors.channel, scalp.tris[tri, corner]),
                      sensors.weights * bary[:, corner])
    _, _, surface = bem_nodes(solution)
    return _through_solution(interp, solution, surface)


def _through_solution(coeff: np.ndarray, solution: BemSolution,
                      surface: np.ndarray) -> np.ndarray:
    """coeff @ S, with the columns scaled by the node multipliers."""
    used = np.flatnonzero(np.any(coeff != 0, axis=0))  # EEG touches only scalp nodes
    transfer = coeff[:, used] @ np.asarray(solution.solution)[used]
    transfer *= node_multipliers(solution, surface)
    return transfer


def bem_gain(sources: np.ndarray, nodes: np.ndarray, transfer: np.ndarray,
             rotation: np.ndarray, source_chunk: int = 256) -> Iterator[tuple[slice, np.ndarray]]:
    """T @ v0 for unit dipoles, chunk by chunk over sources.

    Parameters
    ----------
    sources : ndarray, shape (nsrc, 3)
        Dipole positions, MRI frame, metres.
    nodes : ndarray, shape (N, 3)
        BEM nodes, MRI frame.
    transfer : ndarray, shape (nchan, N)
    rotation : ndarray, shape (3, 3)
        Computation frame -> MRI rotation; the dipole components of the
        result are along the computation frame's axes.

    Yields
    ------
    columns : slice
        Columns 3k..3k+2 of the sources in the chunk.
    gain : ndarray, shape (nchan, 3 * nchunk)
    """
    nnode = len(nodes)
    v0 = np.empty((nnode, source_chunk, 3))
    dist = np.empty((nnode, source_chunk))
    for start in range(0, len(sources), source_chunk):
        rq = sources[start:start + source_chunk]
        k = len(rq)
        diff = v0[:, :k]
        np.subtract(nodes[:, None, :], rq[None, :, :], out=diff)   # r_j - r_q
        d = dist[:, :k]
        np.einsum("jsi,jsi->js", diff, diff, out=d)
        np.multiply(d, np.sqrt(d), out=d)
        np.divide(diff, d[..., None], out=diff)                     # (r_j - r_q)/|.|^3
        gain = transfer @ diff.reshape(nnode, 3 * k)                # MRI components
        gain = (gain.reshape(-1, k, 3) @ rotation).reshape(-1, 3 * k)
        yield slice(3 * start, 3 * (start + k)), gain


def primary_meg_gain(sources: np.ndarray, sensors: SensorSet) -> np.ndarray:
    """Field of the dipoles themselves (infinite medium), shape (nchan, 3 nsrc).

    B . n = mu0/4pi Q . ((p - r_q) x n) / |p - r_q|^3, in the frame shared by
    ``sources`` and ``sensors``.
    """
    combine = sensors.combiner()
    p, n = sensors.points, sensors.directions
    gain = np.empty((sensors.nchan, 3 * len(sources)))
    step = max(1, _ELEMENTS_PER_CHUNK // 8 // max(len(p), 1))
    for start in range(0, len(sources), step):
        rq = sources[start:start + step]
        diff = p[:, None, :] - rq[None, :, :]                          # (npts, nsrc, 3)
        d = np.einsum("psi,psi->ps", diff, diff)
        field = np.cross(diff, n[:, None, :]) / (d * np.sqrt(d))[..., None]
        gain[:, 3 * start:3 * (start + len(rq))] = combine @ field.reshape(len(p), -1)
    return MAG_FACTOR * gain


def _chunks(npoints: int, nnodes: int) -> Iterator[slice]:
    step = max(1, _ELEMENTS_PER_CHUNK // max(nnodes, 1))
    for start in range(0, npoints, step):
        yield slice(start, min(start + step, npoints))
