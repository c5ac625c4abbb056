"""MGH/MGZ volume headers through nibabel (SPEC section 3.4).

Only the geometry is needed (volume source spaces interpolate onto the
MRI grid); voxel values are not read.

Three coordinate systems meet here (FreeSurfer wiki "CoordinateSystems"):

* voxel (column, row, slice), 0-based;
* scanner RAS: ``vox2ras`` of the header (nibabel ``get_vox2ras``; FreeSurfer
  ``MRIxfmCRS2XYZ``), valid for any orientation, shape and voxel size;
* tkregister RAS: ``vox2ras-tkr`` (nibabel ``get_vox2ras_tkr``; FreeSurfer
  ``MRIxfmCRS2XYZtkreg`` in utils/mri.cpp). FreeSurfer builds it for *every*
  volume from hard-coded LIA axes (column -> -x, row -> -z, slice -> +y),
  the volume's own voxel sizes and its centre voxel dims/2, ignoring the
  direction cosines. For the subject's conformed volume (LIA, T1.mgz) it is
  the surface RAS, the MRI frame (5) of surfaces, BEMs and source spaces;
  vox2ras @ inv(vox2ras-tkr) is then the c_ras translation (and, as in the
  sample T1.mgz, a ~1e-7 rad rotation from float32 direction cosines). For
  a volume in another voxel order it is a frame rotated against the anatomy.

MNE-Python 1.13 (``mne._freesurfer._read_mri_info`` / ``_get_mgz_header``,
called by ``_get_mri_info_data`` for ``setup_volume_source_space(mri=...)``)
takes voxel -> MRI = vox2ras-tkr and MRI -> RAS = vox2ras @ inv(vox2ras-tkr)
for every volume. ``MriHeader.vox_mri_t`` / ``MriHeader.mri_ras_t`` are
exactly these. For a volume that is not LIA that "MRI" frame is not the
frame the BEM and the grid are in, so a source space uses
``MriHeader.vox_surf_t`` / ``MriHeader.surf_ras_t`` instead: the
tkregister RAS of the same volume re-ordered to LIA (:func:`lia_reordering`).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..fiff.constants import Frame
from ..objects import Transform
from ..units import MM_PER_M

# FreeSurfer's conformed (LIA) voxel axes, indexed by RAS axis (x, y, z): the
# voxel axis that runs along it (x: column, y: slice, z: row) and the sign
# of its direction (x: Left = -1, y: Anterior = +1, z: Inferior = -1).
_LIA_AXIS = np.array([0, 2, 1])
_LIA_SIGN = np.array([-1.0, 1.0, -1.0])


@dataclass
class MriHeader:
    """Geometry of an MRI volume.

    Attributes
    ----------
    path : str
        The volume file as given.
    dims : tuple of int
        (width, height, depth) in voxels (columns, rows, slices).
    vox_ras_t : Transform
        Voxel -> scanner RAS, metres: the header's ``vox2ras``.
    vox_mri_t : Transform
        Voxel -> the volume's own tkregister RAS, metres: the header's
        ``vox2ras-tkr`` (LIA axes whatever the voxel order), as MNE-Python.
    vox_surf_t : Transform
        Voxel -> the subject's surface RAS (MRI frame), metres: the
        ``vox2ras-tkr`` of the volume re-ordered to LIA, composed with that
        re-ordering (:func:`lia_reordering`). Equal to ``vox_mri_t`` for a
        volume whose voxel axes are L, I, A; for a permuted or flipped copy
        of a conformed volume, equal to the original's ``vox2ras-tkr`` at
        the same anatomy. For an oblique volume (axes turned by more than
        :data:`OBLIQUE_TOLERANCE`), vox2ras less the scanner position of
        that same centre voxel: FreeSurfer conforms an oblique scan onto
        exact LIA axes keeping its centre, so surface RAS is scanner RAS
        shifted, and ``surf_ras_t`` a translation. What a source space needs.
    """

    path: str
    dims: tuple[int, int, int]
    vox_ras_t: Transform
    vox_mri_t: Transform
    vox_surf_t: Transform

    @property
    def mri_ras_t(self) -> Transform:
        """The volume's tkregister RAS -> scanner RAS, metres:
        vox2ras @ inv(vox2ras-tkr), as MNE-Python's ``_read_mri_info``."""
        return self.vox_mri_t.inverse().then(self.vox_ras_t)

    @property
    def surf_ras_t(self) -> Transform:
        """Subject surface RAS (MRI frame) -> scanner RAS, metres:
        vox2ras @ inv(vox_surf), so ``vox_surf_t`` then ``surf_ras_t`` is
        ``vox_ras_t``; equal to :attr:`mri_ras_t` for LIA volumes."""
        return self.vox_surf_t.inverse().then(self.vox_ras_t)


def lia_reordering(vox2ras, dims) -> tuple[np.ndarray, np.ndarray]:
    """The permutation and flips of voxel axes that make a volume LIA.

    Each voxel axis is matched to its nearest RAS axis
    (``nibabel.orientations.io_orientation``, which also handles oblique
    axes); it becomes the LIA voxel axis along that RAS axis, reversed
    (index -> n - 1 - index) where it runs the other way. A reversal keeps
    every voxel (no resampling), so a permuted or flipped copy of a
    conformed volume is re-ordered back onto the original voxel for voxel.
    FreeSurfer's own reslicing (``MRIconform`` in utils/mri_conform.cpp,
    which "retain[s] the c_(r,a,s)") maps voxel dims/2 onto dims/2 instead,
    a one-voxel shift along reversed axes; a volume made that way would sit
    one voxel off here, and a cropped volume by its crop offset (its header
    does not hold the subject's centre).

    Parameters
    ----------
    vox2ras : ndarray, shape (4, 4)
        Voxel -> scanner RAS (any unit, non-singular).
    dims : (3,) int
        Volume shape.

    Returns
    -------
    reorder : ndarray, shape (4, 4)
        Voxel index -> LIA voxel index (homogeneous; entries 0, +-1, n - 1).
    axes : ndarray, shape (3,), int
        The LIA axis of each voxel axis (LIA dims = dims placed at ``axes``).
    """
    import nibabel.orientations

    ornt = nibabel.orientations.io_orientation(np.asarray(vox2ras, np.float64))
    ras_axis = ornt[:, 0].astype(int)
    axes = _LIA_AXIS[ras_axis]
    flip = ornt[:, 1] != _LIA_SIGN[ras_axis]
    reorder = np.zeros((4, 4))
    reorder[axes, np.arange(3)] = np.where(flip, -1.0, 1.0)
    reorder[axes, 3] = np.where(flip, np.asarray(dims) - 1.0, 0.0)
    reorder[3, 3] = 1.0
    return reorder, axes


#: Voxel axes whose direction cosines depart from the scanner axes by more
#: than this (rad) make an oblique volume; float32 cosines of a conformed
#: volume depart by ~1e-7.
OBLIQUE_TOLERANCE = 1e-4


def _is_oblique(vox2ras: np.ndarray, vox2tkr: np.ndarray) -> bool:
    """Whether the voxel axes are turned against the LIA axes of vox2ras-tkr."""
    cosines = vox2ras[:3, :3] / np.linalg.norm(vox2ras[:3, :3], axis=0)
    lia = vox2tkr[:3, :3] / np.linalg.norm(vox2tkr[:3, :3], axis=0)
    return bool(np.abs(cosines - lia).max() > OBLIQUE_TOLERANCE)


def read_mri_header(path) -> MriHeader:
    """Read the geometry of an ``.mgh``/``.mgz`` volume.

    Parameters
    ----------
    path : path-like
        MGH or MGZ file, any orientation, shape and voxel size.

    Returns
    -------
    MriHeader
        ``vox_ras_t`` and ``vox_mri_t`` are nibabel's
        ``MGHHeader.get_vox2ras`` and ``get_vox2ras_tkr``; ``vox_surf_t`` is
        ``get_vox2ras_tkr`` of a copy of the header re-ordered to LIA (shape
        and voxel sizes permuted) times :func:`lia_reordering`; all in metres.

    Raises
    ------
    InputError
        The file is missing, not an MGH/MGZ volume, unreadable, or its voxel
        -> RAS transform is singular or not finite.
    """
    import nibabel

    name = os.fspath(path)
    try:
        # nibabel warns (on stderr) about odd headers; the checks below say it in one line.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = nibabel.load(name).header
            vox2ras = np.array(header.get_vox2ras(), np.float64)
            vox2tkr = np.array(header.get_vox2ras_tkr(), np.float64)
        dims = tuple(int(d) for d in header.get_data_shape()[:3])
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except AttributeError:
        raise InputError(f"{name}: not an MGH/MGZ volume") from None
    except Exception as err:  # nibabel raises many kinds for corrupt files
        raise InputError(f"{name}: not a readable MRI volume ({err})") from None
    if len(dims) != 3 or min(dims) < 1:
        raise InputError(f"{name}: an MRI volume needs three non-empty dimensions, "
                         f"got {header.get_data_shape()}")
    for matrix in (vox2ras, vox2tkr):
        if not np.all(np.isfinite(matrix)) or np.linalg.det(matrix[:3, :3]) == 0:
            raise InputError(f"{name}: the header's voxel -> RAS transform is singular or not "
                             "finite (voxel sizes or direction cosines); fix the header")
    reorder, axes = lia_reordering(vox2ras, dims)
    lia = header.copy()
    lia["dims"][axes] = lia["dims"][:3].copy()
    lia["delta"][axes] = lia["delta"].copy()
    vox2surf = np.array(lia.get_vox2ras_tkr(), np.float64) @ reorder
    if _is_oblique(vox2ras, vox2surf):
        # Surface RAS is scanner RAS less the centre (FreeSurfer conforms an
        # oblique scan onto exact LIA axes, keeping its centre): the turn of
        # the voxel axes stays in voxel -> MRI, as in the scanner.
        centre = vox2ras @ np.linalg.solve(vox2surf, [0.0, 0.0, 0.0, 1.0])
        vox2surf = vox2ras.copy()
        vox2surf[:3, 3] -= centre[:3]
    for matrix in (vox2ras, vox2tkr, vox2surf):
        matrix[:3] /= MM_PER_M
    return MriHeader(name, dims, Transform(Frame.MRI_VOXEL, Frame.SCANNER_RAS, vox2ras),
                     Transform(Frame.MRI_VOXEL, Frame.MRI, vox2tkr),
                     Transform(Frame.MRI_VOXEL, Frame.MRI, vox2surf))
