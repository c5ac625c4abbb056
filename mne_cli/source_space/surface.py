"""Cortical (surface) source spaces: make_source_space's core (SPEC section 5).

A source space keeps the whole surface and marks the chosen vertices in
use: by graph-distance decimation (``--spacing``), by the vertices nearest
to a subdivided icosahedron or octahedron on the subject's sphere (``--ico``,
``--oct``), or by mapping another subject's choice through the registered
spheres (``--morph``). Patch information (nearest source along the surface)
is always added; source-to-source distances on request.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from ..errors import GeometryError, InputError
from ..fiff.constants import SourceSpaceId, SourceSpaceType
from ..geometry.icosahedron import MAX_GRADE, icosahedron, octahedron
from ..geometry.surface import edge_multiplicity, mean_unit_normals
from ..io.surface import read_freesurfer_surface
from ..objects import SourceSpace
from ..progress import SILENT, Progress
from . import hemisphere_of_points

logger = logging.getLogger(__name__)

# Sources per Dijkstra batch when computing distances: bounds the dense
# (batch x vertices) result to ~20 MB for a 150k-vertex surface.
_DIJKSTRA_BATCH = 16


def read_cortex(path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (m), triangles and vertex normals of a FreeSurfer surface.

    The normals are the normalised sums of the unit normals of the incident
    triangles, as MNE-Python computes them for source spaces.
    """
    rr, tris = read_freesurfer_surface(path)
    return rr, tris, mean_unit_normals(rr, tris)


def hemisphere_id(path, rr: np.ndarray) -> int:
    """101 (left) or 102 (right): from an ``lh.``/``rh.`` file name, else from the mean x."""
    base = os.path.basename(os.fspath(path))
    if base.startswith("lh."):
        return SourceSpaceId.LEFT
    if base.startswith("rh."):
        return SourceSpaceId.RIGHT
    return hemisphere_of_points(rr)


def mesh_distance_graph(rr: np.ndarray, tris: np.ndarray) -> scipy.sparse.csr_matrix:
    """The edge graph of a triangulation weighted by edge length (m)."""
    graph = edge_multiplicity(tris, len(rr)).tocoo()
    lengths = np.linalg.norm(rr[graph.row] - rr[graph.col], axis=1)
    return scipy.sparse.csr_matrix((lengths, (graph.row, graph.col)), shape=graph.shape)


def decimate_by_spacing(neighbours: scipy.sparse.csr_matrix, spacing: int) -> np.ndarray:
    """In-use flags from MNE-C's graph-distance decimation (SPEC 5.4.1).

    ``spacing`` counts mesh edges (about mm on a FreeSurfer white surface).
    The rule is sequential, so it runs vertex by vertex on plain lists.
    """
    indptr, indices = neighbours.indptr, neighbours.indices.tolist()
    nvert = len(indptr) - 1
    ring = [indices[indptr[v]:indptr[v + 1]] for v in range(nvert)]
    d = [10000] * nvert
    for v in range(nvert):
        near = ring[v]
        dv = min(d[v], min((d[n] for n in near), default=9999) + 1)
        if dv >= spacing:
            dv = 0
        d[v] = dv
        for n in near:
            d[n] = min(d[n], dv + 1)
    if spacing == 2:
        for v in range(nvert - 1, -1, -1):
            for n in ring[v]:
                d[v] = min(d[v], d[n] + 1)
                d[n] = min(d[n], d[v] + 1)
        for v in range(nvert):
            if d[v] > 0:
                if sum(1 for n in ring[v] if d[n] == 0) <= 2:
                    d[v] = 0
                for n in ring[v]:
                    d[n] = min(d[n], d[v] + 1)
    return (np.asarray(d) == 0).astype(np.int64)


def template_sphere(grade: int) -> tuple[np.ndarray, np.ndarray]:
    """Icosahedron (grade > 0) or octahedron (grade < 0) template, unit vertices.

    The icosahedron is MNE's tabulated one (four decimals), so that sources
    are picked exactly where MNE-C and MNE-Python pick them.
    """
    if grade > 0:
        if grade > MAX_GRADE:
            raise InputError(f"--ico {grade} is too fine; at most {MAX_GRADE}")
        return icosahedron(grade, tabulated=True)
    if grade < 0:
        if -grade > MAX_GRADE:
            raise InputError(f"--oct {-grade} is too fine; at most {MAX_GRADE}")
        return octahedron(-grade)
    raise InputError("--ico 0 is not a valid subdivision; use a grade >= 1 (or --oct)")


def pick_by_sphere(sphere_rr: np.ndarray, neighbours: scipy.sparse.csr_matrix,
                   template_rr: np.ndarray, template_tris: np.ndarray, name: str):
    """Vertices nearest to the template's vertices on the unit sphere (SPEC 5.4.2).

    A template vertex whose nearest surface vertex is already taken moves to
    the highest-numbered free 1-ring neighbour, as MNE does.

    Returns
    -------
    inuse : ndarray (n,) int, use_tris : ndarray (t, 3) surface vertex numbers
    """
    directions = sphere_rr / np.linalg.norm(sphere_rr, axis=1, keepdims=True)
    template = template_rr / np.linalg.norm(template_rr, axis=1, keepdims=True)
    _, nearest = cKDTree(directions).query(template)
    chosen, taken = _place_apart(
        nearest, neighbours, highest=True,
        failure=lambda k, vertex: (
            f"{name}: could not find a free neighbour for template vertex {k} (surface vertex "
            f"{vertex} is taken); the sphere does not match the template density: use a "
            "coarser --ico/--oct"))
    inuse = taken.astype(np.int64)
    return inuse, chosen[template_tris]


def _place_apart(targets: np.ndarray, neighbours: scipy.sparse.csr_matrix, highest: bool,
                 failure) -> tuple[np.ndarray, np.ndarray]:
    """Give every target its own vertex, in order; a taken one moves to a free 1-ring neighbour.

    ``highest`` picks the highest-numbered free neighbour (MNE's --ico/--oct
    picking), else the lowest (its morphing). ``failure(k, vertex)`` words the
    error when target k has no free neighbour left.

    Returns
    -------
    placed : ndarray (k,) vertex per target, taken : ndarray (n,) bool
    """
    placed = np.array(targets)
    taken = np.zeros(neighbours.shape[0], bool)
    indptr, indices = neighbours.indptr, neighbours.indices
    for k, vertex in enumerate(placed):
        if taken[vertex]:
            ring = indices[indptr[vertex]:indptr[vertex + 1]]
            free = ring[~taken[ring]]
            if len(free) == 0:
                raise GeometryError(failure(k, vertex))
            moved = free[-1] if highest else free[0]
            logger.info("    Source space vertex moved from %d to %d because of double "
                        "occupation", vertex, moved)
            placed[k] = vertex = moved
        taken[vertex] = True
    return placed, taken


def make_surface_source_space(surface_path, *, spacing: int | None = None,
                              grade: int | None = None, sphere_path=None,
                              subject: str | None = None) -> SourceSpace:
    """A cortical source space on one hemisphere's surface.

    Parameters
    ----------
    surface_path : path-like
        FreeSurfer surface (``lh.white`` ...), mm on disk.
    spacing : int or None
        Graph-distance decimation in mesh edges (SPEC 5.4.1).
    grade : int or None
        Icosahedron grade (> 0) or minus the octahedron grade (< 0), picked
        through ``sphere_path`` (SPEC 5.4.2). Exactly one of ``spacing`` and
        ``grade`` is given.
    sphere_path : path-like or None
        The hemisphere's ``?h.sphere`` (required with ``grade``).
    subject : str or None
        Stored as the subject's HIS id.
    """
    rr, tris, nn = read_cortex(surface_path)
    name = os.fspath(surface_path)
    neighbours = edge_multiplicity(tris, len(rr))
    use_tris = None
    if grade is not None:
        template_rr, template_tris = template_sphere(grade)
        sphere_rr, _ = read_freesurfer_surface(sphere_path)
        if len(sphere_rr) != len(rr):
            raise InputError(
                f"{os.fspath(sphere_path)}: Mismatch between number of surface vertices "
                f"({len(sphere_rr)} here, {len(rr)} in {name}); the sphere must belong to "
                "the same surface")
        radius = np.linalg.norm(sphere_rr - sphere_rr.mean(axis=0), axis=1)
        if np.ptp(radius) > 0.1 * radius.mean():
            raise InputError(
                f"{os.fspath(sphere_path)}: not a sphere (vertex distances from the centre "
                f"range over {radius.min() * 1000:.1f}-{radius.max() * 1000:.1f} mm); --ico and "
                "--oct need the hemisphere's spherical inflation ?h.sphere")
        if len(template_rr) > len(rr):
            raise InputError(f"{name}: the surface has {len(rr)} vertices, fewer than the "
                             f"{len(template_rr)} of the requested subdivision")
        what = f"icosahedron grade {grade}" if grade > 0 else f"octahedron grade {-grade}"
        logger.info("%s: %s from %s", name, what, os.fspath(sphere_path))
        inuse, use_tris = pick_by_sphere(sphere_rr, neighbours, template_rr, template_tris, name)
    elif spacing is not None:
        logger.info("%s: approximate spacing %d mm", name, spacing)
        inuse = decimate_by_spacing(neighbours, spacing)
    else:
        inuse = np.ones(len(rr), np.int64)
    # Vertices without a normal cannot carry an oriented source.
    inuse[np.linalg.norm(nn, axis=1) == 0] = 0
    space = SourceSpace(SourceSpaceType.SURFACE, rr, nn, inuse, id=hemisphere_id(name, rr),
                        subject=subject, tris=tris, use_tris=use_tris)
    logger.info("%s: %d of %d vertices in use", name, space.nuse, len(rr))
    return space


def add_patch_info(space: SourceSpace, dist_limit: float | None = None,
                   progress: Progress = SILENT) -> None:
    """Nearest source along the surface for every vertex; optionally source distances.

    ``NEAREST``/``NEAREST_DIST`` come from one multi-source Dijkstra over the
    edge-length graph (SPEC 5.4.5). With ``dist_limit`` (m) the geodesic
    distances between sources are added up to that limit (the search stops
    there, as in MNE-Python); the upper triangle is kept. ``progress`` counts
    the sources whose distances are done.
    """
    graph = mesh_distance_graph(space.rr, space.tris)
    vertno = space.vertno
    dist, _, nearest = dijkstra(graph, indices=vertno, min_only=True,
                                return_predecessors=True)
    if np.isinf(dist).any():
        logger.warning("%d vertices cannot reach any source along the surface; their patch "
                       "information is -1", int(np.isinf(dist).sum()))
    space.nearest = nearest.astype(np.int64)
    space.nearest_dist = dist
    if not dist_limit:
        return
    rows, cols, values = [], [], []
    column_of = np.full(len(space.rr), -1)
    column_of[vertno] = np.arange(len(vertno))
    progress.start("Distances", len(vertno))
    try:
        for start in range(0, len(vertno), _DIJKSTRA_BATCH):
            sources = vertno[start:start + _DIJKSTRA_BATCH]
            reach = dijkstra(graph, indices=sources, limit=dist_limit)[:, vertno]
            r, c = np.nonzero(np.isfinite(reach))
            keep = vertno[c] > sources[r]
            rows.append(sources[r[keep]])
            cols.append(vertno[c[keep]])
            values.append(reach[r[keep], c[keep]])
            progress.advance(len(sources))
    finally:
        progress.finish()
    n = len(space.rr)
    space.dist = scipy.sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    space.dist_limit = dist_limit


def morph_source_space(space: SourceSpace, from_reg, to_reg, to_surface,
                       to_subject: str | None) -> SourceSpace:
    """Carry the in-use vertices to another subject through the registered spheres (SPEC 5.4.4).

    Each source goes to the nearest vertex of the destination ``sphere.reg``;
    a taken vertex moves to the lowest-numbered free 1-ring neighbour, as
    MNE-Python's ``morph_source_spaces`` does.
    """
    reg_fro, _ = read_freesurfer_surface(from_reg)
    reg_to, reg_to_tris = read_freesurfer_surface(to_reg)
    if len(reg_fro) != len(space.rr):
        raise InputError(f"{os.fspath(from_reg)}: Mismatch between number of surface vertices "
                         f"({len(reg_fro)} here, {len(space.rr)} in the source space)")
    rr, tris, nn = read_cortex(to_surface)
    if len(rr) != len(reg_to):
        raise InputError(f"{os.fspath(to_reg)}: Mismatch between number of surface vertices "
                         f"({len(reg_to)} here, {len(rr)} in {os.fspath(to_surface)})")
    neighbours = edge_multiplicity(reg_to_tris, len(reg_to))
    vertno = space.vertno
    _, best = cKDTree(reg_to).query(reg_fro[vertno])
    placed, taken = _place_apart(
        best, neighbours, highest=False,
        failure=lambda k, vertex: (
            f"{os.fspath(to_reg)}: source vertex {vertno[k]} cannot be placed; every "
            "neighbour of its match is taken"))
    mapping = np.full(len(space.rr), -1)
    mapping[vertno] = placed
    inuse = taken.astype(np.int64)
    use_tris = mapping[space.use_tris] if space.use_tris is not None else None
    return SourceSpace(SourceSpaceType.SURFACE, rr, nn, inuse, id=space.id, subject=to_subject,
                       tris=tris, use_tris=use_tris)
