"""The symmetric BEM (Kybic et al. 2005, IEEE TMI 24:12): system matrix and dipole solves.

Nested surfaces S_1 (innermost) ... S_n bound the compartments Omega_1
(inside S_1, conductivity sigma_1) ... Omega_n; outside S_n is an insulator
(sigma_{n+1} = 0). The unknowns are the potential V_i on every surface (P1,
at the vertices) and the normal current p_i = sigma_i dV/dn on every surface
but the outermost (P0, on the triangles), where it is 0.

Green's representation in Omega_j, with v_j the potential the sources in
Omega_j would make in an infinite medium of conductivity sigma_j, and its
traces on S_{j-1} and S_j (value and sigma_j times the normal derivative;
the single layer S, double layer D, its adjoint D* and the hypersingular N
of :mod:`mne_cli.bem.galerkin`, with their jumps +-1/2), taken from both
sides of each S_i and subtracted, give for every surface i:

    -(s_i + s_i+1) N_ii V_i + s_i N_i,i-1 V_i-1 + s_i+1 N_i,i+1 V_i+1
        + 2 D*_ii p_i - D*_i,i-1 p_i-1 - D*_i,i+1 p_i+1 = s_i+1 dv_i+1/dn - s_i dv_i/dn

    2 D_ii V_i - D_i,i-1 V_i-1 - D_i,i+1 V_i+1 - (1/s_i + 1/s_i+1) S_ii p_i
        + S_i,i-1 p_i-1 / s_i + S_i,i+1 p_i+1 / s_i+1 = v_i - v_i+1

(s = sigma; the second set for i < n only). Tested with P1 functions in the
first and P0 functions in the second, the matrix is symmetric, since
D*_ij = D_ji^T and each S_ii is made symmetric (the mean of it and its
transpose, which differ by the outer quadrature). It is OpenMEEG's HeadMat with the opposite sign, in the
same unknown order (every V_i, innermost first, then every p_i): see
docs/design/symmetric-bem.md. Constant potentials solve the homogeneous
system; as OpenMEEG does, a constant is added to every entry of the
outermost potential block (its first diagonal entry over its size), which
leaves the solution of a consistent right-hand side with zero-sum scalp
potentials.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse

from ..geometry.surface import triangle_normals
from ..geometry.triangle_integrals import (
    linear_double_layer_integrals,
    potential_integral_gradients,
)
from . import galerkin

logger = logging.getLogger(__name__)


@dataclass
class SymmetricSystem:
    """The assembled system of nested surfaces, innermost first.

    ``surfaces``: (rr (n, 3) m, tris (t, 3)) each; ``sigmas`` (S/m);
    ``matrix`` (N, N) with the unknowns ordered V_1, ..., V_n, p_1, ..., p_n-1;
    ``potential_slices``/``current_slices`` locate each block.
    """

    surfaces: list
    sigmas: np.ndarray
    matrix: np.ndarray
    potential_slices: list
    current_slices: list


def assemble(surfaces, sigmas) -> SymmetricSystem:
    """The symmetric system of nested surfaces (innermost first) and their conductivities.

    ``surfaces``: list of (rr (n, 3) m, tris (t, 3)) with outward-wound
    triangles, innermost first; ``sigmas``: the conductivity inside each (S/m).
    """
    count = len(surfaces)
    sigma = np.append(np.asarray(sigmas, np.float64), 0.0)      # sigma_{n+1} = 0
    potential, current, start = [], [], 0
    for rr, _ in surfaces:
        potential.append(slice(start, start + len(rr)))
        start += len(rr)
    for _, tris in surfaces[:-1]:
        current.append(slice(start, start + len(tris)))
        start += len(tris)
    matrix = np.zeros((start, start))
    # Each block is added where it belongs as soon as it is computed and then
    # dropped: the peak is the matrix plus one block pair.
    for i in range(count):
        for j in range(i, min(count, i + 2)):
            single = galerkin.single_layer(surfaces[i], surfaces[j])
            if i == j:  # a symmetric operator: average the two quadrature orders
                single = (single + single.T) / 2
            # Potential rows: -(s_i + s_i+1) N_ii, and s_i+1 N between S_i and S_i+1.
            factor = -(sigma[i] + sigma[i + 1]) if i == j else sigma[j]
            hyper = factor * galerkin.hypersingular(surfaces[i], surfaces[j], single)
            matrix[potential[i], potential[j]] += hyper
            if i != j:
                matrix[potential[j], potential[i]] += hyper.T
            del hyper
            # Current rows: -(1/s_i + 1/s_i+1) S_ii, and S_i,i+1 / s_i+1.
            if j < count - 1:
                factor = -(1 / sigma[i] + 1 / sigma[i + 1]) if i == j else 1 / sigma[j]
                matrix[current[i], current[j]] += factor * single
                if i != j:
                    matrix[current[j], current[i]] += factor * single.T
            del single
    for i in range(count - 1):
        for j, factor in ((i - 1, -1.0), (i, 2.0), (i + 1, -1.0)):
            if 0 <= j < count:
                double = factor * galerkin.double_layer(surfaces[i], surfaces[j])
                matrix[current[i], potential[j]] += double
                matrix[potential[j], current[i]] += double.T
                del double
    # Exactly symmetric (the sparse curl products round differently on either side).
    matrix += matrix.T
    matrix *= 0.5
    # Deflation (OpenMEEG's): constants on every surface solve the homogeneous system.
    outer = potential[-1]
    first = outer.start
    matrix[outer, outer] += matrix[first, first] / (outer.stop - outer.start)
    return SymmetricSystem(list(surfaces), sigma[:-1], matrix, potential, current)


def pack_rows(packed: np.ndarray, rows: np.ndarray, block: np.ndarray) -> None:
    """Store rows of a symmetric matrix in OpenMEEG's packed form, in place.

    Entry (i, j), i <= j, lives at i + j (j + 1) / 2: the upper triangle by
    columns, which is the lower triangle by rows, so row j contributes its
    first j + 1 entries. ``block`` holds the full rows ``rows``.
    """
    for k, j in enumerate(rows):
        packed[j * (j + 1) // 2:(j + 1) * (j + 2) // 2] = block[k, :j + 1]


def unpack(packed: np.ndarray, n: int) -> np.ndarray:
    """The full (n, n) float64 symmetric matrix of :func:`pack_rows`' form."""
    full = np.empty((n, n))
    for j in range(n):
        row = packed[j * (j + 1) // 2:(j + 1) * (j + 2) // 2]
        full[j, :j + 1] = row
        full[:j, j] = row[:-1]
    return full


#: Triangles nearer to a dipole than this many times their size get exact
#: (closed-form) source integrals instead of the degree-5 rule.
NEAR_SOURCE = 4.0


class SourceTerms:
    """Source integrals of unit dipoles on the surface bounding their compartment.

    The surface's geometry (quadrature, normals, sizes) is computed once;
    calling the object with a dipole position ``r0`` (m) returns ``flux``
    (n_vertices, 3): int phi_a sigma dv/dn, and ``potential`` (n_triangles,
    3): int_T v, for the moments x, y, z (1 A m), with
    v = q.(x - r0) / (4 pi sigma |x - r0|^3) and n the outward normal.
    As q.(x - r0)/R^3 = q.grad_r0 (1/R), the triangle integrals of v are
    q.grad int_T 1/R / (4 pi sigma) in closed form
    (:func:`~mne_cli.geometry.triangle_integrals.potential_integral_gradients`);
    the P1 flux integrals are q.grad_r0 of the linear double layer at r0
    over 4 pi, by central differences of its closed form on triangles within
    ``NEAR_SOURCE`` sizes of the dipole, by the degree-5 rule on the others.
    """

    def __init__(self, surface, sigma: float):
        rr, self.tris = surface
        self.nvert, self.sigma = len(rr), sigma
        self.corners = rr[self.tris]
        self.centroids, self.size = galerkin.triangle_extents(self.corners)
        self.points, self.weights = galerkin.quadrature(rr, self.tris)   # (t, k, 3), (t, k)
        self.normal, _ = triangle_normals(rr, self.tris)

    def __call__(self, r0) -> tuple[np.ndarray, np.ndarray]:
        r0 = np.asarray(r0, np.float64)
        tris, corners, normal = self.tris, self.corners, self.normal
        distance = np.linalg.norm(self.centroids - r0, axis=1)
        near = distance < NEAR_SOURCE * self.size
        diff = self.points - r0
        dist = np.linalg.norm(diff, axis=2)
        # sigma grad v . n = [q.n / R^3 - 3 (q.R)(R.n) / R^5] / (4 pi), q = e_x, e_y, e_z
        r_n = np.einsum("tki,ti->tk", diff, normal)
        flux = (normal[:, None, :] / dist[..., None] ** 3
                - 3 * diff * (r_n / dist ** 5)[..., None]) / (4 * np.pi)   # (t, k, 3)
        by_corner = np.einsum("tk,tkq,ka->taq", self.weights, flux,
                              galerkin.QUADRATURE_POINTS)
        if near.any():
            step = 1e-5 * max(distance[near].min(), 1e-6)
            for axis in range(3):
                shift = np.zeros(3)
                shift[axis] = step
                plus = linear_double_layer_integrals((r0 + shift)[None], corners[near])[0]
                minus = linear_double_layer_integrals((r0 - shift)[None], corners[near])[0]
                by_corner[near, :, axis] = (plus - minus) / (2 * step) / (4 * np.pi)
        vertex_flux = np.stack([np.bincount(tris.ravel(), by_corner[:, :, axis].ravel(),
                                            minlength=self.nvert) for axis in range(3)],
                               axis=1)
        potential = (potential_integral_gradients(r0[None], corners)[0]
                     / (4 * np.pi * self.sigma))
        return vertex_flux, potential


def dipole_right_hand_side(system: SymmetricSystem, r0, q) -> np.ndarray:
    """Right-hand side for a dipole ``q`` (A m) at ``r0`` (m) inside the innermost surface.

    Only the rows of S_1 get terms (:class:`SourceTerms`): minus the flux
    integrals on the potential rows, the potential integrals on the current
    rows (this module's sign; OpenMEEG's are the opposite, as its matrix).
    """
    q = np.asarray(q, np.float64)
    flux, potential = SourceTerms(system.surfaces[0], system.sigmas[0])(r0)
    rhs = np.zeros(len(system.matrix))
    rhs[system.potential_slices[0]] = -flux @ q
    if system.current_slices:
        rhs[system.current_slices[0]] = potential @ q
    return rhs


def solve(system: SymmetricSystem, rhs: np.ndarray) -> np.ndarray:
    """The unknowns for one or more right-hand sides (LU of the system matrix)."""
    return scipy.linalg.solve(system.matrix, rhs, assume_a="sym")
