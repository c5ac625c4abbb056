"""BEM geometry (``-bem.fif``) and BEM solution (``-bem-sol.fif``) files.

Layout: SPEC sections 7.5 and 8.7, tag for tag as genuine MNE-C writes it
(mne_surf2bem, mne_prepare_bem_model).
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..errors import FifError
from ..fiff import Block, Frame, Kind, fif_writer, open_fif
from ..fiff.constants import BemApprox, BemSurfId, Type
from ..geometry.surface import vertex_normals
from ..objects import BemSolution, BemSurface
from .surface import TRIANGLE_MAGIC


def default_solution_name(bem_file: str) -> str:
    """``x-bem.fif`` -> ``x-bem-sol.fif`` (strip .fif, -sol and -bem, add -bem-sol.fif).

    A gzipped ``x-bem.fif.gz`` gives ``x-bem-sol.fif.gz``.
    """
    gz = ".gz" if bem_file.endswith(".fif.gz") else ""
    stem = bem_file.removesuffix(gz)
    for suffix in (".fif", "-sol", "-bem"):
        stem = stem.removesuffix(suffix)
    return stem + "-bem-sol.fif" + gz


def bem_file_names(name: str) -> tuple[str, str]:
    """(``x-bem.fif``, ``x-bem-sol.fif``) for a BEM given as x, x-bem.fif or x-bem-sol.fif
    (``.fif.gz`` names keep their ending)."""
    solution = default_solution_name(name)
    gz = ".gz" if solution.endswith(".gz") else ""
    return solution.removesuffix("-sol.fif" + gz) + ".fif" + gz, solution


def bem_file_candidates(name: str) -> list[tuple[str, str]]:
    """The (-bem.fif, -bem-sol.fif) pairs a ``--bem`` name may stand for, in order:
    :func:`bem_file_names`, then, for a bare name, its ``.fif.gz`` pair."""
    pairs = [bem_file_names(name)]
    if not name.endswith((".fif", ".fif.gz")):
        pairs.append(bem_file_names(name + "-bem.fif.gz"))
    return pairs


def read_bem_surfaces(path) -> list[BemSurface]:
    """Every BEM surface of a ``-bem.fif`` or ``-bem-sol.fif`` file, in file order."""
    return _read(path).surfaces


def read_bem_solution(path) -> BemSolution:
    """Surfaces plus the stored solution matrix (``solution`` None if absent).

    The solution size is checked against the surfaces: N = total vertices
    for linear collocation, total triangles for constant collocation.
    """
    sol = _read(path)
    if sol.solution is None:
        return sol
    if sol.solver == "openmeeg":
        n = sol.size
        if sol.solution.ndim != 1 or len(sol.solution) != n * (n + 1) // 2:
            raise FifError(f"{os.fspath(path)}: the symmetric (OpenMEEG) BEM solution has "
                           f"{sol.solution.size} values; its surfaces need "
                           f"{n * (n + 1) // 2} ({n} unknowns)")
        return sol
    if sol.approx == BemApprox.LINEAR:
        expected = sum(len(s.rr) for s in sol.surfaces)
    elif sol.approx == BemApprox.CONSTANT:
        expected = sum(len(s.tris) for s in sol.surfaces)
    else:
        raise FifError(f"{os.fspath(path)}: Cannot handle BEM approximation method : {sol.approx}")
    if sol.solution.shape != (expected, expected):
        r, c = sol.solution.shape
        raise FifError(f"{os.fspath(path)}: Expected a {expected} x {expected} solution matrix "
                       f"instead of a {r} x {c} one")
    return sol


def _read(path) -> BemSolution:
    try:
        fif = open_fif(path)
    except FifError:
        _refuse_surface(path)
        raise
    bems = fif.root.find_blocks(Block.BEM)
    if not bems:
        raise FifError(f"{fif.name}: no BEM block found; this is not a BEM file")
    bem = bems[0]
    frame = bem.read_int(Kind.BEM_COORD_FRAME, Frame.MRI)
    surfaces = [_read_surface(fif.name, node, frame) for node in bem.find_blocks(Block.BEM_SURF)]
    if not surfaces:
        raise FifError(f"{fif.name}: the BEM block holds no surfaces")
    solution = bem.read_view(Kind.BEM_POT_SOLUTION, None)  # no copy: it can be 100s of MB
    approx = bem.read_int(Kind.BEM_APPROX, None)
    solver = _solver(bem, fif.name)
    if solution is not None and solution.ndim != (1 if solver == "openmeeg" else 2):
        raise FifError(f"{fif.name}: the BEM solution is not a matrix")
    return BemSolution(surfaces, approx, solution, frame, solver=solver)


def _solver(bem, name: str) -> str:
    """The solver of MNE-Python's description tag (JSON ``{"solver": ...}``), default "mne"."""
    text = bem.read_string(Kind.COMMENT, None)
    if text is None:
        return "mne"
    try:
        solver = json.loads(text).get("solver", "mne")
    except (ValueError, AttributeError):
        raise FifError(f"{name}: the BEM description {text[:60]!r} is not MNE-Python's "
                       "JSON") from None
    if solver not in ("mne", "openmeeg"):
        raise FifError(f"{name}: unknown BEM solver {solver!r} (known: mne, openmeeg)")
    return solver


def _refuse_surface(path) -> None:
    """A surface file where a BEM model was expected: say so and how to make one."""
    try:
        with open(os.fspath(path), "rb") as fid:
            head = fid.read(3)
    except OSError:
        return
    if head == TRIANGLE_MAGIC:
        what = "a FreeSurfer surface"
    elif os.fspath(path).endswith(".tri"):
        what = "an ASCII .tri surface"
    else:
        return
    raise FifError(f"{os.fspath(path)}: this is {what}, not a BEM model (-bem.fif); make one "
                   "from the surfaces with surf2bem (or mne_setup_forward_model), and its "
                   "solution with prepare_bem_model")


def _read_surface(name: str, node, default_frame: int) -> BemSurface:
    sigma = node.read_float(Kind.BEM_SIGMA, None)
    surf_id = node.read_int(Kind.BEM_SURF_ID, BemSurfId.UNKNOWN)
    frame = node.read_int(Kind.MNE_COORD_FRAME, default_frame)
    nnode = node.read_int(Kind.BEM_SURF_NNODE)
    ntri = node.read_int(Kind.BEM_SURF_NTRI)
    rr = np.asarray(node.read(Kind.BEM_SURF_NODES), np.float64)
    tris = np.asarray(node.read(Kind.BEM_SURF_TRIANGLES), np.int64) - 1
    what = f"{name}: BEM surface {surf_id}"
    if rr.shape != (nnode, 3):
        raise FifError(f"{what} has vertex array {rr.shape} instead of ({nnode}, 3)")
    if tris.shape != (ntri, 3):
        raise FifError(f"{what} has triangle array {tris.shape} instead of ({ntri}, 3)")
    if ntri and (tris.min() < 0 or tris.max() >= nnode):
        raise FifError(f"{what} has triangles that refer to vertices outside 1..{nnode}")
    nn = node.read(Kind.BEM_SURF_NORMALS, None)
    if nn is None:
        nn = vertex_normals(rr, tris)
    else:
        nn = np.asarray(nn, np.float64)
        if nn.shape != rr.shape:
            raise FifError(f"{what} has normal array {nn.shape} instead of ({nnode}, 3)")
    return BemSurface(surf_id, sigma, rr, tris, nn, frame)


def write_bem_surfaces(path, surfaces: list[BemSurface]) -> None:
    """Write a BEM geometry file (mne_surf2bem's output; no ENV block)."""
    write_bem_solution(path, BemSolution(surfaces))


def write_bem_solution(path, bem: BemSolution, command_line: str | None = None) -> None:
    """Write surfaces and, when present, the solution (``-bem-sol.fif``).

    ``command_line`` adds the provenance ENV block, as mne_prepare_bem_model
    does.
    """
    with fif_writer(path) as w, w.block(Block.BEM):
        if command_line is not None:
            w.write_env(command_line)
        w.write_int(Kind.BEM_COORD_FRAME, bem.coord_frame)
        if bem.solver != "mne":
            w.write_string(Kind.COMMENT, json.dumps({"solver": bem.solver}))
        for surf in bem.surfaces:
            write_bem_surface_block(w, surf)
        if bem.solution is not None:
            w.write_int(Kind.BEM_APPROX, bem.approx)
            w.write_matrix(Kind.BEM_POT_SOLUTION, bem.solution, Type.FLOAT)


def write_bem_surface_block(w, surf: BemSurface) -> None:
    """One FIFFB_BEM_SURF block; triangles become 1-based on disk."""
    with w.block(Block.BEM_SURF):
        if surf.sigma is not None:
            w.write_float(Kind.BEM_SIGMA, surf.sigma)
        w.write_int(Kind.BEM_SURF_ID, surf.id)
        w.write_int(Kind.MNE_COORD_FRAME, surf.coord_frame)
        w.write_int(Kind.BEM_SURF_NNODE, len(surf.rr))
        w.write_int(Kind.BEM_SURF_NTRI, len(surf.tris))
        w.write_matrix(Kind.BEM_SURF_NODES, surf.rr, Type.FLOAT)
        w.write_matrix(Kind.BEM_SURF_TRIANGLES, np.asarray(surf.tris) + 1, Type.INT)
        w.write_matrix(Kind.BEM_SURF_NORMALS, surf.nn, Type.FLOAT)
