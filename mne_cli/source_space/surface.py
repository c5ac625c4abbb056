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
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import dijkstra, shortest_path
from scipy.spatial import cKDTree

from ..errors import GeometryError, InputError
from ..fiff.constants import SourceSpaceId, SourceSpaceType
from ..geometry.icosahedron import MAX_GRADE, icosahedron, octahedron
from ..geometry.surface import edge_multiplicity, mean_unit_normals
from ..io.surface import read_freesurfer_surface
from ..objects import SourceSpace
from ..parallel import workers
from ..progress import SILENT, Progress
from . import hemisphere_of_points

logger = logging.getLogger(__name__)

# Sources per Dijkstra batch when computing distances: bounds the dense
# (batch x vertices) result to ~20 MB for a 150k-vertex surface.
_DIJKSTRA_BATCH = 16

# Nearest-vertex ties, as a fraction of the coordinates' magnitude (2**-22,
# about 2.4e-7, i.e. 24 nm on a FreeSurfer sphere of radius 100 mm).
# FreeSurfer stores coordinates as float32: each one is rounded by at most
# 2**-24 of itself, which moves a vertex by at most 2**-24 of its radius.
# Two vertices equally distant from a target in the exact geometry can so
# differ by about 2**-23 after storage, and by 2**-22 at the very most (the
# change of direction from the centre bounded by twice the move): such a
# difference says nothing about which is nearer. Genuine differences on the
# refcase sphere (MNE's four-decimal icosahedron) start at 9.5e-7, four
# times the tolerance.
NEAREST_TIE_TOLERANCE = 2.0 ** -22

# --spacing leaving fewer sources than this on a surface is refused: a
# cortical source space of a handful of points is never what was meant.
MIN_SPACING_SOURCES = 10
# Fewer than this (oct-3 has 66, ico-2 162) is allowed but warned about.
COARSE_SPACING_SOURCES = 100


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


def mesh_extent_edges(neighbours: scipy.sparse.csr_matrix) -> int:
    """How many mesh edges the surface is across: the longest shortest edge path.

    A double sweep (farthest vertex from vertex 0, then farthest from that),
    within vertex 0's connected part: a lower bound on the graph diameter
    that is exact or nearly so on closed surfaces.
    """
    far = 0
    for _ in range(2):
        hops = shortest_path(neighbours, unweighted=True, indices=far)
        hops[~np.isfinite(hops)] = -1
        far = int(np.argmax(hops))
    return int(hops[far])


def _check_spacing(name: str, rr: np.ndarray, neighbours: scipy.sparse.csr_matrix,
                   spacing: int, inuse: np.ndarray) -> None:
    """Refuse a --spacing the surface cannot honour; warn about a merely coarse one.

    Refused: a spacing larger than the surface is across, in mesh edges,
    which is what MNE-C's rule counts (its distance estimate never gets that
    far, so the choice no longer depends on the spacing, and above 10000, its
    starting value, nothing is chosen at all); or one leaving fewer than
    ``MIN_SPACING_SOURCES`` sources. Fewer than ``COARSE_SPACING_SOURCES``
    is only warned about, with the count and the mean source distance.
    """
    nuse = int(inuse.sum())
    extent = mesh_extent_edges(neighbours)
    sources = f"{nuse} source{'' if nuse == 1 else 's'}"
    across = (f"{extent} mesh edges across (the spacing counts edges, about 1 mm each on a "
              "FreeSurfer white surface)")
    if spacing > extent:
        raise InputError(f"{name}: --spacing {spacing} mm is more than this surface is "
                         f"{across}, so it cannot be honoured (it would leave {sources}); give "
                         f"a spacing in mm of at most {extent}, typically 5-10")
    if nuse < MIN_SPACING_SOURCES:
        raise InputError(f"{name}: --spacing {spacing} mm would leave {sources}, fewer than "
                         f"the {MIN_SPACING_SOURCES} a source space needs, on a surface "
                         f"{across}; give a smaller spacing in mm, typically 5-10")
    if nuse < COARSE_SPACING_SOURCES:
        sources_rr = rr[inuse.astype(bool)]
        apart = cKDTree(sources_rr).query(sources_rr, k=2)[0][:, 1].mean()
        logger.warning("%s: --spacing %d mm leaves only %d sources, %.1f mm apart on average "
                       "(nearest neighbour); a smaller spacing gives more", name, spacing,
                       nuse, apart * 1000)


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

    Both the sphere and the template are scaled to unit length first. Ties:
    among the sphere vertices whose distance from a template vertex is
    within ``NEAREST_TIE_TOLERANCE`` (2**-22 of the unit radius) of the
    smallest, the lowest-numbered is taken (see :func:`nearest_vertices`).
    A template vertex whose nearest surface vertex is already taken moves to
    the highest-numbered free 1-ring neighbour, as MNE does.

    Returns
    -------
    inuse : ndarray (n,) int, use_tris : ndarray (t, 3) surface vertex numbers
    """
    directions = sphere_rr / np.linalg.norm(sphere_rr, axis=1, keepdims=True)
    template = template_rr / np.linalg.norm(template_rr, axis=1, keepdims=True)
    nearest = nearest_vertices(directions, template, NEAREST_TIE_TOLERANCE)
    chosen, taken = _place_apart(
        nearest, neighbours, highest=True,
        failure=lambda k, vertex: (
            f"{name}: could not find a free neighbour for template vertex {k} (surface vertex "
            f"{vertex} is taken); the sphere does not match the template density: use a "
            "coarser --ico/--oct"))
    inuse = taken.astype(np.int64)
    return inuse, chosen[template_tris]


def nearest_vertices(rr: np.ndarray, points: np.ndarray, tolerance: float) -> np.ndarray:
    """Nearest vertex of ``rr`` (n, 3) to each of ``points`` (k, 3); ties go to the lowest number.

    The rule: among the vertices whose Euclidean distance from a point is
    within ``tolerance`` of the smallest such distance, take the
    lowest-numbered one. The answer so depends only on the coordinates and
    the vertex numbering, not on the tree library, BLAS or thread count,
    which break exact ties in their own ways (MNE-Python picks by scikit-learn's
    BallTree when it is installed, else by SciPy's KDTree, and the two
    disagree). MNE-C's picking code (``mne_ico_downsample.c``) is not public;
    a sequential scan with a strict comparison, as in MNE-Python's first
    brute-force port, also keeps the lowest-numbered of exactly tied
    vertices.

    The tree only proposes candidates (everything within ``2 * tolerance`` of
    its nearest); their distances are then recomputed here, each from its
    own coordinates in a fixed order of operations, and the rule applied to
    those.

    Returns
    -------
    nearest : ndarray (k,) int
    """
    points = np.atleast_2d(points)
    if len(rr) == 1:
        return np.zeros(len(points), np.int64)
    tree = cKDTree(rr)
    dist, found = tree.query(points, k=2)
    nearest = found[:, 0].astype(np.int64)
    # Only where the runner-up is close can the rule change the tree's answer.
    rows = np.flatnonzero(dist[:, 1] - dist[:, 0] <= 2 * tolerance)
    if len(rows):
        reach = dist[rows, 0] + 2 * tolerance
        for row, candidates in zip(rows, tree.query_ball_point(points[rows], reach)):
            candidates = np.asarray(candidates, np.int64)
            diff = rr[candidates] - points[row]
            d = np.sqrt(diff[:, 0] ** 2 + diff[:, 1] ** 2 + diff[:, 2] ** 2)
            nearest[row] = candidates[d <= d.min() + tolerance].min()
    return nearest


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
        Graph-distance decimation in mesh edges (SPEC 5.4.1). A spacing
        larger than the surface is across, or one leaving fewer than
        ``MIN_SPACING_SOURCES`` sources, is an :class:`InputError`.
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
    if grade is None and spacing is not None:
        _check_spacing(name, rr, neighbours, spacing, inuse)
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
    batches = [vertno[start:start + _DIJKSTRA_BATCH]
               for start in range(0, len(vertno), _DIJKSTRA_BATCH)]
    progress.start("Distances", len(vertno))
    try:
        for sources, (r, c, v) in zip(batches, _distance_batches(graph, vertno, batches,
                                                                   dist_limit)):
            rows.append(r)
            cols.append(c)
            values.append(v)
            progress.advance(len(sources))
    finally:
        progress.finish()
    n = len(space.rr)
    space.dist = scipy.sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    space.dist_limit = dist_limit


#: Worker processes (scipy's Dijkstra holds the GIL) cost about half a second
#: to start, so they are used only when the distances left after the first
#: batch would take longer than this in this process (s).
_PARALLEL_DISTANCE_SECONDS = 2.0

_worker_graph: tuple | None = None


def _distance_batches(graph, vertno: np.ndarray, batches: list[np.ndarray], dist_limit: float):
    """(rows, cols, distances) of the upper triangle, batch by batch, in batch order.

    The first batch runs here and is timed; when the rest would take longer
    than ``_PARALLEL_DISTANCE_SECONDS`` (all pairs of a large surface, not a
    7 mm limit), it is spread over worker processes
    (:func:`mne_cli.parallel.workers`). Each batch is the same Dijkstra run
    wherever it runs, so the result does not depend on the count.
    """
    started = time.perf_counter()
    yield _distance_batch(batches[0], graph, vertno, dist_limit)
    rest = batches[1:]
    expected = (time.perf_counter() - started) * len(rest)
    count = workers(len(rest)) if expected > _PARALLEL_DISTANCE_SECONDS else 1
    if count <= 1:
        for sources in rest:
            yield _distance_batch(sources, graph, vertno, dist_limit)
        return
    context = multiprocessing.get_context("spawn")  # no fork of a threaded process
    with ProcessPoolExecutor(count, mp_context=context, initializer=_keep_graph,
                             initargs=(graph, vertno, dist_limit)) as pool:
        yield from pool.map(_distance_batch, rest)


def _keep_graph(graph, vertno, dist_limit) -> None:
    global _worker_graph
    _worker_graph = graph, vertno, dist_limit


def _distance_batch(sources: np.ndarray, graph=None, vertno=None, dist_limit=None):
    """Geodesic distances from ``sources`` to the later sources, within the limit."""
    if graph is None:
        graph, vertno, dist_limit = _worker_graph
    reach = dijkstra(graph, indices=sources, limit=dist_limit)[:, vertno]
    r, c = np.nonzero(np.isfinite(reach))
    keep = vertno[c] > sources[r]
    return sources[r[keep]], vertno[c[keep]], reach[r[keep], c[keep]]


def morph_source_space(space: SourceSpace, from_reg, to_reg, to_surface,
                       to_subject: str | None) -> SourceSpace:
    """Carry the in-use vertices to another subject through the registered spheres (SPEC 5.4.4).

    Each source goes to the nearest vertex of the destination ``sphere.reg``
    (ties within ``NEAREST_TIE_TOLERANCE`` of the sphere's radius go to the
    lowest vertex number, see :func:`nearest_vertices`); a taken vertex moves
    to the lowest-numbered free 1-ring neighbour, as MNE-Python's
    ``morph_source_spaces`` does.
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
    radius = np.linalg.norm(reg_to, axis=1).max()
    best = nearest_vertices(reg_to, reg_fro[vertno], NEAREST_TIE_TOLERANCE * radius)
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
