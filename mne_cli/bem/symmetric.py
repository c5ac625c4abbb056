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
from scipy.linalg import blas, lapack

from ..errors import GeometryError
from ..geometry.surface import triangle_normals
from ..geometry.triangle_integrals import (
    linear_double_layer_integrals,
    potential_integral_gradients,
)
from ..progress import SILENT, Progress
from . import galerkin

logger = logging.getLogger(__name__)


@dataclass
class SymmetricSystem:
    """The assembled system of nested surfaces, innermost first, by blocks.

    ``surfaces``: (rr (n, 3) m, tris (t, 3)) each; ``sigmas`` (S/m). The
    unknowns are ordered V_1, ..., V_n, p_1, ..., p_n-1 (``potential_slices``
    and ``current_slices`` locate each surface's, in that order); the matrix
    is [[A, B^T], [B, C]] with ``potential_block`` A (n_V, n_V),
    ``coupling`` B (n_p, n_V) and ``current_block`` C (n_p, n_p), each in
    Fortran order for LAPACK. Only the lower triangles of A and C are kept
    by :func:`invert_in_place`.
    """

    surfaces: list
    sigmas: np.ndarray
    potential_block: np.ndarray
    coupling: np.ndarray
    current_block: np.ndarray
    potential_slices: list
    current_slices: list

    @property
    def size(self) -> int:
        """N, the number of unknowns."""
        return len(self.potential_block) + len(self.current_block)

    def __len__(self) -> int:
        return self.size

    @property
    def matrix(self) -> np.ndarray:
        """The whole (N, N) symmetric matrix, a new array (from the lower triangles)."""
        count = len(self.potential_block)
        full = np.empty((self.size, self.size))
        for block, where in ((self.potential_block, np.s_[:count, :count]),
                             (self.current_block, np.s_[count:, count:])):
            lower = np.tril(block)
            full[where] = lower + np.tril(block, -1).T
        full[count:, :count] = self.coupling
        full[:count, count:] = self.coupling.T
        return full


def unknown_slices(surfaces) -> tuple[list[slice], list[slice]]:
    """Where each surface's unknowns lie: the potentials (its vertices) of every surface,
    then the currents (its triangles) of all but the outermost.

    ``surfaces``: (rr, tris) pairs, innermost first (OpenMEEG's order).
    """
    potential, current, start = [], [], 0
    for rr, _ in surfaces:
        potential.append(slice(start, start + len(rr)))
        start += len(rr)
    for _, tris in surfaces[:-1]:
        current.append(slice(start, start + len(tris)))
        start += len(tris)
    return potential, current


def assemble(surfaces, sigmas, progress: Progress = SILENT) -> SymmetricSystem:
    """The symmetric system of nested surfaces (innermost first) and their conductivities.

    ``surfaces``: list of (rr (n, 3) m, tris (t, 3)) with outward-wound
    triangles, innermost first; ``sigmas``: the conductivity inside each (S/m).
    ``progress``: a "Matrix coefficients" stage counted in test triangles.
    Peak memory: the three blocks (less than the whole N x N matrix by the
    second copy of B) and one surface pair's operators.
    """
    count = len(surfaces)
    sigma = np.append(np.asarray(sigmas, np.float64), 0.0)      # sigma_{n+1} = 0
    potential, unknowns = unknown_slices(surfaces)
    n_v = potential[-1].stop
    current = [slice(c.start - n_v, c.stop - n_v) for c in unknowns]   # within the C block
    n_p = current[-1].stop if current else 0
    a_block, c_block = _zeros((n_v, n_v)), _zeros((n_p, n_p))
    coupling = _zeros((n_p, n_v))
    # The surface pairs whose operators the system needs: S for j = i, i + 1,
    # D (P0 on S_i, P1 on S_j) for i < n and |i - j| <= 1; each pair's are
    # computed together and added where they belong.
    pairs = [(i, j, j >= i, i < count - 1) for i in range(count)
             for j in range(max(0, i - 1), min(count, i + 2)) if j >= i or i < count - 1]
    progress.start("Matrix coefficients", sum(len(surfaces[i][1]) for i, *_ in pairs))
    try:
        for i, j, want_single, want_double in pairs:
            _add_pair(surfaces, sigma, i, j, want_single, want_double,
                      (a_block, coupling, c_block), (potential, current), progress)
    finally:
        progress.finish()
    # Exactly symmetric (the sparse curl products round differently on either
    # side, and near pairs of one surface differ by the quadrature order).
    for block in (a_block, c_block):
        _symmetrize_in_place(block)
    # Deflation (OpenMEEG's): constants on every surface solve the homogeneous system.
    outer = potential[-1]
    a_block[outer, outer] += a_block[outer.start, outer.start] / (outer.stop - outer.start)
    return SymmetricSystem(list(surfaces), sigma[:-1], a_block, coupling, c_block, potential,
                           unknowns)


def _add_pair(surfaces, sigma, i: int, j: int, want_single: bool, want_double: bool, blocks,
              slices, progress: Progress) -> None:
    """Add the operators between surfaces i (test) and j (trial) to the blocks."""
    a_block, coupling, c_block = blocks
    potential, current = slices
    count = len(surfaces)
    single, double = galerkin.layers(surfaces[i], surfaces[j], single=want_single,
                                     double=want_double, progress=progress)
    if double is not None:
        # Current rows: 2 D_ii, -D_i,i+-1 on the potentials.
        coupling[current[i], potential[j]] += (2.0 if i == j else -1.0) * double
    del double
    if single is None:
        return
    # The symmetric blocks are added in the memory order of the (Fortran)
    # blocks, as transposes, into the lower block (j, i) only, twice off the
    # diagonal: the symmetrization that follows, (M + M^T) / 2, puts each half
    # where it belongs and averages the two quadrature orders of the near
    # pairs of one surface (S_ii is symmetric but for those).
    twice = 1.0 if i == j else 2.0
    # Potential rows: -(s_i + s_i+1) N_ii, and s_i+1 N between S_i and S_i+1.
    factor = -(sigma[i] + sigma[i + 1]) if i == j else sigma[j]
    hyper = galerkin.hypersingular(surfaces[i], surfaces[j], single)
    hyper *= twice * factor
    a_block[potential[j], potential[i]] += hyper.T
    del hyper
    # Current rows: -(1/s_i + 1/s_i+1) S_ii, and S_i,i+1 / s_i+1.
    if j < count - 1:
        single *= twice * (-(1 / sigma[i] + 1 / sigma[i + 1]) if i == j else 1 / sigma[j])
        c_block[current[j], current[i]] += single.T


def _zeros(shape) -> np.ndarray:
    """A Fortran-ordered float64 array of zeros, written at once.

    np.zeros takes calloc's lazily zeroed pages, faulted in 4 KiB at a time
    when first written; an empty array gets numpy's huge pages, and filling
    it is 16 times faster on the development machine (0.1 s against 1.7 s
    for the 839 MB current block of an ico-4 head).
    """
    block = np.empty(shape, order="F")
    block.fill(0.0)
    return block


def _symmetrize_in_place(block: np.ndarray, tile: int = 1024) -> None:
    """Replace a square matrix by (M + M^T) / 2, tile by tile (no second copy)."""
    n = len(block)
    for start in range(0, n, tile):
        rows = slice(start, min(start + tile, n))
        diagonal = block[rows, rows]
        diagonal += diagonal.T.copy()
        diagonal *= 0.5
        for other in range(start + tile, n, tile):
            cols = slice(other, min(other + tile, n))
            mean = (block[rows, cols] + block[cols, rows].T) / 2
            block[rows, cols] = mean
            block[cols, rows] = mean.T


def _factor_in_place(system: SymmetricSystem, source: str) -> None:
    """The block Cholesky factors of :func:`invert_in_place`, in place.

    Afterwards ``current_block`` holds L (P = -C = L L^T), ``coupling`` W =
    L^-1 B and ``potential_block`` K (A + W^T W = K K^T), lower triangles.
    """
    a_block, w, c_block = system.potential_block, system.coupling, system.current_block
    for block in (a_block, w, c_block):
        if not block.flags.f_contiguous:
            raise ValueError("the system's blocks must be in Fortran order")
    if len(c_block):
        c_block *= -1.0
        _cholesky(c_block, source, "current block")                              # L
        blas.dtrsm(1.0, c_block, w, side=0, lower=1, overwrite_b=1)             # W
        blas.dsyrk(1.0, w, beta=1.0, c=a_block, trans=1, lower=1, overwrite_c=1)
    _cholesky(a_block, source, "potential block (with the currents eliminated)")  # K


def _cholesky(block: np.ndarray, source: str, what: str) -> None:
    _, info = lapack.dpotrf(block, lower=1, overwrite_a=1, clean=0)
    if info != 0:
        raise GeometryError(f"{source}: the symmetric BEM {what} is not definite (LAPACK info "
                            f"{info}): check that the surfaces are closed, nested and apart")


def invert_in_place(system: SymmetricSystem, source: str = "the BEM model") -> None:
    """Replace the blocks of the system by those of its inverse (lower triangles of A, C).

    The current block C is negative definite (-C is a sum of single layers,
    coercive) and the Schur complement A - B^T C^-1 B is positive definite
    (the potential block is semi-definite, the deflation and the currents
    make it definite), so with P = -C = L L^T and A + W^T W = K K^T,
    W = L^-1 B, X = L^-T W and Z = X K^-T, the inverse is

        [[K^-T K^-1, Z K^-1 ^T], [Z K^-1, Z Z^T - P^-1]]

    by Cholesky factorisations, triangular solves and symmetric rank-k
    updates, all in place: about N^3 flops, half those of an LU inverse,
    with no pivoting and no second N x N matrix.

    Raises
    ------
    GeometryError
        When a block is not definite (surfaces that intersect or are not
        closed, or a non-positive conductivity).
    """
    def inverse_from_cholesky(block):
        _, info = lapack.dpotri(block, lower=1, overwrite_c=1)
        if info != 0:
            raise GeometryError(f"{source}: the symmetric BEM matrix could not be inverted "
                                f"(LAPACK info {info})")

    _factor_in_place(system, source)
    a_block, w, c_block = system.potential_block, system.coupling, system.current_block
    if len(c_block):
        blas.dtrsm(1.0, c_block, w, side=0, lower=1, trans_a=1, overwrite_b=1)  # X
        blas.dtrsm(1.0, a_block, w, side=1, lower=1, trans_a=1, overwrite_b=1)  # Z
        inverse_from_cholesky(c_block)                                          # P^-1
        c_block *= -1.0
        blas.dsyrk(1.0, w, beta=1.0, c=c_block, trans=0, lower=1, overwrite_c=1)
        blas.dtrsm(1.0, a_block, w, side=1, lower=1, trans_a=0, overwrite_b=1)  # Z K^-1
    inverse_from_cholesky(a_block)


def pack_rows(packed: np.ndarray, rows: np.ndarray, block: np.ndarray) -> None:
    """Store rows of a symmetric matrix in OpenMEEG's packed form, in place.

    Entry (i, j), i <= j, lives at i + j (j + 1) / 2: the upper triangle by
    columns, which is the lower triangle by rows, so row j contributes its
    first j + 1 entries. ``block`` holds the full rows ``rows`` (or at least
    their entries up to the diagonal).
    """
    for k, j in enumerate(rows):
        packed[j * (j + 1) // 2:(j + 1) * (j + 2) // 2] = block[k, :j + 1]


def pack_inverse(system: SymmetricSystem, scale: float = 1.0) -> np.ndarray:
    """``scale`` times the inverse that :func:`invert_in_place` left in the blocks,
    packed as :func:`pack_rows` (float32, N (N + 1) / 2).

    The system's blocks are released as they are packed (the potential block
    first), so the packed copy and the blocks never hold memory together
    beyond one N x N float64 matrix.
    """
    n, count = system.size, len(system.potential_block)
    packed = np.empty(n * (n + 1) // 2, np.float32)      # pages are taken as rows are written
    for j in range(count):
        row = packed[j * (j + 1) // 2:(j + 1) * (j + 2) // 2]
        row[:] = system.potential_block[j, :j + 1]
        row *= scale
    system.potential_block = None
    for j in range(count, n):
        row = packed[j * (j + 1) // 2:(j + 1) * (j + 2) // 2]
        row[:count] = system.coupling[j - count]
        row[count:] = system.current_block[j - count, :j + 1 - count]
        row *= scale
    system.coupling = system.current_block = None
    return packed


#: Rows of the packed matrix expanded at a time by :func:`packed_product`.
_PRODUCT_ROWS = 1024


def packed_product(left: np.ndarray, packed: np.ndarray, n: int) -> np.ndarray:
    """``left`` (k, n) times the symmetric matrix of :func:`pack_rows`' form: (k, n).

    The packed lower triangle L (diagonal included) is expanded
    ``_PRODUCT_ROWS`` rows at a time, and left @ (L + strict L^T) is summed
    block by block, so no n x n copy is made. Columns of ``left`` past its
    last nonzero one are skipped (sensor rows touch the potentials only,
    the first unknowns).
    """
    used = np.flatnonzero(np.any(left != 0, axis=0))
    width = int(used[-1]) + 1 if len(used) else 0
    result = np.zeros((len(left), n))
    for start in range(0, n, _PRODUCT_ROWS):
        stop = min(start + _PRODUCT_ROWS, n)
        block = np.zeros((stop - start, stop))
        for j in range(start, stop):
            block[j - start, :j + 1] = packed[j * (j + 1) // 2:(j + 1) * (j + 2) // 2]
        if start < width:
            result[:, :stop] += left[:, start:stop] @ block
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0
        reach = min(stop, width)
        result[:, start:stop] += left[:, :reach] @ block[:, :reach].T
    return result


#: Triangles nearer to a dipole than this many times their size get exact
#: (closed-form) source integrals instead of the degree-5 rule.
NEAR_SOURCE = 4.0


class SourceTerms:
    """Source integrals of unit dipoles on the surface bounding their compartment.

    The surface's geometry (quadrature, normals, sizes) is computed once;
    calling the object with dipole positions ``r0`` (S, 3) in m returns
    ``flux`` (S, n_vertices, 3): int phi_a sigma dv/dn, and ``potential``
    (S, n_triangles, 3): int_T v, for the moments x, y, z (1 A m), with
    v = q.(x - r0) / (4 pi sigma |x - r0|^3) and n the outward normal (a
    single position (3,) gives arrays without the leading axis).
    As q.(x - r0)/R^3 = q.grad_r0 (1/R), the triangle integrals of v are
    q.grad int_T 1/R / (4 pi sigma), in closed form
    (:func:`~mne_cli.geometry.triangle_integrals.potential_integral_gradients`)
    on triangles within ``NEAR_SOURCE`` sizes of the dipole; the P1 flux
    integrals are q.grad_r0 of the linear double layer at r0 over 4 pi, by
    central differences of its closed form on those triangles. Both by the
    degree-5 rule on the others.
    """

    def __init__(self, surface, sigma: float):
        rr, self.tris = surface
        self.nvert, self.sigma = len(rr), sigma
        self.corners = rr[self.tris]
        self.centroids, self.size = galerkin.triangle_extents(self.corners)
        self.points, self.weights = galerkin.quadrature(rr, self.tris)   # (t, k, 3), (t, k)
        self.normal, _ = triangle_normals(rr, self.tris)
        # Corner a of triangle t -> vertex tris[t, a].
        self._gather = scipy.sparse.csr_matrix(
            (np.ones(self.tris.size), (self.tris.ravel(), np.arange(self.tris.size))),
            shape=(self.nvert, self.tris.size))

    def __call__(self, r0) -> tuple[np.ndarray, np.ndarray]:
        r0 = np.asarray(r0, np.float64)
        if r0.ndim == 1:
            flux, potential = self(r0[None])
            return flux[0], potential[0]
        normal = self.normal
        diff = self.points[None] - r0[:, None, None]                       # (S, t, k, 3)
        dist = np.sqrt(np.einsum("stki,stki->stk", diff, diff))
        # sigma grad v . n = [q.n / R^3 - 3 (q.R)(R.n) / R^5] / (4 pi), q = e_x, e_y, e_z
        r_n = np.einsum("stki,ti->stk", diff, normal)
        inverse_cube = dist ** -3
        flux = normal[None, :, None, :] * inverse_cube[..., None]
        flux -= diff * (3 * r_n * inverse_cube / dist ** 2)[..., None]      # (S, t, k, 3)
        # int_T grad_r0 1/R = int_T (x - r0)/R^3 by the same rule (the near triangles below).
        potential = np.einsum("stki,tk->sti", diff * inverse_cube[..., None], self.weights)
        del diff
        flux *= self.weights[None, :, :, None] / (4 * np.pi)
        # Sum over the points k of weight x phi_a(k): (S, t, q, k) @ (k, a), then (S, t, a, q).
        by_corner = (flux.transpose(0, 1, 3, 2) @ galerkin.QUADRATURE_POINTS).transpose(0, 1, 3, 2)
        near_s, near_t, step = self._near(r0)
        if len(near_s):
            potential[near_s, near_t] = potential_integral_gradients(
                r0[near_s], self.corners[near_t], paired=True)
            by_corner[near_s, near_t] = self._near_flux(r0[near_s], near_t, step)
        potential /= 4 * np.pi * self.sigma
        return self._at_vertices(by_corner), potential

    def derivatives(self, r0) -> tuple[np.ndarray, np.ndarray]:
        """d/d r0 of :meth:`__call__`'s terms: ``flux`` (S, n_vertices, 3, 3) and
        ``potential`` (S, n_triangles, 3, 3), the last axis the coordinate of r0 (1/m).

        By the degree-5 rule, differentiated analytically, on triangles farther
        than ``NEAR_SOURCE`` sizes; on the near ones, central differences (steps
        1e-4 of the distance to the nearest triangle) of the closed forms.
        """
        r0 = np.asarray(r0, np.float64)
        count, normal = len(r0), self.normal
        diff = self.points[None] - r0[:, None, None]                       # (S, t, k, 3)
        dist = np.sqrt(np.einsum("stki,stki->stk", diff, diff))
        r_n = np.einsum("stki,ti->stk", diff, normal)
        inv5 = dist ** -5
        eye = np.eye(3)
        # d/dr0_m of (x - r0)_q / R^3: 3 R_q R_m / R^5 - delta_qm / R^3, summed with the weights.
        potential = 3 * (diff * (inv5 * self.weights)[..., None]).transpose(0, 1, 3, 2) @ diff
        potential -= np.einsum("stk,tk->st", dist ** -3, self.weights)[..., None, None] * eye
        # d/dr0_m of the flux kernel n_q/R^3 - 3 R_q (R.n)/R^5:
        #   3 (n_q R_m + delta_qm R.n + R_q n_m) / R^5 - 15 R_q R_m (R.n) / R^7,
        # summed with weight x phi_a per corner a: by products over the points k.
        corner_weights = (self.weights[:, :, None] * galerkin.QUADRATURE_POINTS[None]
                          / (4 * np.pi))                                    # (t, k, a)
        along = (diff * inv5[..., None]).transpose(0, 1, 3, 2) @ corner_weights  # (S, t, m, a)
        scalar = (inv5 * r_n)[:, :, None, :] @ corner_weights                  # (S, t, 1, a)
        steep = diff * (inv5 * r_n / dist ** 2)[..., None]
        by_corner = np.empty((count, len(self.tris), 3, 3, 3))                 # (S, t, a, q, m)
        for a in range(3):
            weighted = (steep * corner_weights[None, :, :, a, None]).transpose(0, 1, 3, 2)
            along_a = along[..., a]                                             # (S, t, 3)
            by_corner[:, :, a] = (3 * (normal[None, :, :, None] * along_a[:, :, None, :]
                                       + along_a[:, :, :, None] * normal[None, :, None, :])
                                  + 3 * scalar[:, :, 0, a, None, None] * eye
                                  - 15 * weighted @ diff)
        del diff, steep
        near_s, near_t, step = self._near(r0)
        if len(near_s):
            h = 10 * step
            for axis in range(3):
                shift = np.zeros((len(near_s), 3))
                shift[:, axis] = h
                plus, minus = r0[near_s] + shift, r0[near_s] - shift
                corners = self.corners[near_t]
                potential[near_s, near_t, :, axis] = (
                    potential_integral_gradients(plus, corners, paired=True)
                    - potential_integral_gradients(minus, corners, paired=True)) / (2 * h[:, None])
                by_corner[near_s, near_t, :, :, axis] = (
                    self._near_flux(plus, near_t, step) - self._near_flux(minus, near_t, step)
                ) / (2 * h[:, None, None])
        potential /= 4 * np.pi * self.sigma
        flux = self._at_vertices(by_corner.reshape(count, len(self.tris), 3, 9))
        return flux.reshape(count, self.nvert, 3, 3), potential

    def _near(self, r0: np.ndarray):
        """(source, triangle) pairs within NEAR_SOURCE sizes, and each pair's difference
        step: 1e-5 of its source's distance to its nearest triangle."""
        distance = np.linalg.norm(self.centroids[None] - r0[:, None], axis=2)  # (S, t)
        near_s, near_t = np.nonzero(distance < NEAR_SOURCE * self.size[None])
        closest = np.full(len(r0), np.inf)
        np.minimum.at(closest, near_s, distance[near_s, near_t])
        return near_s, near_t, 1e-5 * np.maximum(closest, 1e-6)[near_s]

    def _near_flux(self, points: np.ndarray, triangles: np.ndarray, step: np.ndarray):
        """Flux terms (P, 3 corners, 3 moments) of dipoles at ``points`` on ``triangles``:
        central differences of the closed-form linear double layer."""
        corners = self.corners[triangles]
        result = np.empty((len(points), 3, 3))
        for axis in range(3):
            shift = np.zeros((len(points), 3))
            shift[:, axis] = step
            plus = linear_double_layer_integrals(points + shift, corners, paired=True)
            minus = linear_double_layer_integrals(points - shift, corners, paired=True)
            result[:, :, axis] = (plus - minus) / (2 * step[:, None]) / (4 * np.pi)
        return result

    def _at_vertices(self, by_corner: np.ndarray) -> np.ndarray:
        """(S, t, 3 corners, c) corner terms summed at the vertices: (S, V, c)."""
        count, width = len(by_corner), by_corner.shape[-1]
        columns = by_corner.reshape(count, -1, width).transpose(1, 0, 2).reshape(
            -1, width * count)                                              # (3 t, S c)
        return (self._gather @ columns).reshape(self.nvert, count, width).transpose(1, 0, 2)


def dipole_right_hand_side(system: SymmetricSystem, r0, q) -> np.ndarray:
    """Right-hand side for a dipole ``q`` (A m) at ``r0`` (m) inside the innermost surface.

    Only the rows of S_1 get terms (:class:`SourceTerms`): minus the flux
    integrals on the potential rows, the potential integrals on the current
    rows (this module's sign; OpenMEEG's are the opposite, as its matrix).
    """
    q = np.asarray(q, np.float64)
    flux, potential = SourceTerms(system.surfaces[0], system.sigmas[0])(r0)
    rhs = np.zeros(system.size)
    rhs[system.potential_slices[0]] = -flux @ q
    if system.current_slices:
        rhs[system.current_slices[0]] = potential @ q
    return rhs


def solve(system: SymmetricSystem, rhs: np.ndarray) -> np.ndarray:
    """The unknowns (N,) or (N, k) for right-hand sides (N,) or (N, k).

    By the factors of :func:`invert_in_place` (on copies: the system is
    kept): with y = L^-1 b_p, the potentials solve K K^T v = b_v + W^T y
    and the currents are p = -L^-T (y - W v).
    """
    factors = SymmetricSystem(system.surfaces, system.sigmas,
                              system.potential_block.copy(order="F"),
                              system.coupling.copy(order="F"),
                              system.current_block.copy(order="F"),
                              system.potential_slices, system.current_slices)
    _factor_in_place(factors, "the system")
    count = len(system.potential_block)
    b_v, b_p = rhs[:count], rhs[count:]
    lower, w = factors.current_block, factors.coupling
    y = scipy.linalg.solve_triangular(lower, b_p, lower=True) if len(b_p) else b_p
    v = scipy.linalg.cho_solve((factors.potential_block, True), b_v + w.T @ y)
    p = -scipy.linalg.solve_triangular(lower, y - w @ v, lower=True, trans="T") if len(b_p) \
        else b_p
    return np.concatenate([v, p])
