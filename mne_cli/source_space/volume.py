"""Volume (grid) and discrete source spaces (SPEC section 6).

Mirrors MNE-C's ``mne_volume_source_space`` and MNE-Python's
``setup_volume_source_space`` / ``_make_volume_source_space`` /
``_add_interpolator`` / ``_grid_interp`` / ``_make_discrete_source_space``.
Everything is in metres, MRI coordinates, 0-based indices.
The inside test is :func:`mne_cli.geometry.inside.inside_surface`.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import scipy.sparse
from scipy.spatial import cKDTree

from ..errors import InputError
from ..fiff.constants import Frame, SourceSpaceType
from ..geometry.inside import inside_surface
from ..objects import SourceSpace, Transform, VolumeMri
from ..units import MM_PER_M

logger = logging.getLogger(__name__)

# Neighbour table (SPEC 6.3 step 7): per slot the grid step (dx, dy, dz) whose
# presence in the box is checked, and the step actually added to the index.
# They differ only in slot 17, MNE-C's quirk (checks x+1, y-1; adds z-1 too).
_CHECK_STEPS = np.array([
    (0, 0, -1), (1, 0, 0), (0, 1, 0), (-1, 0, 0), (0, -1, 0), (0, 0, 1),
    (1, 0, -1), (1, 1, -1), (0, 1, -1), (-1, 1, -1), (-1, 0, -1), (-1, -1, -1), (0, -1, -1),
    (1, -1, -1),
    (1, 1, 0), (-1, 1, 0), (-1, -1, 0), (1, -1, 0),
    (1, 0, 1), (1, 1, 1), (0, 1, 1), (-1, 1, 1), (-1, 0, 1), (-1, -1, 1), (0, -1, 1), (1, -1, 1),
])
_INDEX_STEPS = _CHECK_STEPS.copy()
_INDEX_STEPS[17] = (1, -1, -1)

# Trilinear corners in MNE's order (_grid_interp): offsets of the 8 grid points.
#: Largest grid box handled: each point costs ~250 bytes (position, normal,
#: 26 neighbours), so this is ~5 GB; a 1 mm grid over a head needs ~8e6.
MAX_GRID_POINTS = 20_000_000

_CORNERS = np.array([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0),
                     (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)])


# --- grid source space ----------------------------------------------------------

def make_volume_source_space(boundary_rr, boundary_tris, grid: float, mindist: float,
                             exclude: float, *, sphere=None, mri_header=None) -> SourceSpace:
    """A grid source space inside a closed surface or a sphere (SPEC 6.3).

    Parameters
    ----------
    boundary_rr : ndarray, shape (n, 3) or None
        Bounding-surface vertices, m, MRI frame (None with ``sphere``).
    boundary_tris : ndarray, shape (t, 3) or None
        Its triangles, 0-based, outward (counter-clockwise seen from outside).
    grid : float
        Grid spacing, m (> 0).
    mindist : float
        Drop points closer than this (m) to the nearest surface vertex (to the
        sphere for ``sphere``); 0 keeps them.
    exclude : float
        Drop points closer than this (m) to the centre of mass of the surface.
    sphere : tuple (centre (3,), radius) or None
        Bound the grid by this sphere (m) instead of a surface, exactly as
        MNE-Python does (no tessellation: distances to the centre).
    mri_header : mne_cli.io.mri.MriHeader or None
        Add the trilinear interpolator onto this MRI's voxels (step 9), any
        orientation, shape and voxel size. The parent-MRI record holds
        voxel -> MRI = ``mri_header.vox_surf_t`` and MRI -> scanner RAS =
        ``mri_header.surf_ras_t`` (their product is the header's vox2ras):
        for a conformed (LIA) volume these are the vox2ras-tkr and c_ras
        translation MNE-Python writes; for other voxel orders MNE-Python
        1.13 writes the volume's own tkregister frame, rotated against the
        grid's (see :mod:`mne_cli.io.mri`).

    Returns
    -------
    SourceSpace
        Type 2, every grid point (nx*ny*nz, x fastest) with ``inuse`` flags,
        normals (0, 0, 1), the 26-neighbour table, ``voxel_dims`` (nx, ny, nz),
        ``src_mri_t`` (voxel -> MRI) and, with ``mri_header``, ``mri``.
    """
    if grid <= 0:
        raise ValueError(f"grid spacing must be positive, got {grid}")
    if sphere is not None:
        centre, radius = np.asarray(sphere[0], np.float64).reshape(3), float(sphere[1])
        lo, hi, cm, rmax = centre - radius, centre + radius, centre, radius
    else:
        boundary_rr = np.asarray(boundary_rr, np.float64)
        lo, hi = boundary_rr.min(axis=0), boundary_rr.max(axis=0)
        cm = boundary_rr.mean(axis=0)
        rmax = np.linalg.norm(boundary_rr - cm, axis=1).max()
    logger.info("Surface CM = (%6.1f %6.1f %6.1f) mm, fits in a sphere of radius %6.1f mm",
                *(cm * MM_PER_M), rmax * MM_PER_M)
    minn, maxn = grid_index(lo, grid), grid_index(hi, grid)
    dims = maxn - minn + 1
    if np.prod(dims.astype(np.float64)) > MAX_GRID_POINTS:
        raise InputError(f"A {grid * MM_PER_M:g} mm grid over this volume has "
                         f"{np.prod(dims.astype(np.float64)):.3g} points ({dims[0]} x {dims[1]} "
                         f"x {dims[2]}), more than the {MAX_GRID_POINTS:,} handled; use a "
                         "larger --grid.")
    ijk = grid_indices(minn, maxn)
    rr = ijk * grid
    npts = len(rr)
    logger.info("%d points in the grid (%d x %d x %d, %.1f mm spacing)",
                npts, *dims, grid * MM_PER_M)

    dist = np.linalg.norm(rr - cm, axis=1)
    inuse = (dist >= exclude) & (dist <= rmax)
    logger.info("%d points after excluding those not within %.1f - %.1f mm of the centre",
                inuse.sum(), exclude * MM_PER_M, rmax * MM_PER_M)
    cand = np.flatnonzero(inuse)
    if sphere is not None:
        inside = dist[cand] <= rmax
    else:
        inside = inside_surface(rr[cand], boundary_rr, boundary_tris)
    inuse[cand[~inside]] = False
    logger.info("%d points after omitting %d outside the %s", inuse.sum(), (~inside).sum(),
                "sphere" if sphere is not None else "surface")
    if mindist > 0:
        cand = np.flatnonzero(inuse)
        if sphere is not None:
            near = np.abs(dist[cand] - rmax) < mindist
        else:
            near = cKDTree(boundary_rr).query(rr[cand])[0] < mindist
        inuse[cand[near]] = False
        logger.info("%d points after omitting %d within %.1f mm of the %s", inuse.sum(),
                    near.sum(), mindist * MM_PER_M,
                    "sphere" if sphere is not None else "surface vertices")

    src_mri_t = np.eye(4)
    src_mri_t[:3, :3] *= grid
    src_mri_t[:3, 3] = minn * grid
    nn = np.zeros((npts, 3))
    nn[:, 2] = 1.0
    space = SourceSpace(
        type=SourceSpaceType.VOLUME, rr=rr, nn=nn, inuse=inuse.astype(np.int64),
        coord_frame=Frame.MRI, neighbors=list(grid_neighbors(ijk - minn, dims, inuse)),
        voxel_dims=dims, src_mri_t=Transform(Frame.MRI_VOXEL, Frame.MRI, src_mri_t))
    if mri_header is not None:
        # The grid is in the subject's surface RAS (the BEM's frame), so the
        # volume is placed there (MriHeader.vox_surf_t), not in its own
        # tkregister frame, which is rotated for volumes that are not LIA.
        vox_mri_t = mri_header.vox_surf_t
        space.mri = VolumeMri(
            mri_ras_t=mri_header.surf_ras_t, vox_mri_t=vox_mri_t,
            width=mri_header.dims[0], height=mri_header.dims[1], depth=mri_header.dims[2],
            interpolator=grid_interpolator(dims, space.src_mri_t, inuse, vox_mri_t,
                                           mri_header.dims),
            file_name=mri_header.path)
    return space


def grid_index(values, grid: float) -> np.ndarray:
    """Grid index limits of SPEC 6.3 step 3, shape (3,), int.

    floor(|m|/g) + 1 for m > 0, else -floor(|m|/g) - 1 (as MNE-C and
    MNE-Python; note that the lower limit of a positive minimum overshoots).
    """
    values = np.asarray(values, np.float64)
    steps = np.floor(np.abs(values) / grid) + 1
    return np.where(values > 0, steps, -steps).astype(np.int64)


def grid_indices(minn, maxn) -> np.ndarray:
    """Every (ix, iy, iz) of the box, x fastest, then y, then z; shape (np, 3)."""
    iz, iy, ix = np.meshgrid(*(np.arange(minn[a], maxn[a] + 1) for a in (2, 1, 0)),
                             indexing="ij")
    return np.column_stack([ix.ravel(), iy.ravel(), iz.ravel()])


def grid_neighbors(ijk, dims, inuse) -> np.ndarray:
    """The 26-neighbour table of SPEC 6.3 step 7, shape (np, 26), int.

    ``ijk`` are 0-based box indices (np, 3) of the points in grid order.
    A slot is filled when the checked neighbour lies in the box; then every
    row of an unused point is -1 and every entry >= 0 that names an unused
    point becomes -1 (slot 17's raw value, negative when z - 1 leaves the
    box, is kept as MNE-Python keeps it). MNE-Python 1.13 differs: its
    clean-up tests table positions instead of entries, so it keeps only
    slot 0, used or not; SPEC 6.3 is followed here.
    """
    ijk = np.asarray(ijk, np.int64)
    dims = np.asarray(dims, np.int64)
    inuse = np.asarray(inuse, bool)
    strides = np.array([1, dims[0], dims[0] * dims[1]])
    k = np.flatnonzero(inuse)  # rows of unused points stay -1
    low, high = ijk[k] > 0, ijk[k] < dims - 1  # room for a -1 / +1 step per axis
    neigh = np.full((len(ijk), 26), -1, np.int64)
    for slot, (check, step) in enumerate(zip(_CHECK_STEPS, _INDEX_STEPS)):
        ok = np.all(np.where(check > 0, high, True) & np.where(check < 0, low, True), axis=1)
        neigh[k[ok], slot] = k[ok] + step @ strides
    filled = neigh >= 0
    neigh[filled & ~inuse[np.where(filled, neigh, 0)]] = -1
    return neigh


# --- MRI interpolator ------------------------------------------------------------

def grid_interpolator(grid_dims, src_mri_t: Transform, inuse, vox_mri_t: Transform,
                      mri_dims, *, slab_voxels: int = 1 << 18) -> scipy.sparse.csr_matrix:
    """Trilinear interpolator from grid points to MRI voxels (SPEC 6.3 step 9).

    As MNE-Python's ``_add_interpolator`` / ``_grid_interp`` (order 1).

    Parameters
    ----------
    grid_dims : (3,) int
        Grid shape (nx, ny, nz).
    src_mri_t : Transform
        Grid voxel -> MRI.
    inuse : ndarray, shape (np,), bool
        Grid points in use.
    vox_mri_t : Transform
        MRI voxel -> MRI.
    mri_dims : (3,) int
        MRI shape (width, height, depth).
    slab_voxels : int
        Voxels handled at once (whole planes, at least one): bounds memory.

    Returns
    -------
    csr_matrix, shape (width*height*depth, np), float64
        Row x + W*(y + H*z). Each row holds the weights of the enclosing grid
        corners that exist and have weight > 0, in MNE's corner order; a row
        whose corners are all unused is empty.
    """
    grid_dims = np.asarray(grid_dims, np.int64)
    width, height, depth = (int(d) for d in mri_dims)
    inuse = np.asarray(inuse, bool)
    trans = np.linalg.inv(src_mri_t.matrix) @ vox_mri_t.matrix  # MRI voxel -> grid voxel
    plane = width * height
    voxels = np.empty((4, plane))
    voxels[0] = np.tile(np.arange(width), height)
    voxels[1] = np.repeat(np.arange(height), width)
    voxels[3] = 1.0
    strides = np.array([1, grid_dims[0], grid_dims[0] * grid_dims[1]])
    last = grid_dims - 1
    per_slab = max(1, slab_voxels // max(plane, 1))
    nvox = width * height * depth
    index_type = np.int32 if max(8 * nvox, len(inuse)) < 2 ** 31 else np.int64
    counts = np.zeros(nvox + 1, index_type)  # becomes indptr
    indices, data = [], []
    for p0 in range(0, depth, per_slab):
        planes = range(p0, min(depth, p0 + per_slab))
        pos = []
        for p in planes:  # one matrix product per plane, as MNE-Python
            voxels[2] = p
            pos.append((trans @ voxels)[:3].T)
        pos = np.concatenate(pos)
        base = np.floor(pos).astype(np.int64)
        good = np.flatnonzero(np.all((base >= -1) & (base <= last), axis=1))
        if not len(good):
            continue
        base, frac = base[good], pos[good] - base[good]
        low = base >= 0  # (g, 3): corner with offset 0 exists on that axis
        high = base < last  # offset 1 exists
        first = base @ strides
        col = np.empty((len(good), 8), np.int64)
        keep = np.empty((len(good), 8), bool)
        w = np.empty((len(good), 8))
        for c, step in enumerate(_CORNERS):
            col[:, c] = first + step @ strides
            ok = np.where(step, high, low)
            keep[:, c] = ok[:, 0] & ok[:, 1] & ok[:, 2]
            f = np.where(step, frac, 1.0 - frac)
            w[:, c] = f[:, 0] * f[:, 1] * f[:, 2]
        keep &= w > 0
        used = keep.copy()
        used[keep] = inuse[col[keep]]
        keep &= used.any(axis=1, keepdims=True)
        counts[p0 * plane + good + 1] = keep.sum(axis=1)
        indices.append(col[keep].astype(index_type))
        data.append(w[keep])
    indptr = np.cumsum(counts, out=counts)
    indices = np.concatenate(indices) if indices else np.zeros(0, index_type)
    data = np.concatenate(data) if data else np.zeros(0)
    interp = scipy.sparse.csr_matrix((data, indices, indptr), shape=(nvox, len(inuse)))
    logger.info("MRI interpolator: %d non-zero weights for %d voxels", interp.nnz, interp.shape[0])
    return interp


# --- discrete source space -------------------------------------------------------

def make_discrete_source_space(rr, nn=None, coord_frame: int = Frame.MRI) -> SourceSpace:
    """A discrete source space from points (SPEC 6.3 step 10; MNE-Python
    ``_make_discrete_source_space``).

    Parameters
    ----------
    rr : ndarray, shape (n, 3)
        Positions, m.
    nn : ndarray, shape (n, 3) or None
        Normals (normalised here; None -> (0, 0, 1)). Must be non-zero.
    coord_frame : int
        Frame.MRI or Frame.HEAD.

    Returns
    -------
    SourceSpace
        Type 3, every point in use.
    """
    rr = np.asarray(rr, np.float64).reshape(-1, 3)
    if nn is None:
        nn = np.tile([0.0, 0.0, 1.0], (len(rr), 1))
    nn = np.asarray(nn, np.float64).reshape(-1, 3)
    norms = np.linalg.norm(nn, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"{np.count_nonzero(norms == 0)} source normals have zero length")
    return SourceSpace(type=SourceSpaceType.DISCRETE, rr=rr, nn=nn / norms[:, np.newaxis],
                       inuse=np.ones(len(rr), np.int64), coord_frame=coord_frame)


def read_source_positions(path, meters: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Read a ``--pos`` text file (SPEC 6.2/6.3 step 10).

    One point per line: ``x y z`` or ``x y z nx ny nz``; blank lines and lines
    starting with ``#`` are skipped.

    Parameters
    ----------
    path : path-like
    meters : bool
        Positions are in metres (else millimetres).

    Returns
    -------
    rr : ndarray, shape (n, 3)
        Positions, m.
    nn : ndarray, shape (n, 3)
        Unit normals; (0, 0, 1) for 3-number lines.
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="latin-1") as fid:
            lines = fid.read().splitlines()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as err:
        raise InputError(f"{name}: cannot be read ({err.strerror})") from None
    rr, nn = [], []
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            values = [float(w) for w in words]
        except ValueError:
            raise InputError(f"{name}: line {number} is not numeric ({line.strip()!r}); "
                             "expected 'x y z' or 'x y z nx ny nz'") from None
        if len(values) not in (3, 6) or not np.all(np.isfinite(values)):
            raise InputError(f"{name}: line {number} has {len(values)} values "
                             f"({line.strip()!r}); expected 3 (x y z) or 6 (x y z nx ny nz) "
                             "finite numbers")
        normal = values[3:] or [0.0, 0.0, 1.0]
        if not any(normal):
            raise InputError(f"{name}: line {number} has a zero-length normal; give a "
                             "non-zero direction or only x y z")
        rr.append(values[:3])
        nn.append(normal)
    if not rr:
        raise InputError(f"{name}: no source positions found")
    rr = np.array(rr) / (1.0 if meters else MM_PER_M)
    nn = np.array(nn)
    return rr, nn / np.linalg.norm(nn, axis=1, keepdims=True)
