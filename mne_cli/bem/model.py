"""BEM geometry from triangulated surfaces: surf2bem's core (SPEC section 7).

Each surface is read, optionally decimated to an icosahedron grade and
shifted along its normals; the surfaces are put in model order (scalp,
outer skull, inner skull) and checked: topology always, size,
self-intersection, completeness and nesting with --check.
"""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass

import numpy as np

from ..errors import GeometryError, InputError
from ..fiff.constants import BemSurfId, Frame
from ..geometry.icosahedron import MAX_GRADE, grade_of_triangle_count, icosahedron
from ..geometry.inside import inside_surface
from ..geometry.intersection import most_crossed_vertex, self_intersections
from ..geometry.solid_angle import solid_angle_sums
from ..geometry.surface import (
    distance_to_surface,
    incident_triangle_counts,
    mean_unit_normals,
    vertex_normals,
)
from ..io.surface import read_freesurfer_surface, read_tri
from ..objects import BemSurface
from ..units import MM_PER_M

logger = logging.getLogger(__name__)

MODEL_ORDER = (BemSurfId.HEAD, BemSurfId.SKULL, BemSurfId.BRAIN)
# The inside test and the completeness check allow this relative error in
# the solid-angle sum (MNE-C's tolerance).
SOLID_ANGLE_TOLERANCE = 1e-5
# A head surface narrower than this on any axis is taken for metres read as mm.
MIN_EXTENT = 0.05
# Margin added to the --shift a failed nesting check suggests.
SHIFT_MARGIN = 0.001

_LABELS = {BemSurfId.HEAD: "outer skin", BemSurfId.SKULL: "outer skull",
           BemSurfId.BRAIN: "inner skull"}


def surface_label(surf: BemSurface) -> str:
    """The name MNE uses for a surface id ("inner skull", ...)."""
    return _LABELS.get(surf.id, f"surface {surf.id}")


@dataclass
class SurfaceSource:
    """One ``--surf``/``--tri`` entry with the per-surface options that follow it."""

    path: str
    ascii: bool = False          # --tri rather than --surf
    id: int = BemSurfId.UNKNOWN
    sigma: float | None = None   # S/m
    shift: float = 0.0           # metres, outward along the vertex normals
    swap: bool = False
    meters: bool = False
    ico: int | None = None
    #: What fixes triangles wound inward, in the calling command's syntax
    #: (None: surf2bem's "add --swap after --tri" for .tri files).
    swap_fix: str | None = None

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


@dataclass
class _Named:
    surface: BemSurface
    source: SurfaceSource

    @property
    def name(self) -> str:
        return f"{surface_label(self.surface)} ({self.source.name})"


def make_bem_model(sources: list[SurfaceSource], tri_frame: int = Frame.MRI,
                   force: bool = False, check: bool = False, check_more: bool = False,
                   *, fname=None) -> list[BemSurface]:
    """Read, decimate, shift, order and check the surfaces of a BEM model: mne_surf2bem's job.

    Parameters
    ----------
    sources : list of SurfaceSource
        The surfaces (FreeSurfer or ASCII .tri files) with their id,
        conductivity (S/m), outward shift (m) and the other per-surface
        options of surf2bem.
    tri_frame : int
        FIF coordinate frame recorded for .tri surfaces (5 MRI, 4 head).
    force : bool
        Accept surfaces with topological defects (SPEC 7.3).
    check, check_more : bool
        Check size, completeness, self-intersection and nesting (and, with
        ``check_more``, the distances between surfaces), as MNE-C's
        ``--check``/``--checkmore``.
    fname : str or path-like, optional
        Write the model here (``-bem.fif``); checked before any surface is read.

    Returns
    -------
    list of BemSurface
        Outermost first, in metres, with vertex normals.

    Raises
    ------
    InputError, GeometryError
        Naming the surface whose file or check fails.
    """
    from ..atomic import check_output
    from ..io.bem import write_bem_surfaces

    if fname is not None:
        check_output(fname, "--fif", [source.path for source in sources])
    validate_sources(sources)
    named = [_Named(load_surface(src, tri_frame), src) for src in sources]
    named = _model_order(named)
    for item in named:
        check_topology(item, force)
    if check or check_more:
        check_model(named, check_more)
    surfaces = [item.surface for item in named]
    if fname is not None:
        write_bem_surfaces(fname, surfaces)
        logger.info("Wrote %s", fname)
    return surfaces


def load_surface(src: SurfaceSource, tri_frame: int = Frame.MRI) -> BemSurface:
    """One surface in metres with its normals, after --swap, --ico and --shift."""
    if src.ascii:
        rr, tris = read_tri(src.path, meters=src.meters)
        if src.swap:
            tris = tris[:, [0, 2, 1]]
        frame = tri_frame
    else:
        rr, tris = read_freesurfer_surface(src.path)
        if src.swap:
            logger.warning("%s: --swap has no effect on FreeSurfer surfaces", src.name)
        if src.meters:
            logger.warning("%s: --meters has no effect on FreeSurfer surfaces (always mm)",
                           src.name)
        frame = Frame.MRI
    logger.info("Read %s: %d vertices, %d triangles", src.path, len(rr), len(tris))
    if src.ico is not None:
        rr, tris, nn = decimate_to_ico(rr, tris, src.ico, src.path)
    else:
        nn = vertex_normals(rr, tris)
    if src.shift:
        rr = rr + src.shift * vertex_normals(rr, tris)
        nn = vertex_normals(rr, tris)
        logger.info("%s: vertices moved %.2f mm along their normals", src.name,
                    src.shift * MM_PER_M)
    return BemSurface(src.id, src.sigma, rr, tris, nn, frame)


def decimate_to_ico(rr: np.ndarray, tris: np.ndarray, grade: int, name: str):
    """Keep the vertices of an icosahedron-isomorphic mesh that form grade ``grade``.

    The mesh must carry exactly the triangles of some grade-g template
    (g >= grade).  Our templates are nested (subdivision appends vertices),
    so grade k's vertices are the first 10 * 4**k + 2 of grade g, in the
    same directions.  The normals returned are those of the tabulated
    grade-k template, which is what MNE-C stores.

    Returns
    -------
    rr : ndarray (n_k, 3), tris : ndarray (t_k, 3), nn : ndarray (n_k, 3)
    """
    found = grade_of_triangle_count(len(tris))
    if found is None or found > MAX_GRADE:
        raise GeometryError(
            f"{name}: cannot decimate to ico grade {grade}: the surface has {len(tris)} "
            "triangles, so it cannot be isomorphic with a subdivided icosahedron "
            "(20 * 4**g triangles); leave out --ico")
    if not 0 <= grade <= found:
        raise GeometryError(f"{name}: the surface is an ico-{found} mesh, so --ico must be "
                            f"between 0 and {found}, not {grade}")
    _, template_tris = icosahedron(found)
    if not np.array_equal(template_tris, tris):
        raise GeometryError(
            f"{name}: the surface has the {len(tris)} triangles of an ico-{found} mesh but "
            "not in the icosahedron template's order, so it cannot be decimated; leave out "
            "--ico")
    template_rr, dest_tris = icosahedron(grade, tabulated=True)
    logger.info("Going from ico-%d to ico-%d (%d -> %d triangles)", found, grade, len(tris),
                len(dest_tris))
    return rr[:len(template_rr)].copy(), dest_tris, mean_unit_normals(template_rr, dest_tris)


def _model_order(named: list[_Named]) -> list[_Named]:
    """Scalp, outer skull, inner skull when the three ids are there; else as given."""
    ids = [item.surface.id for item in named]
    if len(named) == 3 and sorted(ids) == sorted(MODEL_ORDER):
        return [named[ids.index(i)] for i in MODEL_ORDER]
    return named


def check_topology(item: _Named, force: bool) -> None:
    """Reject vertices in fewer than three triangles (topological defects) unless forced."""
    surf = item.surface
    counts = incident_triangle_counts(surf.tris, len(surf.rr))
    defects = np.nonzero(counts < 3)[0]
    if len(defects) == 0:
        return
    listed = ", ".join(str(v) for v in defects[:20]) + (", ..." if len(defects) > 20 else "")
    message = (f"Surface {item.name} has topological defects: {len(defects)} of "
               f"{len(surf.rr)} vertices belong to fewer than three triangles "
               f"(vertices {listed})")
    if not force:
        raise GeometryError(message + "; fix the mesh or use --force")
    logger.warning("%s (accepted with --force)", message)


def check_model(named: list[_Named], more: bool = False) -> None:
    """--check: size, self-intersection, completeness and nesting; --checkmore adds
    distances (SPEC 7.4)."""
    if len(named) not in (1, 3):
        logger.warning("Checks are made for 1- and 3-surface models only; %d surfaces given",
                       len(named))
        return
    for item in named:
        check_size(item)
        logger.info("%s CM is %.2f %.2f %.2f mm", item.name,
                    *(item.surface.rr.mean(axis=0) * MM_PER_M))
        # A crossing makes the solid-angle sum of check_complete meaningless
        # (a spike through the centre gives 0), so it is reported first.
        check_no_self_intersection(item)
        check_complete(item)
    for outer, inner in itertools.pairwise(named):
        check_inside(inner, outer)
    if more:
        for outer, inner in itertools.pairwise(named):
            _report_distance(outer, inner)


def check_size(item: _Named) -> None:
    extent = np.ptp(item.surface.rr, axis=0)
    if (extent < MIN_EXTENT).any():
        hint = ("; the .tri coordinates may be in metres: add --meters after --tri"
                if item.source.ascii and not item.source.meters else
                "; maybe the unit of measure is metres instead of mm")
        raise GeometryError(
            f"Dimensions of the surface {item.name} seem too small "
            f"({extent.min() * MM_PER_M:.2f} mm across, at least {MIN_EXTENT * MM_PER_M:.0f} "
            f"mm expected){hint}")


def check_complete(item: _Named) -> None:
    """The solid angles seen from the centre of mass must add up to 4 pi."""
    surf = item.surface
    centre = surf.rr.mean(axis=0)
    total = solid_angle_sums(centre, surf.rr, surf.tris)[0] / (4 * np.pi)
    if abs(total - 1) <= SOLID_ANGLE_TOLERANCE:
        return
    at = "at ({:.1f}, {:.1f}, {:.1f}) mm".format(*(centre * MM_PER_M))
    if abs(total + 1) <= SOLID_ANGLE_TOLERANCE:
        fix = item.source.swap_fix or ("add --swap after --tri" if item.source.ascii else "")
        hint = "its triangles are wound inward" + (f"; {fix}" if fix else "")
    else:
        hint = "it has a hole or is not closed"
    raise GeometryError(f"Surface {item.name} is not complete: the solid angles seen from its "
                        f"centre {at} sum to {total:.5f} * 4 pi instead of 4 pi; {hint}")


def check_no_self_intersection(item: _Named) -> None:
    """No two triangles of the surface may cross (MNE-C does not check this).

    A vertex pushed through the far side of a surface leaves it complete
    (the solid angles still sum to 4 pi) but makes its BEM solution
    meaningless. The vertex reported is the one in most crossing triangles
    (0-based, as in the file).
    """
    refuse_self_intersection(item.surface.rr, item.surface.tris, f"Surface {item.name}")


def refuse_self_intersection(rr: np.ndarray, tris: np.ndarray, what: str) -> None:
    """Raise GeometryError, naming ``what`` and a vertex, if triangles cross.

    ``rr`` in metres (the message gives mm). volume_source_space uses it
    for its bounding surface too.
    """
    pairs = self_intersections(rr, tris)
    if len(pairs) == 0:
        return
    vertex = most_crossed_vertex(tris, pairs)
    at = "({:.1f}, {:.1f}, {:.1f}) mm".format(*(rr[vertex] * MM_PER_M))
    raise GeometryError(
        f"{what} intersects itself: {len(pairs)} "
        f"pair{'s' if len(pairs) > 1 else ''} of its triangles cross, and vertex {vertex}, "
        f"at {at}, belongs to the most crossing triangles; correct the mesh around it")


def check_inside(inner: _Named, outer: _Named) -> None:
    """Every vertex of ``inner`` must be inside ``outer`` (solid-angle inside test)."""
    logger.info("Checking that surface %s is inside surface %s ...", inner.name, outer.name)
    rr_in, surf_out = inner.surface.rr, outer.surface
    total = solid_angle_sums(rr_in, surf_out.rr, surf_out.tris) / (4 * np.pi)
    outside = np.nonzero(np.abs(total - 1) > SOLID_ANGLE_TOLERANCE)[0]
    if len(outside) == 0:
        return
    depth = distance_to_surface(rr_in[outside], surf_out.rr, surf_out.tris)
    worst = outside[np.argmax(depth)]
    shift = np.ceil((depth.max() + SHIFT_MARGIN) * MM_PER_M * 10) / 10
    raise GeometryError(
        f"Surface {inner.name} is not completely inside surface {outer.name}: "
        f"{len(outside)} of {len(rr_in)} vertices lie outside, the farthest "
        f"{depth.max() * MM_PER_M:.2f} mm outside at "
        "({:.1f}, {:.1f}, {:.1f}) mm".format(*(rr_in[worst] * MM_PER_M))
        + f"; try --shift -{shift:.1f} after the {inner.source.name} surface or "
          f"--shift {shift:.1f} after the {outer.source.name} surface")


def check_solution_geometry(model: list[BemSurface], source: str) -> None:
    """Refuse a BEM model whose solution would be meaningless (before computing it).

    The size, self-intersection and completeness checks of ``surf2bem
    --check`` (SPEC 7.4, 13), applied to the model surfaces of a geometry
    file (outermost first), and the nesting of each surface inside the one
    before it. MNE-C's mne_prepare_bem_model solves such a model silently.

    Raises
    ------
    GeometryError
        Naming ``source`` (the input file) and the surface.
    """
    try:
        for surf in model:
            item = _Named(surf, SurfaceSource(source))
            check_size(item)
            check_no_self_intersection(item)
            check_complete(item)
    except GeometryError as err:
        raise GeometryError(f"{source}: {err} (check the surfaces with surf2bem --check)") \
            from None
    # Nesting by the fast inside test; check_inside's --shift advice is for surf2bem.
    for outer, inner in itertools.pairwise(model):
        outside = np.count_nonzero(~inside_surface(inner.rr, outer.rr, outer.tris))
        if outside:
            raise GeometryError(
                f"{source}: Surface {surface_label(inner)} is not completely inside surface "
                f"{surface_label(outer)} ({outside} of {len(inner.rr)} vertices lie outside); "
                "check the surfaces with surf2bem --check")


def _report_distance(outer: _Named, inner: _Named) -> None:
    """Log the smallest vertex-to-vertex distance between two surfaces (informational)."""
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(outer.surface.rr).query(inner.surface.rr)
    at = inner.surface.rr[np.argmin(dist)] * MM_PER_M
    logger.info("Minimum distance between the %s and %s surfaces is approximately %.1f mm "
                "(at %.1f %.1f %.1f mm)", outer.name, inner.name, dist.min() * MM_PER_M, *at)


def validate_sources(sources: list[SurfaceSource]) -> None:
    """Refuse option values no surface can have before any file is read."""
    seen: dict[int, str] = {}
    for src in sources:
        if src.id != BemSurfId.UNKNOWN and src.id in seen:
            raise InputError(f"{src.name}: --id {src.id} is given to {seen[src.id]} too; each "
                             "surface of a model needs its own id (1 inner skull, 3 outer "
                             "skull, 4 scalp)")
        seen[src.id] = src.name
        if src.sigma is not None and not (0 < src.sigma < float("inf")):  # NaN too
            raise InputError(f"{src.name}: --sigma must be a positive, finite conductivity "
                             f"in S/m, not {src.sigma}")
        if src.ico is not None and not 0 <= src.ico <= MAX_GRADE:
            raise InputError(f"{src.name}: --ico must be between 0 and {MAX_GRADE}, "
                             f"not {src.ico}")
