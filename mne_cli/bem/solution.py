"""BEM potential solution matrix (SPEC section 8): mne_prepare_bem_model's core.

The solution S = M^-1 maps infinite-medium potentials at the collocation
points (scaled by the source multipliers) to the potentials on the
surfaces.  M is built in the buffer that held the coefficients and
inverted in place, so the peak is one N x N matrix plus the
inner-skull block the isolated-skull step needs.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from scipy.linalg import blas, lapack

from ..errors import GeometryError, InputError
from ..fiff.constants import BemApprox, BemSurfId, Frame
from ..objects import BemSolution, BemSurface
from ..progress import SILENT, Progress, format_duration
from .collocation import constant_coefficients, linear_coefficients
from .model import check_solution_geometry, surface_label

logger = logging.getLogger(__name__)

# The isolated-skull approach is used when sigma_skull / sigma_brain is at
# most this (MNE-C's FWD_BEM_IP_APPROACH_LIMIT).
IP_APPROACH_LIMIT = 0.1
THREE_LAYER_IDS = (BemSurfId.HEAD, BemSurfId.SKULL, BemSurfId.BRAIN)

# Rows per step of the isolated-skull update X <- X - 2 X S_h.
_IP_ROWS = 1024

# Largest matrix product timed to estimate how long the inversions take,
# and the inversion's speed as a fraction of the product's (see _InversionTimer).
_RATE_SIZE = 1024
_INVERSION_EFFICIENCY = 0.5


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
    """N, the size of the BEM solution matrix: model vertices (linear) or triangles."""
    model = select_model_surfaces(surfaces, source)
    return sum(len(s.rr) if method == "linear" else len(s.tris) for s in model)


def refuse_unstorable(surfaces: list[BemSurface], method: str, source: str) -> None:
    """Refuse, before computing, a solution too large for any FIF file.

    Raises
    ------
    InputError
        Naming N, the matrix size and the ways out (a coarser mesh, or the
        forward solution computed straight from the surfaces).
    """
    n = solution_unknowns(surfaces, method, source)
    if n > MAX_STORED_UNKNOWNS:
        raise InputError(
            f"{source}: the {method} BEM solution of this model has {n} unknowns, and its "
            f"{n} x {n} float32 matrix ({4 * n * n / 2 ** 30:.1f} GiB) is larger than a FIF "
            f"file can hold (2 GiB, {MAX_STORED_UNKNOWNS} unknowns; MNE-Python cannot store "
            "it either); decimate the surfaces (surf2bem --ico 4), or give the -bem.fif to "
            f"forward_solution --bem, which solves it in memory ({8 * n * n / 2 ** 30:.1f} GiB)")


def make_bem_solution(surfaces: list[BemSurface], method: str = "linear",
                      source: str = "BEM model", progress: Progress = SILENT) -> BemSolution:
    """Compute the BEM solution of a 1- or 3-layer model.

    Parameters
    ----------
    surfaces : list of BemSurface
        All surfaces of the geometry file; the model ones are picked by id.
    method : {"linear", "constant"}
        Linear collocation (unknowns at vertices, SPEC 8.5) or constant
        collocation (unknowns at triangle centroids, SPEC 8.6).
    source : str
        Name used in error messages (the input file).
    progress : Progress
        Told about the coefficient stage (the inversions are single LAPACK
        calls, not subdivided; each is logged before, with its expected
        time, and after).

    Returns
    -------
    BemSolution
        The model surfaces, unchanged, with ``solution`` (N, N).
    """
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
    use_ip = ip_mult is not None and ip_mult <= IP_APPROACH_LIMIT

    logger.info("Computing the %s collocation solution...", method)
    logger.info("    Matrix coefficients...")
    matrix = coefficients(model, progress)
    inner = slice(sum(sizes[:-1]), sum(sizes))
    # The homogeneous inner-skull problem of the isolated-skull approach has
    # exactly the inner skull's own coefficient block.
    inner_block = matrix[inner, inner].copy() if use_ip else None

    _system_matrix(matrix, sizes, gamma)
    timer = _InversionTimer()
    timer.invert(matrix, source, "the coefficient matrix")
    if use_ip:
        logger.info("IP approach required...")
        _system_matrix(inner_block, sizes[-1:], None)
        timer.invert(inner_block, source, "the coefficient matrix (homog)")
        logger.info("    Modify the original solution to incorporate IP approach...")
        _isolated_skull_update(matrix, inner_block, inner, ip_mult)
    logger.info("Solution ready.")
    return BemSolution(model, approx, matrix, Frame.MRI)


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


class _InversionTimer:
    """Logs each inversion before it starts, with its size and expected time, and after.

    The time is estimated as 2 n^3 flops (LU factorisation 2/3 n^3 plus
    the inverse from the factors 4/3 n^3) at half the rate of a matrix
    product timed on the spot, once per solution (:func:`_product_rate`).
    The inversion itself is not what is timed: on a machine busier than it
    has cores, small multi-threaded LAPACK inversions run up to a hundred
    times slower than big ones (threads wait for each other), while a
    product is a single parallel step. The dgetrf + dgetri pair reached 0.3
    to 0.8 of the product's rate at n = 3000 to 8000 on the (shared)
    two-core development machine, so the estimate is good to about a factor
    of two. Nothing is timed when INFO messages are off (``--quiet``).
    """

    def __init__(self):
        self._rate = None

    def invert(self, matrix: np.ndarray, source: str, what: str) -> None:
        """``_invert_in_place(matrix, source)``, with log lines naming it ``what``."""
        if not logger.isEnabledFor(logging.INFO):
            _invert_in_place(matrix, source)
            return
        n = len(matrix)
        if self._rate is None:
            size = min(_RATE_SIZE, max(64, n // 4))
            product = _product_rate(size)
            self._rate = _INVERSION_EFFICIENCY * product
            gflops = product / 1e9
            rate = f"{gflops:.2g}" if gflops < 10 else f"{gflops:.0f}"
            how = (f"2 n^3 flops at half the {rate} GFLOP/s of a {size} x {size} matrix "
                   "product timed just now")
        else:
            how = "at the same rate"
        logger.info("    Inverting %s (%d x %d; about %s, %s)...", what, n, n,
                    format_duration(2 * n ** 3 / self._rate), how)
        started = time.perf_counter()
        _invert_in_place(matrix, source)
        logger.info("    Inverted in %s.", format_duration(time.perf_counter() - started))


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


def _invert_in_place(matrix: np.ndarray, source: str) -> None:
    """Replace the C-ordered square ``matrix`` by its inverse without a second copy.

    LAPACK works in column order, so it factors and inverts the transpose,
    which is the same memory; the inverse of the transpose, read back in row
    order, is the inverse.
    """
    fortran_view = matrix.T
    lu, piv, info = lapack.dgetrf(fortran_view, overwrite_a=True)
    if info > 0:
        raise GeometryError(f"{source}: the BEM system matrix is singular; check that the "
                            "surfaces are closed, nested and do not touch")
    lwork, _ = lapack.dgetri_lwork(len(matrix))
    inverse, info = lapack.dgetri(lu, piv, lwork=int(lwork), overwrite_lu=True)
    if info != 0:
        raise GeometryError(f"{source}: the BEM system matrix could not be inverted (LAPACK "
                            f"info {info})")
    if not np.shares_memory(inverse, matrix):
        matrix[...] = inverse.T


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
