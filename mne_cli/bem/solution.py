"""BEM potential solution matrix (SPEC section 8): mne_prepare_bem_model's core.

The solution S = M^-1 maps infinite-medium potentials at the collocation
points (scaled by the source multipliers) to the potentials on the
surfaces.  M is built in the buffer that held the coefficients and
inverted in place (:func:`make_bem_solution`, to be stored) or only
LU-factored (:func:`factor_bem_system`, for a forward solution computed
straight from the surfaces), so the peak is one N x N matrix plus the
inner-skull block the isolated-skull step needs.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np
from scipy.linalg import blas, lapack

from ..errors import GeometryError, InputError, UsageError
from ..fiff.constants import BemApprox, BemSurfId, Frame
from ..objects import BemSolution, BemSurface
from ..progress import SILENT, Progress, format_duration
from . import lu as blocked_lu
from .collocation import constant_coefficients, linear_coefficients
from .model import check_solution_geometry, surface_label

logger = logging.getLogger(__name__)

# The isolated-skull approach is used when sigma_skull / sigma_brain is at
# most this (MNE-C's FWD_BEM_IP_APPROACH_LIMIT).
IP_APPROACH_LIMIT = 0.1
THREE_LAYER_IDS = (BemSurfId.HEAD, BemSurfId.SKULL, BemSurfId.BRAIN)

# Rows per step of the isolated-skull update X <- X - 2 X S_h, and per block
# of a solution formed by solves.
_IP_ROWS = 1024
_SOLUTION_BLOCK_ROWS = 2048

# Largest matrix product timed to estimate how long the inversions take,
# and LAPACK's speed as a fraction of the product's (see _LapackTimer).
_RATE_SIZE = 1024
_LAPACK_EFFICIENCY = 0.5


def select_model_surfaces(surfaces: list[BemSurface], source: str) -> list[BemSurface]:
    """The surfaces of the model, outermost first (SPEC 8.3).

    Three layers when ids 4, 3 and 1 are all present, else the inner skull
    (id 1) alone.  Every chosen surface must carry a conductivity and be in
    MRI coordinates.
    """
    ids = [s.id for s in surfaces]
    twice = sorted({i for i in ids if ids.count(i) > 1 and i in THREE_LAYER_IDS})
    if twice:
        raise InputError(f"{source}: surface id {twice[0]} is given to {ids.count(twice[0])} "
                         "surfaces; a model needs one surface of each id (remake it with "
                         "surf2bem, one --id each)")
    by_id = {s.id: s for s in surfaces}
    if all(i in by_id for i in THREE_LAYER_IDS):
        chosen = [by_id[i] for i in THREE_LAYER_IDS]
    elif BemSurfId.BRAIN in by_id:
        chosen = [by_id[BemSurfId.BRAIN]]
    else:
        ids = ", ".join(str(s.id) for s in surfaces)
        raise InputError(f"{source}: no inner skull surface (id 1) found (surface ids: {ids}); "
                         "give the surfaces ids with surf2bem --id")
    for surf in chosen:
        if surf.sigma is None:
            raise InputError(f"{source}: No conductivity available for surface "
                             f"{surface_label(surf)}; add it with surf2bem --sigma")
        if surf.coord_frame != Frame.MRI:
            raise InputError(f"{source}: Surface {surface_label(surf)} not specified in MRI "
                             "coordinates (a .tri surface given to surf2bem with --coordf "
                             f"{surf.coord_frame}: the BEM needs --coordf 5).")
        if surf.sigma <= 0:
            raise InputError(f"{source}: the conductivity of surface {surface_label(surf)} "
                             f"must be positive, not {surf.sigma} S/m")
    return chosen


def conductivity_factors(sigmas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``source_mult`` (S,), ``field_mult`` (S,) and ``gamma`` (S, S) of SPEC 8.4.

    ``sigmas`` are the conductivities inside each surface (S/m), outermost
    surface first; the medium outside the outermost surface is an insulator.
    """
    sigma = np.asarray(sigmas, np.float64)
    outside = np.concatenate([[0.0], sigma[:-1]])
    source_mult = 2 / (sigma + outside)
    field_mult = sigma - outside
    gamma = field_mult[np.newaxis, :] / (sigma + outside)[:, np.newaxis]
    return source_mult, field_mult, gamma


#: Unknowns of the largest solution a FIF file can hold: its float32 N x N
#: matrix must fit one tag (2^31 - 1 bytes).
MAX_STORED_UNKNOWNS = int(np.sqrt((2 ** 31 - 1 - 16) / 4))


def solution_unknowns(surfaces: list[BemSurface], method: str, source: str) -> int:
    """N, the size of the BEM solution matrix: model vertices (linear), triangles
    (constant), or vertices plus the triangles of all but the outermost (symmetric)."""
    model = select_model_surfaces(surfaces, source)
    if method == "symmetric":
        return sum(len(s.rr) for s in model) + sum(len(s.tris) for s in model[1:])
    return sum(len(s.rr) if method == "linear" else len(s.tris) for s in model)


#: Unknowns of the largest symmetric solution a FIF file can hold: its packed
#: float32 triangle, N (N + 1) / 2 values, must fit one tag.
MAX_STORED_SYMMETRIC_UNKNOWNS = int((np.sqrt(1 + 8 * (2 ** 31 - 1 - 16) / 4) - 1) / 2)


def refuse_unstorable(surfaces: list[BemSurface], method: str, source: str) -> None:
    """Refuse, before computing, a solution too large for any FIF file.

    Raises
    ------
    InputError
        Naming N, the matrix size and the ways out (a coarser mesh, or the
        forward solution computed straight from the surfaces).
    """
    n = solution_unknowns(surfaces, method, source)
    if method == "symmetric":
        if n > MAX_STORED_SYMMETRIC_UNKNOWNS:
            raise InputError(
                f"{source}: the symmetric BEM solution of this model has {n} unknowns, and "
                f"its packed float32 inverse ({2 * n * (n + 1) / 2 ** 30:.1f} GiB) is larger "
                f"than a FIF file can hold (2 GiB, {MAX_STORED_SYMMETRIC_UNKNOWNS} unknowns); "
                "decimate the surfaces (surf2bem --ico 4)")
        return
    if n > MAX_STORED_UNKNOWNS:
        model = select_model_surfaces(surfaces, source)
        inner = len(model[-1].rr) if method == "linear" else len(model[-1].tris)
        in_memory = 8 * (n * n + (inner * inner if len(model) == 3 else 0)) / 2 ** 30
        raise InputError(
            f"{source}: the {method} BEM solution of this model has {n} unknowns, and its "
            f"{n} x {n} float32 matrix ({4 * n * n / 2 ** 30:.1f} GiB) is larger than a FIF "
            f"file can hold (2 GiB, {MAX_STORED_UNKNOWNS} unknowns; MNE-Python cannot store "
            "it either); decimate the surfaces (surf2bem --ico 4), or give the -bem.fif to "
            f"forward_solution --bem, which solves it in memory ({in_memory:.1f} GiB)")


def make_bem_solution(surfaces, method: str = "linear", source: str | None = None,
                      progress: Progress = SILENT, *, fname=None,
                      command_line: str | None = None) -> BemSolution:
    """Compute the BEM solution of a 1- or 3-layer model: mne_prepare_bem_model's job.

    Parameters
    ----------
    surfaces : list of BemSurface, or str or path-like
        All surfaces of a geometry, or the ``-bem.fif`` file holding them;
        the model surfaces are picked by id (SPEC 8.3).
    method : {"linear", "constant", "symmetric"}
        Linear collocation (unknowns at vertices, SPEC 8.5; MNE-C's and
        MNE-Python's default), constant collocation (unknowns at triangle
        centroids, SPEC 8.6; not read by MNE-Python), or the symmetric
        Galerkin BEM (Kybic et al. 2005; :mod:`mne_cli.bem.symmetric`),
        stored as MNE-Python stores OpenMEEG's solutions.
    source : str, optional
        Name used in error messages (default: the file, or "BEM model").
    progress : Progress
        Told about the coefficient stage (the inversions are single LAPACK
        calls, not subdivided; each is logged before, with its expected
        time, and after).
    fname : str or path-like, optional
        Write the solution here (``-bem-sol.fif``); checked before any work.
    command_line : str, optional
        Recorded in the file's provenance block.

    Returns
    -------
    BemSolution
        The model surfaces, unchanged, with ``solution`` (N, N).

    Raises
    ------
    InputError, GeometryError, FifError
        For a model that cannot be solved or stored, or an unreadable file.
    UsageError
        When ``fname`` is the input file itself.
    """
    from ..atomic import check_output
    from ..io.bem import read_bem_surfaces, write_bem_solution

    if isinstance(surfaces, (str, os.PathLike)):
        path = os.fspath(surfaces)
        source = source or path
        if fname is not None and os.path.abspath(fname) == os.path.abspath(path):
            raise UsageError("--sol names the --bem input itself; choose another output file")
        if fname is not None:
            check_output(fname, "--sol")
        surfaces = read_bem_surfaces(path)
    elif fname is not None:
        check_output(fname, "--sol")
    source = source or "BEM model"
    refuse_unstorable(surfaces, method, source)
    if method == "symmetric":
        solution = _symmetric_solution(surfaces, source, progress)
    elif solution_unknowns(surfaces, method, source) > blocked_lu.ONE_CALL_LIMIT:
        solution = _solution_by_solves(surfaces, method, source, progress)
    else:
        solution = _inverted_solution(surfaces, method, source, progress)
    if method == "constant":
        logger.warning("Constant-collocation solutions are read by MNE-C and mne_cli, "
                       "not by MNE-Python")
    elif method == "symmetric":
        logger.warning("Symmetric-BEM solutions are read by mne_cli and by MNE-Python "
                       "(forward solutions with openmeeg installed), not by MNE-C")
    if fname is not None:
        write_bem_solution(fname, solution, command_line)
        logger.info("Wrote %s", fname)
    return solution


def _inverted_solution(surfaces: list[BemSurface], method: str, source: str,
                       progress: Progress) -> BemSolution:
    """The solution by LAPACK's in-place inverse (and the isolated-skull update)."""
    system = _BemSystem(surfaces, method, source, progress, "solution")
    timer = _LapackTimer()
    timer.run(system.matrix, source, "Inverting the coefficient matrix", 2.0, _invert_in_place)
    if system.ip_mult is not None:
        logger.info("IP approach required...")
        timer.run(system.inner_block, source, "Inverting the coefficient matrix (homog)", 2.0,
                  _invert_in_place)
        logger.info("    Modify the original solution to incorporate IP approach...")
        _isolated_skull_update(system.matrix, system.inner_block, system.inner, system.ip_mult)
    logger.info("Solution ready.")
    return BemSolution(system.model, system.approx, system.matrix, Frame.MRI)


def _solution_by_solves(surfaces: list[BemSurface], method: str, source: str,
                        progress: Progress) -> BemSolution:
    """The solution of a model too large for LAPACK's one-call inverse, in float32.

    Above :data:`mne_cli.bem.lu.ONE_CALL_LIMIT` unknowns SciPy's LAPACK
    cannot invert in one call (it crashes), so the system is factored by
    panels and S is formed block of rows by block of rows as E S, E rows of
    the identity (:meth:`FactoredBemSystem.left_multiply`), each block
    stored in the float32 the file keeps. 8/3 N^3 flops instead of 2 N^3;
    peak 12 N^2 bytes (the float64 factors and the float32 solution).
    """
    factored = factor_bem_system(surfaces, method, source, progress)
    n = factored.size
    solution = np.empty((n, n), np.float32)
    for rows, block in _inverse_row_blocks(factored.factors.left_multiply, n):
        solution[rows] = block
    logger.info("Solution ready.")
    return BemSolution(factored.surfaces, factored.approx, solution, Frame.MRI)


def _symmetric_solution(surfaces: list[BemSurface], source: str,
                        progress: Progress) -> BemSolution:
    """The inverse of OpenMEEG's head matrix for the model, packed as MNE-Python stores it.

    The surfaces go to :func:`mne_cli.bem.symmetric.assemble` innermost
    first; OpenMEEG's head matrix is the negative of that system. Its inverse
    is stored as the upper triangle packed by columns (entry (i, j), i <= j,
    at i + j (j + 1) / 2), in float32.
    """
    from . import symmetric

    model = select_model_surfaces(surfaces, source)
    check_solution_geometry(model, source)
    inner_first = model[::-1]
    logger.info("Computing the symmetric BEM solution...")
    logger.info("    Matrix coefficients...")
    system = symmetric.assemble([(s.rr, s.tris) for s in inner_first],
                                [s.sigma for s in inner_first], progress)
    # OpenMEEG's head matrix is -M: its inverse is -M^-1.
    if max(len(system.potential_block), len(system.current_block)) <= blocked_lu.ONE_CALL_LIMIT:
        _LapackTimer().run(system, source, "Inverting the head matrix", 1.0,
                           symmetric.invert_in_place)
        packed = symmetric.pack_inverse(system, -1.0)
    else:
        packed = _packed_inverse_by_solves(system, source)
    logger.info("Solution ready.")
    return BemSolution(model, BemApprox.LINEAR, packed, Frame.MRI, solver="openmeeg")


def _packed_inverse_by_solves(system, source: str) -> np.ndarray:
    """The packed -M^-1 of a system whose blocks exceed one LAPACK call: the whole
    matrix factored by panels (:mod:`mne_cli.bem.lu`) and solved block by block."""
    from . import symmetric

    matrix = system.matrix
    system.potential_block = system.coupling = system.current_block = None   # freed
    matrix *= -1.0
    n = len(matrix)
    packed = np.empty(n * (n + 1) // 2, np.float32)
    factors = _LapackTimer().run(matrix, source, "Factoring the head matrix", 2 / 3,
                                 _factor_in_place)
    for rows, block in _inverse_row_blocks(lambda rows: _solve_transposed(factors, rows), n):
        symmetric.pack_rows(packed, rows, block)
    return packed


def _inverse_row_blocks(left_multiply, n: int):
    """(rows, M^-1[rows]) by blocks of rows: ``left_multiply`` of rows of the identity."""
    logger.info("    Solving for the %d x %d inverse by blocks of %d rows...", n, n,
                _SOLUTION_BLOCK_ROWS)
    for start in range(0, n, _SOLUTION_BLOCK_ROWS):
        rows = np.arange(start, min(start + _SOLUTION_BLOCK_ROWS, n))
        identity = np.zeros((len(rows), n))
        identity[np.arange(len(rows)), rows] = 1.0
        yield rows, left_multiply(identity)


def factor_bem_system(surfaces: list[BemSurface], method: str = "linear",
                      source: str = "BEM model", progress: Progress = SILENT) -> BemSolution:
    """The BEM model with its system matrix factored instead of inverted.

    A forward solution needs the solution S only through T = G S, G being
    the (k, N) sensor coefficients with k channels far fewer than N. The
    LU factorisation (2/3 N^3 flops) and k solves cost a third of the
    explicit inverse (2 N^3), and hold one N x N matrix, as the inverse
    does. This is how ``forward_solution --bem name-bem.fif`` works when no
    solution file exists, including models too large to store (SPEC 8.5).

    Parameters and errors as :func:`make_bem_solution`.

    Returns
    -------
    BemSolution
        ``solution`` None and ``factors`` a :class:`FactoredBemSystem`.
    """
    system = _BemSystem(surfaces, method, source, progress, "system")
    timer = _LapackTimer()
    factors = timer.run(system.matrix, source, "Factoring the coefficient matrix", 2 / 3,
                        _factor_in_place)
    homog = None
    if system.ip_mult is not None:
        logger.info("IP approach required...")
        homog = timer.run(system.inner_block, source,
                          "Factoring the coefficient matrix (homog)", 2 / 3, _factor_in_place)
    logger.info("System ready.")
    factored = FactoredBemSystem(factors, homog, system.inner, system.ip_mult)
    return BemSolution(system.model, system.approx, None, Frame.MRI, factored)


class _BemSystem:
    """The system matrix M of a model (and the inner-skull M_h of the IP approach).

    ``matrix`` (N, N) is built in the buffer of the coefficients, so the
    peak is one N x N matrix plus the (n, n) inner-skull block.
    """

    def __init__(self, surfaces: list[BemSurface], method: str, source: str,
                 progress: Progress, purpose: str):
        model = select_model_surfaces(surfaces, source)
        check_solution_geometry(model, source)
        if method == "linear":
            sizes, coefficients, approx = [len(s.rr) for s in model], linear_coefficients, \
                BemApprox.LINEAR
        elif method == "constant":
            sizes, coefficients, approx = [len(s.tris) for s in model], constant_coefficients, \
                BemApprox.CONSTANT
        else:
            raise ValueError(f"unknown BEM method {method!r}")
        _, _, gamma = conductivity_factors([s.sigma for s in model])
        ip_mult = model[1].sigma / model[2].sigma if len(model) == 3 else None
        self.model, self.approx = model, approx
        self.ip_mult = ip_mult if ip_mult is not None and ip_mult <= IP_APPROACH_LIMIT else None

        logger.info("Computing the %s collocation %s...", method, purpose)
        logger.info("    Matrix coefficients...")
        self.matrix = coefficients(model, progress)
        self.inner = slice(sum(sizes[:-1]), sum(sizes))
        # The homogeneous inner-skull problem of the isolated-skull approach
        # has exactly the inner skull's own coefficient block.
        self.inner_block = None
        if self.ip_mult is not None:
            self.inner_block = self.matrix[self.inner, self.inner].copy()
            _system_matrix(self.inner_block, sizes[-1:], None)
        _system_matrix(self.matrix, sizes, gamma)


class FactoredBemSystem:
    """LU factors of a BEM system, standing in for its solution S.

    S = M^-1 for one layer; with the isolated-skull approach (SPEC 8.5
    step 4) S = ip (M^-1 with every row's inner-skull part X replaced by
    X - 2 X M_h^-1, plus (1 + ip) / ip M_h^-1 on the inner-skull corner).
    """

    def __init__(self, factors, homog, inner: slice, ip_mult: float | None):
        self._factors, self._homog = factors, homog
        self._inner, self._ip_mult = inner, ip_mult

    @property
    def size(self) -> int:
        """N, the number of unknowns."""
        return len(self._factors[0])

    def left_multiply(self, coeff: np.ndarray) -> np.ndarray:
        """``coeff @ S`` for ``coeff`` of shape (k, N), as a new float64 (k, N) array.

        Each row is one linear solve with M^T (and one with M_h^T for the
        IP approach), 2 N^2 flops instead of the product's 2 N^2 with a
        stored S: the rows cost the same as with the inverse.
        """
        result = _solve_transposed(self._factors, coeff)
        if self._ip_mult is None:
            return result
        inner, ip = self._inner, self._ip_mult
        # One solve for both X S_h and G S_h: rows of [G X | G] restricted to the inner skull.
        both = _solve_transposed(self._homog, np.vstack([result[:, inner], coeff[:, inner]]))
        k = len(coeff)
        result[:, inner] -= 2 * both[:k]
        result *= ip
        result[:, inner] += (1 + ip) * both[k:]
        return result


def _system_matrix(coeff: np.ndarray, sizes: list[int], gamma: np.ndarray | None) -> None:
    """Turn C into M = I + 1/N - gamma (.) C / (2 pi), in place (SPEC 8.5 step 3)."""
    total = len(coeff)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    for p in range(len(sizes)):
        for q in range(len(sizes)):
            mult = 1 / (2 * np.pi) * (1.0 if gamma is None else gamma[p, q])
            block = coeff[offsets[p]:offsets[p + 1], offsets[q]:offsets[q + 1]]
            block *= -mult
    coeff += 1 / total
    coeff[np.diag_indices(total)] += 1


class _LapackTimer:
    """Logs each LAPACK step before it starts, with its size and expected time, and after.

    The time is estimated from its flop count (LU factorisation 2/3 n^3,
    the inverse from the factors 4/3 n^3 more) at half the rate of a matrix
    product timed on the spot, once per solution (:func:`_product_rate`).
    The step itself is not what is timed: on a machine busier than it has
    cores, small multi-threaded LAPACK calls run up to a hundred times
    slower than big ones (threads wait for each other), while a product is a
    single parallel step. The dgetrf + dgetri pair reached 0.3 to 0.8 of
    the product's rate at n = 3000 to 8000 on the (shared) two-core
    development machine, so the estimate is good to about a factor of two.
    Nothing is timed when INFO messages are off (``--quiet``).
    """

    def __init__(self):
        self._rate = None

    def run(self, matrix: np.ndarray, source: str, what: str, flops_per_n3: float, step):
        """``step(matrix, source)``, logged as ``what`` with an estimate of flops_per_n3 n^3.

        ``what`` begins with a verb in -ing ("Inverting ..."), whose past
        tense ("Inverted") starts the line logged after.
        """
        if not logger.isEnabledFor(logging.INFO):
            return step(matrix, source)
        n = len(matrix)
        if self._rate is None:
            size = min(_RATE_SIZE, max(64, n // 4))
            product = _product_rate(size)
            self._rate = _LAPACK_EFFICIENCY * product
            gflops = product / 1e9
            rate = f"{gflops:.2g}" if gflops < 10 else f"{gflops:.0f}"
            how = (f"{flops_per_n3:.2g} n^3 flops at half the {rate} GFLOP/s of a "
                   f"{size} x {size} matrix product timed just now")
        else:
            how = f"{flops_per_n3:.2g} n^3 flops at the same rate"
        logger.info("    %s (%d x %d; about %s, %s)...", what, n, n,
                    format_duration(flops_per_n3 * n ** 3 / self._rate), how)
        started = time.perf_counter()
        result = step(matrix, source)
        done = {"Inverting": "Inverted", "Factoring": "Factored"}[what.split()[0]]
        logger.info("    %s in %s.", done, format_duration(time.perf_counter() - started))
        return result


def _product_rate(size: int) -> float:
    """Flops per second of a ``size`` x ``size`` matrix product (LAPACK's own BLAS).

    The median of three products: the first also starts the BLAS threads,
    and on a busy machine any one of them can be slowed. ``size`` at most a
    quarter of the matrix to invert keeps this under 5 % of the inversion.
    """
    a = np.random.default_rng(0).random((size, size)).T     # column-major, as BLAS wants
    took = []
    for _ in range(3):
        started = time.perf_counter()
        blas.dgemm(1.0, a, a)
        took.append(time.perf_counter() - started)
    return 2 * size ** 3 / max(float(np.median(took)), 1e-9)


def _factor_in_place(matrix: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """LU factors (and pivots) of the transpose of the C-ordered square ``matrix``, in place.

    LAPACK works in column order: the C-ordered matrix is its transpose in
    Fortran order, the same memory, so no copy is made. Matrices too large
    for one LAPACK call are factored by panels (:mod:`mne_cli.bem.lu`).

    Raises
    ------
    GeometryError
        When the matrix is singular (surfaces not closed, nested or apart).
    """
    return blocked_lu.lu_factor(matrix.T, source)


def _invert_in_place(matrix: np.ndarray, source: str) -> None:
    """Replace the C-ordered square ``matrix`` by its inverse without a second copy.

    LAPACK inverts the transpose (the same memory in Fortran order), which,
    read back in row order, is the inverse. One call each of ``dgetrf`` and
    ``dgetri``: only for matrices within :data:`mne_cli.bem.lu.ONE_CALL_LIMIT`.
    """
    lu, piv = _factor_in_place(matrix, source)       # one dgetrf call at these sizes
    lwork, _ = lapack.dgetri_lwork(len(matrix))
    inverse, info = lapack.dgetri(lu, piv, lwork=int(lwork), overwrite_lu=True)
    if info != 0:
        raise GeometryError(f"{source}: the BEM system matrix could not be inverted (LAPACK "
                            f"info {info})")
    if not np.shares_memory(inverse, matrix):
        matrix[...] = inverse.T


def _solve_transposed(factors: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """``rows @ M^-1`` (k, N) from the factors of M^T: the solve M^T Z = rows^T, Z^T."""
    rhs = np.array(rows, dtype=np.float64, order="C").T     # Fortran (N, k), a copy
    return blocked_lu.lu_solve(factors, rhs).T


def _isolated_skull_update(solution: np.ndarray, homog: np.ndarray, inner: slice,
                           ip_mult: float) -> None:
    """Isolated-skull (IP) modification of SPEC 8.5 step 4, in place.

    Every row's inner-skull columns X become X - 2 X S_h; the inner-skull
    corner gains (1 + ip) / ip * S_h; then everything is scaled by ip.
    """
    columns = solution[:, inner]
    for start in range(0, len(solution), _IP_ROWS):
        rows = columns[start:start + _IP_ROWS]
        rows -= 2 * (rows @ homog)
    solution[inner, inner] += (1 + ip_mult) / ip_mult * homog
    solution *= ip_mult
