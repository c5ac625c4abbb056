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
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import InputError
from ..fiff.constants import BemApprox
from ..geometry.surface import nearest_surface_points, plane_coordinates, triangle_cross
from ..objects import BemSolution
from ..parallel import workers
from .blocks import as_vectors, inverse_cubed_distances, run_blocks, slices
from .sensors import SensorSet
from .sphere_meg import MAG_FACTOR

#: Nodes per block of the infinite-medium potentials (blocks of 1 MB).
_NODE_BLOCK = 512
#: Rows of the BEM solution converted to float64 at a time.
_SOLUTION_ROWS = 512


def bem_nodes(solution: BemSolution) -> tuple[np.ndarray, np.ndarray]:
    """Collocation nodes of the solution, in solution-matrix order.

    Returns
    -------
    nodes : ndarray, shape (N, 3)
        Vertices (linear collocation) or triangle centroids (constant), m.
    areas : ndarray, shape (N, 3)
        Area-weighted normals carried by each node, m^2: the triangle's
        area times its unit normal (constant), or a third of that summed
        over the vertex's triangles (linear).
    """
    nodes, areas = [], []
    for surf in solution.surfaces:
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
    return np.concatenate(nodes), np.concatenate(areas)


def node_surfaces(solution: BemSolution) -> np.ndarray:
    """Index in ``solution.surfaces`` of each node's surface, shape (N,)."""
    constant = solution.approx == BemApprox.CONSTANT
    sizes = [len(s.tris) if constant else len(s.rr) for s in solution.surfaces]
    return np.repeat(np.arange(len(sizes)), sizes)


def node_multipliers(solution: BemSolution) -> np.ndarray:
    """m_j = source_mult(surface of j) / (4 pi) for every node, shape (N,)."""
    from ..bem.solution import conductivity_factors

    source_mult, _, _ = conductivity_factors([s.sigma for s in solution.surfaces])
    return source_mult[node_surfaces(solution)] / (4 * np.pi)


def meg_coefficients(solution: BemSolution, sensors: SensorSet) -> np.ndarray:
    """Node coefficients of MEG channels, shape (nchan, N) (mu0/4pi included).

    :func:`transfer_matrix` turns them into T, with B_volume = T @ v0.

    The magnetic field of the secondary currents on a node's surface
    element at coil point p is ((p - r_j) x a_j) . n_p / |p - r_j|^3 with
    a_j the node's area-weighted normal, times the conductivity jump of the
    surface (``field_mult``). ``sensors`` must be in MRI coordinates.
    """
    from ..bem.solution import conductivity_factors

    nodes, areas = bem_nodes(solution)
    _, field_mult, _ = conductivity_factors([s.sigma for s in solution.surfaces])
    # ((p - r_j) x a_j) . n_p = a_j . (n_p x p) - (r_j x a_j) . n_p: the
    # point-dependent vectors are summed per channel with 1/|p - r_j|^3 first.
    r_cross_a = np.cross(nodes, areas)
    n_cross_p = np.cross(sensors.directions, sensors.points)
    coeff = np.empty((sensors.nchan, len(nodes)))

    def task(channels: slice, points: slice, targets: slice, by_nxp, by_n) -> None:
        inv3 = inverse_cubed_distances(sensors.points[points], nodes[targets])
        nch = channels.stop - channels.start
        coeff[channels, targets] = (
            np.einsum("cti,ti->ct", as_vectors(by_nxp @ inv3, nch), areas[targets])
            - np.einsum("cti,ti->ct", as_vectors(by_n @ inv3, nch), r_cross_a[targets]))

    run_blocks(sensors, len(nodes), (n_cross_p, sensors.directions), task)
    coeff *= MAG_FACTOR * field_mult[node_surfaces(solution)]
    return coeff


def eeg_coefficients(solution: BemSolution, sensors: SensorSet, source: str) -> np.ndarray:
    """Node coefficients of EEG channels, shape (nchan, N).

    :func:`transfer_matrix` turns them into T, with V = T @ v0.

    Each electrode point is assigned the scalp (first surface) triangle
    nearest to it. Linear collocation (and the symmetric BEM, whose scalp
    potentials start at ``solution.scalp_column``) interpolates the node
    potentials linearly on that triangle's plane, at the foot of the point
    (the coordinates are not clamped to the triangle, as in MNE-C and
    MNE-Python); constant collocation takes the triangle's value.
    """
    if len(solution.surfaces) < 3:
        raise InputError(f"Cannot use a homogeneous model in EEG calculations ({source} has "
                         "one surface); use a three-layer BEM.")
    scalp = solution.surfaces[0]
    tri, _, _ = nearest_surface_points(sensors.points, scalp.rr, scalp.tris)
    bary = plane_coordinates(sensors.points, scalp.rr[scalp.tris[tri]])
    interp = np.zeros((sensors.nchan, solution.size))
    if solution.approx == BemApprox.CONSTANT:
        np.add.at(interp, (sensors.channel, tri), sensors.weights)
    else:
        for corner in range(3):
            np.add.at(interp, (sensors.channel, solution.scalp_column + scalp.tris[tri, corner]),
                      sensors.weights * bary[:, corner])
    return interp


def transfer_matrix(coeff: np.ndarray, solution: BemSolution) -> np.ndarray:
    """T = coeff @ S @ diag(m), shape (nchan, N).

    S stays in the precision it was read in (float32 from a file); slabs of
    its rows are converted to float64 on the fly, which saves a full
    double-precision copy of the N x N matrix. A factored system (no stored
    S) gives the product by linear solves.
    """
    if solution.solution is None:
        transfer = solution.factors.left_multiply(coeff)
        transfer *= node_multipliers(solution)
        return transfer
    matrix = solution.solution
    used = np.flatnonzero(np.any(coeff != 0, axis=0))  # EEG touches only scalp nodes
    transfer = np.zeros((len(coeff), matrix.shape[1]))
    for start in range(0, len(used), _SOLUTION_ROWS):
        rows = used[start:start + _SOLUTION_ROWS]
        if len(rows) == rows[-1] - rows[0] + 1:
            slab = matrix[rows[0]:rows[-1] + 1]
        else:
            slab = matrix[rows]
        transfer += coeff[:, rows] @ slab.astype(np.float64, copy=False)
    transfer *= node_multipliers(solution)
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
    for start, k, gain in _transfer_chunks(sources, nodes, transfer, _infinite_medium, 3,
                                           source_chunk):
        gain = gain.transpose(0, 2, 1) @ rotation                      # (nchan, k, 3)
        yield slice(3 * start, 3 * (start + k)), gain.reshape(-1, 3 * k)


def _transfer_chunks(sources: np.ndarray, nodes: np.ndarray, transfer: np.ndarray, fill,
                     nplanes: int, source_chunk: int):
    """(start, k, T @ planes as (nchan, nplanes, k)) for each chunk of k sources.

    ``fill(nodes, sources, out)`` writes ``nplanes`` per-node quantities of
    each source into ``out`` (nodes, nplanes, k); the worker threads fill
    blocks of nodes. Each plane is a contiguous (N, k) block the GEMM reads
    directly.
    """
    nnode = len(nodes)
    planes = np.empty((nnode, nplanes, source_chunk))
    node_blocks = list(slices(nnode, _NODE_BLOCK))
    with ThreadPoolExecutor(workers(len(node_blocks))) as pool:
        for start in range(0, len(sources), source_chunk):
            rq = sources[start:start + source_chunk]
            k = len(rq)
            chunk = planes[:, :, :k]
            list(pool.map(fill, (nodes[rows] for rows in node_blocks),
                          [rq] * len(node_blocks), (chunk[rows] for rows in node_blocks)))
            product = transfer @ chunk.reshape(nnode, nplanes * k)
            yield start, k, product.reshape(-1, nplanes, k)


def _infinite_medium(nodes: np.ndarray, rq: np.ndarray, out: np.ndarray) -> None:
    """out[j, i, s] = (r_j - r_q)_i / |r_j - r_q|^3 for a block of nodes."""
    np.subtract(nodes[:, :, None], rq.T[None, :, :], out=out)
    dist3 = out[:, 0] * out[:, 0]
    dist3 += out[:, 1] * out[:, 1]
    dist3 += out[:, 2] * out[:, 2]
    dist3 *= np.sqrt(dist3)
    np.reciprocal(dist3, out=dist3)
    out *= dist3[:, None, :]


def primary_meg_gain(sources: np.ndarray, sensors: SensorSet) -> np.ndarray:
    """Field of the dipoles themselves (infinite medium), shape (nchan, 3 nsrc).

    B . n = mu0/4pi Q . ((p - r_q) x n) / |p - r_q|^3, in the frame shared by
    ``sources`` and ``sensors``; (p - r_q) x n = p x n - r_q x n, so the
    channel sums of (p x n)/|p - r_q|^3 and n/|p - r_q|^3 suffice.
    """
    p_cross_n = np.cross(sensors.points, sensors.directions)
    gain = np.empty((sensors.nchan, len(sources), 3))

    def task(channels: slice, points: slice, targets: slice, by_pxn, by_n) -> None:
        rq = sources[targets]
        inv3 = inverse_cubed_distances(sensors.points[points], rq)
        nch = channels.stop - channels.start
        gain[channels, targets] = (as_vectors(by_pxn @ inv3, nch)
                                   - np.cross(rq[None, :, :], as_vectors(by_n @ inv3, nch)))

    run_blocks(sensors, len(sources), (p_cross_n, sensors.directions), task)
    return MAG_FACTOR * gain.reshape(sensors.nchan, -1)



#: The six distinct (i, j) pairs of a symmetric 3 x 3 tensor, and the place
#: of each of the nine (i, j) among them.
_PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
_SYMMETRIC = np.array([[0, 3, 4], [3, 1, 5], [4, 5, 2]])


def bem_gain_derivatives(sources: np.ndarray, nodes: np.ndarray, transfer: np.ndarray,
                         source_chunk: int = 128) -> Iterator[tuple[slice, np.ndarray]]:
    """Derivatives of T @ v0 with respect to the source positions, chunk by chunk.

    Analytic (no displaced evaluations): with d = r_j - r_q,
    d v0_i / d r_q,b = (3 d_i d_b / |d|^2 - delta_ib) / |d|^3, a symmetric
    tensor, so six GEMMs T @ (tensor plane) give everything. The tensor is
    formed in the computation frame (R^T D R is the same formula of R^T d),
    so dipole components and position coordinates both come out along the
    computation frame's axes.

    Parameters
    ----------
    sources : ndarray, shape (nsrc, 3)
        Dipole positions, computation frame, m.
    nodes : ndarray, shape (N, 3)
        BEM nodes, computation frame, m.
    transfer : ndarray, shape (nchan, N)
        As for :func:`bem_gain`.

    Yields
    ------
    columns : slice
        Columns 9k..9k+8 of the sources in the chunk.
    grad : ndarray, shape (nchan, 9 * nchunk)
        Column 9k + 3i + j: d(component i of source k) / d(coordinate j),
        computation frame (SPEC 9.10).
    """
    for start, k, unique in _transfer_chunks(sources, nodes, transfer,
                                             _infinite_medium_gradient, 6, source_chunk):
        grad = unique[:, _SYMMETRIC].transpose(0, 3, 1, 2)           # (nchan, k, 3, 3)
        yield slice(9 * start, 9 * (start + k)), grad.reshape(len(transfer), 9 * k)


def _infinite_medium_gradient(nodes: np.ndarray, rq: np.ndarray, out: np.ndarray) -> None:
    """out[j, m, s] = (3 d_a d_b / |d|^2 - delta_ab) / |d|^3 for pair m = (a, b), d = r_j - r_s."""
    d = nodes[:, None, :] - rq[None, :, :]                      # (nb, k, 3)
    inv2 = 1 / np.einsum("jsi,jsi->js", d, d)
    inv3 = inv2 * np.sqrt(inv2)
    inv5 = 3 * inv3 * inv2
    for m, (a, b) in enumerate(_PAIRS):
        np.multiply(d[:, :, a] * d[:, :, b], inv5, out=out[:, m])
        if a == b:
            out[:, m] -= inv3


def primary_meg_gain_derivatives(sources: np.ndarray, sensors: SensorSet) -> np.ndarray:
    """Derivatives of :func:`primary_meg_gain` with respect to the source positions.

    With u = p - r_q and f = (u x n) / |u|^3, d f_i / d r_q,a =
    -(e_a x n)_i / |u|^3 + 3 (u x n)_i u_a / |u|^5. Expanding u = p - r_q
    leaves per-channel sums over the coil points of n / |u|^3 and of
    p x n, (p x n) p_a, n p_a and n over |u|^5 (24 numbers a channel),
    which two sparse channel combiners form for a whole block of sources.

    Returns
    -------
    grad : ndarray, shape (nchan, 9 * nsrc)
        Column 9k + 3i + a: d(component i of source k) / d(coordinate a), in
        the frame shared by ``sources`` and ``sensors`` (T m^-1 per A m).
    """
    p, n = sensors.points, sensors.directions
    pxn = np.cross(p, n)
    by5 = np.concatenate([pxn, *(pxn * p[:, a:a + 1] for a in range(3)),
                          *(n * p[:, a:a + 1] for a in range(3)), n], axis=1)  # (npts, 24)
    grad = np.empty((sensors.nchan, len(sources), 3, 3))
    axes = np.eye(3)

    def task(channels: slice, points: slice, targets: slice, by_n, by_5) -> None:
        rq = sources[targets]
        inv3, inv5 = _inverse_distance_powers(p[points], rq)
        nch = channels.stop - channels.start
        n3 = as_vectors(by_n @ inv3, nch)                            # (nch, nt, 3)
        sums = np.moveaxis((by_5 @ inv5).reshape(24, nch, -1), 0, -1)  # (nch, nt, 24)
        pxn5, n5 = sums[..., 0:3], sums[..., 21:24]
        pxn_p = sums[..., 3:12].reshape(nch, -1, 3, 3).swapaxes(-1, -2)   # [.., i, a]
        n_p = sums[..., 12:21].reshape(nch, -1, 3, 3)                     # [.., a, k]
        out = np.empty((nch, len(rq), 3, 3))
        for a in range(3):
            # -(e_a x N3) + 3 [A_.a - r_a B - r x C_a + r_a (r x N5)]
            out[..., a] = (-np.cross(axes[a], n3)
                           + 3 * (pxn_p[..., a] - rq[:, a, None] * pxn5
                                  - np.cross(rq, n_p[..., a, :])
                                  + rq[:, a, None] * np.cross(rq, n5)))
        out *= MAG_FACTOR
        grad[channels, targets] = out

    run_blocks(sensors, len(sources), (n, by5), task)
    return grad.reshape(sensors.nchan, -1)


def _inverse_distance_powers(points: np.ndarray, targets: np.ndarray):
    """(1/|p - t|^3, 1/|p - t|^5) for every pair, shapes (npoints, ntargets)."""
    d2 = points @ targets.T
    d2 *= -2
    d2 += np.einsum("pi,pi->p", points, points)[:, None]
    d2 += np.einsum("ti,ti->t", targets, targets)[None, :]
    inv2 = np.reciprocal(d2, out=d2)
    inv3 = inv2 * np.sqrt(inv2)
    return inv3, inv3 * inv2
