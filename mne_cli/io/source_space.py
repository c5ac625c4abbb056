"""Source-space files (``-src.fif``) and the source spaces inside other files.

Layout: SPEC sections 5.5 (surface and discrete spaces) and 6.4 (volume
spaces); one ``351 FIFFB_MNE_SOURCE_SPACE`` block per space inside
``350 FIFFB_MNE``. The reader mirrors MNE-C's ``mne_read_source_spaces``
and MNE-Python's ``_read_one_source_space``; the writer follows MNE-C's
``mne_write_one_source_space`` with the compatibility rules of SPEC 5.5 and
6.4 (SELECTION and NUSE always written; a volume space always carries its
``353`` parent-MRI block).

Conventions at this boundary: triangles are 1-based on disk and 0-based in
:class:`~mne_cli.objects.SourceSpace`; everything else is stored as is
(metres, the space's own coordinate frame).

The distance matrix ``SOURCE_SPACE_DIST`` holds one triangle of the
symmetric geodesic-distance matrix (MNE-C writes the lower, MNE-Python the
upper one). :attr:`SourceSpace.dist` keeps exactly the triangle that was
stored; the full matrix is ``dist + dist.T``.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import scipy.sparse

from ..errors import FifError
from ..fiff import Block, Frame, Kind, fif_writer, open_fif
from ..fiff.constants import SourceSpaceId, SourceSpaceType, Type
from ..fiff.tree import Node
from ..fiff.write import FifWriter
from ..objects import SourceSpace, Transform, VolumeMri

logger = logging.getLogger(__name__)

_TYPE_NAMES = {
    SourceSpaceType.SURFACE: "surface",
    SourceSpaceType.VOLUME: "volume",
    SourceSpaceType.DISCRETE: "discrete",
}


# --- reading ------------------------------------------------------------------

def read_source_spaces(path) -> list[SourceSpace]:
    """Every source space of a FIF file, in file order.

    Works for ``-src.fif`` files and for any file that carries source-space
    blocks (``-fwd.fif``, ``-inv.fif``). Gzip-compressed files are accepted.

    Parameters
    ----------
    path : path-like
        The FIF file.

    Returns
    -------
    spaces : list of SourceSpace
        Positions in metres, triangles 0-based, in the frame stored in the
        file (normally MRI).
    """
    return read_source_spaces_from(open_fif(path).root)


def read_source_spaces_from(node: Node) -> list[SourceSpace]:
    """Every ``FIFFB_MNE_SOURCE_SPACE`` block under ``node`` (pre-order).

    Raises FifError naming the file when there is none or one is malformed.
    """
    name = node.fif.name
    blocks = node.find_blocks(Block.MNE_SOURCE_SPACE)
    if not blocks:
        raise FifError(f"{name}: no source spaces found (no block {Block.MNE_SOURCE_SPACE}); "
                       "this is not a source-space, forward or inverse file")
    spaces = [_read_one(block, f"{name}: source space {k + 1}") for k, block in enumerate(blocks)]
    logger.info("Read %d source space(s) from %s", len(spaces), name)
    return spaces


def _read_one(node: Node, what: str) -> SourceSpace:
    """Decode one 351 block; ``what`` prefixes every error message."""
    stype = node.read_int(Kind.MNE_SOURCE_SPACE_TYPE, SourceSpaceType.SURFACE)
    if stype not in _TYPE_NAMES:
        raise FifError(f"{what} has unknown source-space type {stype} (expected 1, 2 or 3)")
    npts = _required_int(node, Kind.MNE_SOURCE_SPACE_NPOINTS, "NPOINTS", what)
    if npts < 0:
        raise FifError(f"{what} has a negative NPOINTS ({npts})")
    if not node.has(Kind.MNE_COORD_FRAME):
        logger.debug("%s has no coordinate frame tag; assuming MRI coordinates", what)
    space = SourceSpace(
        type=stype,
        rr=_rows(node, Kind.MNE_SOURCE_SPACE_POINTS, "POINTS", npts, what),
        nn=_rows(node, Kind.MNE_SOURCE_SPACE_NORMALS, "NORMALS", npts, what),
        inuse=np.zeros(npts, np.int64),
        id=node.read_int(Kind.MNE_SOURCE_SPACE_ID, SourceSpaceId.UNKNOWN),
        coord_frame=node.read_int(Kind.MNE_COORD_FRAME, Frame.MRI),
        subject=node.read_string(Kind.SUBJ_HIS_ID, None),
        comment=node.read_string(Kind.COMMENT, None),
    )
    space.inuse = _read_selection(node, stype, npts, what)
    space.tris = _read_triangles(node, npts, what)
    nuse_tri = node.read_int(Kind.MNE_SOURCE_SPACE_NUSE_TRI, None)
    if nuse_tri is not None and node.has(Kind.MNE_SOURCE_SPACE_USE_TRIANGLES):
        space.use_tris = _triangles(node, Kind.MNE_SOURCE_SPACE_USE_TRIANGLES, "USE_TRIANGLES",
                                    nuse_tri, npts, what)
    _read_patch_info(node, space, npts, what)
    _read_distances(node, space, npts, what)
    if stype == SourceSpaceType.VOLUME:
        _read_volume_info(node, space, npts, what)
    return space


def _required_int(node: Node, kind: int, label: str, what: str) -> int:
    value = node.read_int(kind, None)
    if value is None:
        raise FifError(f"{what} has no {label} tag ({kind}); the file is incomplete")
    return value


def _rows(node: Node, kind: int, label: str, npts: int, what: str) -> np.ndarray:
    """A float (npts, 3) matrix tag, checked against NPOINTS."""
    value = node.read(kind, None)
    if value is None:
        raise FifError(f"{what} has no {label} tag ({kind}); the file is incomplete")
    arr = np.asarray(value, np.float64)
    if arr.ndim == 1 and arr.size == 0 and npts == 0:
        arr = arr.reshape(0, 3)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise FifError(f"{what} has a {label} array of shape {arr.shape} instead of ({npts}, 3)")
    if arr.shape[0] != npts:
        raise FifError(f"{what} has {arr.shape[0]} rows of {label} but NPOINTS is {npts}; "
                       "the file is corrupt")
    return arr


def _read_selection(node: Node, stype: int, npts: int, what: str) -> np.ndarray:
    """In-use flags; without NUSE MNE-C uses every point of a volume space and
    none of a surface or discrete space (MNE-Python: nuse = 0)."""
    nuse = node.read_int(Kind.MNE_SOURCE_SPACE_NUSE, None)
    if nuse is None:
        if stype == SourceSpaceType.VOLUME:
            logger.info("%s has no NUSE tag; every point is taken as in use", what)
            return np.ones(npts, np.int64)
        logger.info("%s has no NUSE tag; no point is in use", what)
        return np.zeros(npts, np.int64)
    selection = node.read(Kind.MNE_SOURCE_SPACE_SELECTION, None)
    if selection is None:
        raise FifError(f"{what} has NUSE but no SELECTION tag "
                       f"({Kind.MNE_SOURCE_SPACE_SELECTION}); the file is incomplete")
    inuse = (np.asarray(selection).ravel() != 0).astype(np.int64)
    if inuse.size != npts:
        raise FifError(f"{what} has {inuse.size} SELECTION entries but NPOINTS is {npts}; "
                       "the file is corrupt")
    if int(inuse.sum()) != nuse:
        raise FifError(f"{what} has NUSE = {nuse} but its SELECTION marks {int(inuse.sum())} "
                       "points; the file is corrupt")
    return inuse


def _read_triangles(node: Node, npts: int, what: str) -> np.ndarray | None:
    # MNE-C and MNE-Python also accept the BEM-surface tags here.
    ntri = node.read_int(Kind.BEM_SURF_NTRI, None)
    kinds = (Kind.BEM_SURF_TRIANGLES, Kind.MNE_SOURCE_SPACE_TRIANGLES)
    if ntri is None:
        ntri = node.read_int(Kind.MNE_SOURCE_SPACE_NTRI, 0)
        kinds = kinds[::-1]
    if ntri <= 0:
        return None
    kind = next((k for k in kinds if node.has(k)), kinds[0])
    return _triangles(node, kind, "TRIANGLES", ntri, npts, what)


def _triangles(node: Node, kind: int, label: str, ntri: int, npts: int, what: str) -> np.ndarray:
    """An int (ntri, 3) matrix tag of 1-based vertex numbers, returned 0-based."""
    value = node.read(kind, None)
    if value is None:
        raise FifError(f"{what} has NTRI = {ntri} but no {label} tag ({kind}); "
                       "the file is incomplete")
    tris = np.asarray(value, np.int64)
    if tris.ndim == 1 and tris.size % 3 == 0:
        tris = tris.reshape(-1, 3)
    if tris.ndim != 2 or tris.shape[1] != 3:
        raise FifError(f"{what} has a {label} array of shape {tris.shape} instead of ({ntri}, 3)")
    if tris.shape[0] != ntri:
        raise FifError(f"{what} has {tris.shape[0]} rows of {label} but its triangle count "
                       f"says {ntri}; the file is corrupt")
    tris = tris - 1
    if tris.size and (tris.min() < 0 or tris.max() >= npts):
        raise FifError(f"{what} has {label} that refer to vertices outside 1..{npts}")
    return tris


def _read_patch_info(node: Node, space: SourceSpace, npts: int, what: str) -> None:
    nearest = node.read(Kind.MNE_SOURCE_SPACE_NEAREST, None)
    nearest_dist = node.read(Kind.MNE_SOURCE_SPACE_NEAREST_DIST, None)
    if nearest is None or nearest_dist is None:
        return
    nearest = np.asarray(nearest, np.int64).ravel()
    nearest_dist = np.asarray(nearest_dist, np.float64).ravel()
    if nearest.size != npts or nearest_dist.size != npts:
        raise FifError(f"{what} has {nearest.size} NEAREST and {nearest_dist.size} NEAREST_DIST "
                       f"entries but NPOINTS is {npts}; the file is corrupt")
    space.nearest = nearest
    space.nearest_dist = nearest_dist


def _read_distances(node: Node, space: SourceSpace, npts: int, what: str) -> None:
    dist = node.read(Kind.MNE_SOURCE_SPACE_DIST, None)
    limit = node.read(Kind.MNE_SOURCE_SPACE_DIST_LIMIT, None)
    if dist is None or limit is None:
        return
    if not scipy.sparse.issparse(dist) or dist.shape != (npts, npts):
        shape = getattr(dist, "shape", None)
        raise FifError(f"{what} has a DIST matrix of shape {shape} instead of a sparse "
                       f"({npts}, {npts}) matrix")
    space.dist = scipy.sparse.csr_matrix(dist)
    space.dist_limit = float(np.asarray(limit).ravel()[0])


def _read_volume_info(node: Node, space: SourceSpace, npts: int, what: str) -> None:
    """Grid shape, grid transform, neighbours and the parent-MRI block."""
    dims = node.read(Kind.MNE_SOURCE_SPACE_VOXEL_DIMS, None)
    if dims is not None:
        dims = np.asarray(dims, np.int64).ravel()
        if dims.size != 3:
            raise FifError(f"{what} has VOXEL_DIMS with {dims.size} values instead of 3")
        space.voxel_dims = dims
    trans = node.read(Kind.COORD_TRANS, None)
    if isinstance(trans, list):
        trans = trans[0]
    space.src_mri_t = trans
    counts = node.read(Kind.MNE_SOURCE_SPACE_NNEIGHBORS, None)
    if counts is not None:
        counts = np.asarray(counts, np.int64).ravel()
        flat = node.read(Kind.MNE_SOURCE_SPACE_NEIGHBORS, None)
        flat = np.zeros(0, np.int64) if flat is None else np.asarray(flat, np.int64).ravel()
        if counts.size != npts or counts.sum() != flat.size or np.any(counts < 0):
            raise FifError(f"{what} has {counts.size} NNEIGHBORS entries summing to "
                           f"{counts.sum()} for {flat.size} NEIGHBORS and NPOINTS = {npts}; "
                           "the file is corrupt")
        space.neighbors = np.split(flat, np.cumsum(counts)[:-1]) if npts else []
    parents = node.find_blocks(Block.MNE_PARENT_MRI_FILE)
    if parents:
        space.mri = _read_volume_mri(parents[0], npts, what)
    else:
        logger.info("%s is a volume space without MRI information (block %d)",
                    what, Block.MNE_PARENT_MRI_FILE)


def _read_volume_mri(node: Node, npts: int, what: str) -> VolumeMri:
    vox_mri_t = mri_ras_t = None
    for trans in node.read_all(Kind.COORD_TRANS):
        for t in trans if isinstance(trans, list) else [trans]:
            if t.from_frame == Frame.MRI_VOXEL:
                vox_mri_t = t
            if t.to_frame == Frame.SCANNER_RAS:
                mri_ras_t = t
    sizes = [node.read_int(k, None) for k in (Kind.MRI_WIDTH, Kind.MRI_HEIGHT, Kind.MRI_DEPTH)]
    if vox_mri_t is None or None in sizes:
        raise FifError(f"{what}: its MRI block ({Block.MNE_PARENT_MRI_FILE}) lacks the "
                       "voxel -> MRI transform or the MRI dimensions; the file is incomplete")
    if mri_ras_t is None:
        logger.info("%s: no MRI -> RAS transform in the MRI block; using identity", what)
        mri_ras_t = Transform.identity(Frame.MRI, Frame.SCANNER_RAS)
    nvox = math.prod(sizes)
    if min(sizes) <= 0 or nvox >= 1 << 31:  # sparse indices are int32 on disk
        raise FifError(f"{what}: its MRI block has impossible dimensions "
                       f"{' x '.join(map(str, sizes))}; the file is corrupt")
    interp = node.read(Kind.MNE_SOURCE_SPACE_INTERPOLATOR, None)
    if interp is None:
        interp = scipy.sparse.csr_matrix((nvox, npts), dtype=np.float32)
    elif not scipy.sparse.issparse(interp) or interp.shape != (nvox, npts):
        shape = getattr(interp, "shape", None)
        raise FifError(f"{what} has an MRI interpolator of shape {shape} instead of a sparse "
                       f"({nvox}, {npts}) matrix")
    return VolumeMri(
        mri_ras_t=mri_ras_t, vox_mri_t=vox_mri_t, width=sizes[0], height=sizes[1],
        depth=sizes[2], interpolator=scipy.sparse.csr_matrix(interp),
        file_name=node.read_string(Kind.MNE_FILE_NAME, None),
        seg_mri_file=node.read_string(Kind.MNE_SOURCE_SPACE_MRI_FILE, None),
    )


# --- writing ------------------------------------------------------------------

def write_source_spaces(path, spaces: list[SourceSpace], command_line: str | None = None) -> None:
    """Write a source-space file (SPEC 5.5 / 6.4).

    Parameters
    ----------
    path : path-like
        Output file; written atomically, uncompressed.
    spaces : list of SourceSpace
        Written in order, one ``351`` block each.
    command_line : str or None
        Adds the provenance ENV block (working directory and command line).
    """
    with fif_writer(path) as w, w.block(Block.MNE):
        if command_line is not None:
            w.write_env(command_line)
        for space in spaces:
            write_source_space_block(w, space)
    logger.info("Wrote %d source space(s) to %s", len(spaces), path)


def write_source_space_block(w: FifWriter, space: SourceSpace) -> None:
    """One ``351 FIFFB_MNE_SOURCE_SPACE`` block, tags in MNE-C's order.

    A volume space without grid information (``src_mri_t`` or
    ``voxel_dims`` missing, as in MNE-C's selected-only output) cannot be
    read by MNE-Python as a volume; it is written as a discrete space
    (SPEC 6.4). A volume space without ``mri`` gets a parent-MRI block
    filled from its own grid. ``dist`` is written as one triangle: when the
    matrix holds entries on both sides of the diagonal only its upper
    triangle is kept, as MNE-Python does.
    """
    stype = space.type
    if stype not in _TYPE_NAMES:
        raise ValueError(f"unknown source-space type {stype}")
    npts = len(space.rr)
    if stype == SourceSpaceType.VOLUME and (space.src_mri_t is None or space.voxel_dims is None):
        logger.warning("A volume source space without grid information is written as a "
                       "discrete source space (MNE-Python cannot read it as a volume)")
        stype = SourceSpaceType.DISCRETE
    with w.block(Block.MNE_SOURCE_SPACE):
        w.write_int(Kind.MNE_SOURCE_SPACE_TYPE, stype)
        if space.id >= 0:
            w.write_int(Kind.MNE_SOURCE_SPACE_ID, space.id)
        if space.subject:
            w.write_string(Kind.SUBJ_HIS_ID, space.subject)
        w.write_int(Kind.MNE_COORD_FRAME, space.coord_frame)
        w.write_int(Kind.MNE_SOURCE_SPACE_NPOINTS, npts)
        w.write_matrix(Kind.MNE_SOURCE_SPACE_POINTS, _points(space.rr), Type.FLOAT)
        w.write_matrix(Kind.MNE_SOURCE_SPACE_NORMALS, _points(space.nn), Type.FLOAT)
        inuse = (np.asarray(space.inuse).ravel() != 0).astype(np.int32)
        if inuse.size != npts:
            raise ValueError(f"inuse has {inuse.size} entries for {npts} points")
        w.write_int(Kind.MNE_SOURCE_SPACE_SELECTION, inuse)
        w.write_int(Kind.MNE_SOURCE_SPACE_NUSE, int(inuse.sum()))
        if space.tris is not None and len(space.tris):
            w.write_int(Kind.MNE_SOURCE_SPACE_NTRI, len(space.tris))
            w.write_matrix(Kind.MNE_SOURCE_SPACE_TRIANGLES, _tris_on_disk(space.tris), Type.INT)
        if stype != SourceSpaceType.VOLUME and space.use_tris is not None and len(space.use_tris):
            w.write_int(Kind.MNE_SOURCE_SPACE_NUSE_TRI, len(space.use_tris))
            w.write_matrix(Kind.MNE_SOURCE_SPACE_USE_TRIANGLES, _tris_on_disk(space.use_tris),
                           Type.INT)
        if stype == SourceSpaceType.VOLUME:
            _write_volume_info(w, space, npts)
        if space.nearest is not None and space.nearest_dist is not None:
            w.write_int(Kind.MNE_SOURCE_SPACE_NEAREST, np.asarray(space.nearest).ravel())
            w.write_float(Kind.MNE_SOURCE_SPACE_NEAREST_DIST,
                          np.asarray(space.nearest_dist, np.float64).ravel())
        if space.dist is not None and space.dist_limit is not None:
            w.write_sparse(Kind.MNE_SOURCE_SPACE_DIST, _one_triangle(space.dist))
            w.write_float(Kind.MNE_SOURCE_SPACE_DIST_LIMIT, float(space.dist_limit))
        if space.comment:
            w.write_string(Kind.COMMENT, space.comment)


def _points(arr) -> np.ndarray:
    arr = np.asarray(arr, np.float64)
    return arr.reshape(-1, 3)


def _tris_on_disk(tris) -> np.ndarray:
    return np.asarray(tris, np.int64).reshape(-1, 3) + 1


def _one_triangle(dist) -> scipy.sparse.csr_matrix:
    dist = scipy.sparse.csr_matrix(dist)
    if scipy.sparse.tril(dist, -1).nnz and scipy.sparse.triu(dist, 1).nnz:
        return scipy.sparse.triu(dist, format="csr")
    return dist


def _write_volume_info(w: FifWriter, space: SourceSpace, npts: int) -> None:
    """Neighbours, grid transform, grid shape and the 353 block (SPEC 6.4)."""
    if space.neighbors is not None:
        counts = np.array([len(n) for n in space.neighbors], np.int64)
        flat = (np.concatenate([np.asarray(n, np.int64).ravel() for n in space.neighbors])
                if len(space.neighbors) else np.zeros(0, np.int64))
        w.write_int(Kind.MNE_SOURCE_SPACE_NNEIGHBORS, counts)
        w.write_int(Kind.MNE_SOURCE_SPACE_NEIGHBORS, flat)
    w.write_transform(space.src_mri_t)
    dims = np.asarray(space.voxel_dims, np.int64).ravel()
    w.write_int(Kind.MNE_SOURCE_SPACE_VOXEL_DIMS, dims)
    mri = space.mri if space.mri is not None else grid_volume_mri(space.src_mri_t, dims, npts)
    with w.block(Block.MNE_PARENT_MRI_FILE):
        w.write_transform(mri.mri_ras_t)
        w.write_transform(mri.vox_mri_t)
        if mri.file_name:
            w.write_string(Kind.MNE_FILE_NAME, mri.file_name)
        w.write_sparse(Kind.MNE_SOURCE_SPACE_INTERPOLATOR, mri.interpolator)
        if mri.seg_mri_file:
            w.write_string(Kind.MNE_SOURCE_SPACE_MRI_FILE, mri.seg_mri_file)
        w.write_int(Kind.MRI_WIDTH, mri.width)
        w.write_int(Kind.MRI_HEIGHT, mri.height)
        w.write_int(Kind.MRI_DEPTH, mri.depth)


def grid_volume_mri(src_mri_t: Transform, dims, npts: int) -> VolumeMri:
    """The parent-MRI record of a grid without an MRI (SPEC 6.4).

    voxel -> MRI is the grid transform, MRI -> RAS the identity, the
    dimensions are the grid's and the interpolator is an empty
    (nx*ny*nz, npts) matrix: MNE-Python needs the block to read a volume
    space and reads, prints and re-writes such a file correctly.
    """
    dims = [int(d) for d in np.asarray(dims).ravel()]
    nvox = int(np.prod(dims))
    return VolumeMri(
        mri_ras_t=Transform.identity(Frame.MRI, Frame.SCANNER_RAS),
        vox_mri_t=src_mri_t, width=dims[0], height=dims[1], depth=dims[2],
        interpolator=scipy.sparse.csr_matrix((nvox, npts), dtype=np.float32),
    )
