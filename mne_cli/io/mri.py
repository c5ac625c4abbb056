"""MGH/MGZ volume headers through nibabel (SPEC section 3.4).

Only the geometry is needed (volume source spaces interpolate onto the
MRI grid); voxel values are not read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..fiff.constants import Frame
from ..objects import Transform
from ..units import MM_PER_M


@dataclass
class MriHeader:
    """Geometry of an MRI volume.

    Attributes
    ----------
    dims : tuple of int
        (width, height, depth) in voxels.
    vox_mri_t : Transform
        Voxel -> MRI surface RAS ("tkr"), metres.
    mri_ras_t : Transform
        MRI surface RAS -> scanner RAS, metres (a pure translation for
        conformed volumes).
    """

    path: str
    dims: tuple[int, int, int]
    vox_mri_t: Transform
    mri_ras_t: Transform

    @property
    def vox_ras_t(self) -> Transform:
        return self.vox_mri_t.then(self.mri_ras_t)


def read_mri_header(path) -> MriHeader:
    """Read the header of an ``.mgh``/``.mgz`` volume."""
    import nibabel

    name = os.fspath(path)
    try:
        img = nibabel.load(name)
        header = img.header
        vox2ras = np.asarray(header.get_vox2ras(), np.float64)
        vox2tkr = np.asarray(header.get_vox2ras_tkr(), np.float64)
        dims = tuple(int(d) for d in header.get_data_shape()[:3])
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except AttributeError:
        raise InputError(f"{name}: not an MGH/MGZ volume") from None
    except Exception as err:  # nibabel raises many kinds for corrupt files
        raise InputError(f"{name}: not a readable MRI volume ({err})") from None
    for matrix in (vox2ras, vox2tkr):
        matrix[:3, 3] /= MM_PER_M
        matrix[:3, :3] /= MM_PER_M
    # Both maps share the rotation/scaling Mdc*D; they differ by c_ras only.
    mri_ras = np.eye(4)
    mri_ras[:3, 3] = vox2ras[:3, 3] - vox2tkr[:3, 3]
    return MriHeader(name, dims, Transform(Frame.MRI_VOXEL, Frame.MRI, vox2tkr),
                     Transform(Frame.MRI, Frame.SCANNER_RAS, mri_ras))
