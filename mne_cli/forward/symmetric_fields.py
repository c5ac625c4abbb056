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
"""

from __future__ import annotations

import numpy as np

from ..bem import galerkin
from ..bem.symmetric import SourceTerms, unpack
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
    inner_first = solution.surfaces[::-1]
    potential, current, start = [], [], 0
    for surface in inner_first:
        potential.append(slice(start, start + len(surface.rr)))
        start += len(surface.rr)
    for surface in inner_first[:-1]:
        current.append(slice(start, start + len(surface.tris)))
        start += len(surface.tris)
    return potential, current


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
    nodes, weights = galerkin.quadrature(rr, tris)                     # (t, q, 3), (t, q)
    values = np.empty((len(points), len(tris)))
    step = max(1, _CHUNK_PAIRS // nodes[..., 0].size)
    for start in range(0, len(points), step):
        diff = points[start:start + step, None, None, :] - nodes[None]
        values[start:start + step] = np.einsum("tq,ktq->kt", weights,
                                               1 / np.linalg.norm(diff, axis=-1))
    corners = rr[tris]
    centroids, size = galerkin.triangle_extents(corners)
    near_k, near_t = np.nonzero(np.linalg.norm(points[:, None] - centroids[None], axis=2)
                                < _NEAR_SIZES * size[None])
    if len(near_k):
        values[near_k, near_t] = potential_integrals(points[near_k], corners[near_t],
                                                     paired=True)
    return values


def transfer(rows: np.ndarray, solution: BemSolution) -> np.ndarray:
    """T = rows H^-1, shape (nchan, N), H^-1 unpacked from the solution."""
    return rows @ unpack(np.asarray(solution.solution), solution.size)


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
    result = np.empty((len(transfer_matrix), 3 * len(sources)))
    for i, r0 in enumerate(sources):
        flux, pot = terms(r0)
        # OpenMEEG's right-hand side: +flux on the potential rows, -potential on the currents.
        values = on_flux @ flux
        if on_current is not None:
            values -= on_current @ pot
        result[:, 3 * i:3 * i + 3] = values @ rotation
    return result


def brain_source_terms(solution: BemSolution) -> SourceTerms:
    """The source integrals on the inner skull (the innermost, last surface)."""
    brain = solution.surfaces[-1]
    return SourceTerms((brain.rr, brain.tris), brain.sigma)
