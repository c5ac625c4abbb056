"""EEG and MEG from a symmetric-BEM solution in OpenMEEG's layout (part of issue 17).

The solution file holds H^-1, the inverse of OpenMEEG's head matrix, whose
unknowns are the vertex potentials of every surface (innermost first), then
the normal currents on the triangles of every surface but the outermost
(docs/design/symmetric-bem.md). For a dipole in the brain the right-hand
side b lives on the inner skull only: its P1 rows hold the flux integrals
int phi sigma dv/dn and its P0 rows minus the potential integrals
(:class:`mne_cli.bem.symmetric.SourceTerms`). Every channel is a fixed
linear functional of the potentials, c.x, so one transfer matrix
T = C H^-1 (channels x unknowns) serves all sources: gain = T b.

* EEG: the scalp potentials interpolated linearly on the triangle nearest
  to each electrode (:func:`mne_cli.forward.bem_fields.eeg_coefficients`, as
  for linear collocation).
* MEG: the secondary field of the surface potentials (Geselowitz),
  B.o = mu0/4pi sum_k (sigma_in - sigma_out)_k o . int_Sk V (n x grad)/|x - y|
  summed over P1 functions: (n x grad phi_v) is each triangle's surface
  curl, and int_T 1/|x - y| the closed form near the sensor and the
  degree-5 rule farther; plus the primary field of the dipole, as for every
  BEM.

Position derivatives (``--grad``) go through the same transfer matrix, from
the derivatives of the source terms (:meth:`SourceTerms.derivatives`).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..bem import galerkin
from ..bem.symmetric import SourceTerms, packed_product, unknown_slices
from ..geometry.surface import squared_distances
from ..geometry.triangle_integrals import potential_integrals
from ..objects import BemSolution
from .sensors import SensorSet
from .sphere_meg import MAG_FACTOR

#: Sensor points nearer to a triangle than this many triangle sizes get the
#: closed-form integral of 1/R over it; farther, the degree-5 rule.
_NEAR_SIZES = 4.0
#: Point x quadrature-point pairs per chunk (3 doubles each).
_CHUNK_PAIRS = 2_000_000


def layout(solution: BemSolution) -> tuple[list[slice], list[slice]]:
    """Potential and current slices of the unknowns, per surface innermost first."""
    return unknown_slices([(s.rr, s.tris) for s in solution.surfaces[::-1]])


def meg_rows(solution: BemSolution, sensors: SensorSet) -> np.ndarray:
    """(nchan, N): secondary field of the surface potentials at the MEG channels (T per V)."""
    inner_first = solution.surfaces[::-1]
    sigma = np.append([s.sigma for s in inner_first], 0.0)
    combiner = sensors.combiner()
    rows = np.zeros((sensors.nchan, solution.size))
    for k, (surface, block) in enumerate(zip(inner_first, layout(solution)[0])):
        integrals = _potential_integrals(sensors.points, surface.rr, surface.tris)
        curls = galerkin.surface_curls(surface.rr, surface.tris)
        per_point = sum(sensors.directions[:, axis:axis + 1] * (curls[axis].T @ integrals.T).T
                        for axis in range(3))
        rows[:, block] = MAG_FACTOR * (sigma[k] - sigma[k + 1]) * (combiner @ per_point)
    return rows


def _potential_integrals(points: np.ndarray, rr: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """int_T 1/|x - y| (k, t): closed form for near pairs, the degree-5 rule for the others."""
    centre = rr.mean(axis=0)                          # small coordinates: exact R^2
    points, rr = points - centre, rr - centre
    nodes, weights = galerkin.quadrature(rr, tris)                     # (t, q, 3), (t, q)
    flat = nodes.reshape(-1, 3)
    flat_sq = np.einsum("ki,ki->k", flat, flat)
    values = np.empty((len(points), len(tris)))
    step = max(1, _CHUNK_PAIRS // len(flat))
    for start in range(0, len(points), step):
        x = points[start:start + step]
        inverse = squared_distances(x, flat, flat_sq)                  # 1/R by one product
        np.maximum(inverse, 1e-30, out=inverse)      # near pairs (replaced) may round to <= 0
        np.sqrt(inverse, out=inverse)
        np.reciprocal(inverse, out=inverse)
        values[start:start + step] = np.einsum("ktq,tq->kt",
                                               inverse.reshape(len(x), len(tris), -1), weights)
    corners = rr[tris]
    centroids, size = galerkin.triangle_extents(corners)
    found = cKDTree(points).sparse_distance_matrix(cKDTree(centroids), _NEAR_SIZES * size.max(),
                                                   output_type="ndarray")
    keep = found["v"] < _NEAR_SIZES * size[found["j"]]
    near_k, near_t = found["i"][keep], found["j"][keep]
    if len(near_k):
        values[near_k, near_t] = potential_integrals(points[near_k], corners[near_t],
                                                     paired=True)
    return values


def transfer(rows: np.ndarray, solution: BemSolution) -> np.ndarray:
    """T = rows H^-1, shape (nchan, N), from the packed H^-1 of the solution."""
    return packed_product(rows, np.asarray(solution.solution), solution.size)


def gains(sources: np.ndarray, transfer_matrix: np.ndarray, solution: BemSolution,
          rotation: np.ndarray, terms: SourceTerms | None = None) -> np.ndarray:
    """(nchan, 3 nsrc): channel values of unit dipoles at ``sources`` (MRI frame, m).

    ``rotation`` (3, 3) turns the moments' frame into MRI axes (the columns
    are the x, y, z moments of the computation frame). ``terms``: the
    brain's :class:`SourceTerms` (:func:`brain_source_terms`), made once
    for many calls.
    """
    terms = terms or brain_source_terms(solution)
    potential, current = layout(solution)
    on_flux = transfer_matrix[:, potential[0]]
    on_current = transfer_matrix[:, current[0]] if current else None
    flux, pot = terms(sources)                          # (S, V, 3), (S, T, 3)
    # OpenMEEG's right-hand side: +flux on the potential rows, -potential on the currents.
    values = on_flux @ flux.transpose(1, 0, 2).reshape(flux.shape[1], -1)
    if on_current is not None:
        values -= on_current @ pot.transpose(1, 0, 2).reshape(pot.shape[1], -1)
    values = values.reshape(len(values), len(sources), 3) @ rotation
    return values.reshape(len(values), -1)


def gain_derivatives(sources: np.ndarray, transfer_matrix: np.ndarray, solution: BemSolution,
                     rotation: np.ndarray, terms: SourceTerms) -> np.ndarray:
    """(nchan, 9 nsrc): d gain / d source position, column 9k + 3i + j for moment i and
    coordinate j of the computation frame (``rotation`` as in :func:`gains`)."""
    potential, current = layout(solution)
    flux, pot = terms.derivatives(sources)              # (S, V, 3, 3), (S, T, 3, 3)
    values = transfer_matrix[:, potential[0]] @ flux.transpose(1, 0, 2, 3).reshape(
        flux.shape[1], -1)
    if current:
        values -= transfer_matrix[:, current[0]] @ pot.transpose(1, 0, 2, 3).reshape(
            pot.shape[1], -1)
    # Both the moment and the coordinate axes turn from MRI axes to the frame's.
    values = rotation.T @ values.reshape(len(values), len(sources), 3, 3) @ rotation
    return values.reshape(len(values), -1)


def brain_source_terms(solution: BemSolution) -> SourceTerms:
    """The source integrals on the inner skull (the innermost, last surface)."""
    brain = solution.surfaces[-1]
    return SourceTerms((brain.rr, brain.tris), brain.sigma)
