"""Coordinate transforms: FIF ``-trans.fif``, the ``--trans`` text matrix and
FreeSurfer ``talairach.xfm`` (SPEC sections 2 and 3.6).

Conventions: translations in metres in memory (the text formats are in mm and
are converted here); a FIF transform file is returned as stored (MNE-Python's
``-trans.fif`` files store head -> MRI); :func:`read_head_mri_transform` gives
MRI -> head whatever the stored direction, as the forward tool needs it.
"""

from __future__ import annotations

import logging
import os
import re

import numpy as np

from ..errors import FifError, InputError
from ..fiff import Frame, Kind, fif_writer, open_fif
from ..fiff.tree import starts_like_fif
from ..objects import Transform
from ..units import MM_PER_M

logger = logging.getLogger(__name__)

__all__ = [
    "read_head_mri_transform",
    "read_talairach_xfm",
    "read_trans",
    "read_trans_text",
    "require_invertible",
    "write_trans",
]


def read_trans(path) -> Transform:
    """The first transform between head (4) and MRI (5) in a FIF file, as stored.

    All ``FIFF_COORD_TRANS`` tags are scanned in file order, whatever block
    they are in (SPEC section 3.6; MNE-C ``--mri``). MNE-Python's
    ``mne.read_trans`` returns the first transform of any frames; here other
    frame pairs (e.g. in an MRI description file) are skipped.

    Raises
    ------
    FifError
        The file cannot be read as FIF.
    InputError
        "No suitable coordinate transformation found in <file>."
    """
    fif = open_fif(path)
    for trans in fif.read_all(Kind.COORD_TRANS):
        if isinstance(trans, Transform) and {trans.from_frame, trans.to_frame} == {
                Frame.HEAD, Frame.MRI}:
            return require_invertible(trans, fif.name)
    raise InputError(f"No suitable coordinate transformation found in {fif.name}.")


def require_invertible(trans: Transform, name: str) -> Transform:
    """``trans`` itself; FifError naming ``name`` if its matrix cannot be inverted.

    Every transform the tools read may be used in both directions; a damaged
    rotation (a zero where a one belongs) must not reach ``np.linalg.inv``.
    """
    if not np.isfinite(trans.matrix).all() or np.linalg.cond(trans.matrix) > 1e12:
        raise FifError(f"{name}: the {trans.from_frame} -> {trans.to_frame} coordinate "
                       "transformation is singular; the file is corrupt")
    return trans


#: Largest entry of R R^T - I of a rigid rotation R (float32 storage: ~1e-7).
RIGID_TOLERANCE = 1e-4
#: Head, device and MRI frames all have their origins in or near the head (m).
MAX_TRANSLATION = 0.3


def require_rigid(trans: Transform, name: str, what: str) -> Transform:
    """``trans`` itself if it is a rotation and a head-sized translation.

    Head<->MRI and device->head transforms move a rigid head: a scaled,
    sheared or mirrored rotation, or a translation of metres (mm written as
    m), would place every sensor wrongly without any other sign.

    Raises
    ------
    InputError
        Naming ``name``, the ``what`` transform and what is wrong with it.
    """
    rotation = trans.matrix[:3, :3]
    error = np.abs(rotation @ rotation.T - np.eye(3)).max()
    if error > RIGID_TOLERANCE or np.linalg.det(rotation) < 0:
        raise InputError(f"{name}: the {what} transform is not a rigid rotation (its rotation "
                         f"part is scaled, sheared or mirrored: |R R^T - I| = {error:.2g}, "
                         f"det {np.linalg.det(rotation):.3g}); the file is damaged or holds "
                         "another kind of transform")
    shift = np.linalg.norm(trans.matrix[:3, 3])
    if shift > MAX_TRANSLATION:
        raise InputError(f"{name}: the {what} transform moves by {shift:.3g} m, far more "
                         "than a head; was the translation written in mm instead of m?")
    return trans


def read_head_mri_transform(path) -> Transform:
    """The MRI -> head transform of a FIF file (inverted if stored head -> MRI).

    Mirrors MNE-C's ``--mri`` handling (SPEC section 3.6): any FIF file with
    such a transform will do (``-trans.fif``, ``COR-*.fif``, forward or inverse
    file). It must be rigid (:func:`require_rigid`).
    """
    trans = read_trans(path).towards(Frame.MRI, Frame.HEAD)
    return require_rigid(trans, os.fspath(path), "head<->MRI")


def read_head_mri_transform_any(path) -> Transform:
    """The MRI -> head transform of a FIF file or of MNE-C's ``--trans`` text file.

    The format comes from the contents, not the name: FIF files begin with
    their FILE_ID tag (kind 100, big-endian) or, as ``.fif.gz``, with the gzip
    magic; anything else is read as text (:func:`read_trans_text`). So
    ``--trans x-trans.fif`` works as ``--mri x-trans.fif`` does.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as fid:
            head = fid.read(4)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as err:
        raise InputError(f"{name}: cannot be read ({err.strerror})") from None
    if starts_like_fif(head):
        return read_head_mri_transform(name)
    return require_rigid(read_trans_text(name).towards(Frame.MRI, Frame.HEAD), name,
                         "head<->MRI")


def write_trans(path, trans: Transform) -> None:
    """Write ``trans`` as MNE-Python's ``write_trans`` does: a FIF file whose
    only content is one bare ``FIFF_COORD_TRANS`` tag (no enclosing block).

    By convention a ``-trans.fif`` holds head -> MRI; the transform is written
    in the direction given.
    """
    with fif_writer(path) as w:
        w.write_transform(trans)


def read_trans_text(path) -> Transform:
    """The ``--trans`` text file: a 4x4 head -> MRI matrix, translation in mm.

    16 whitespace-separated numbers, row-major; lines may carry ``#``
    comments; the last row is read and ignored (the result's last row is
    0, 0, 0, 1). Numbers after the sixteenth are ignored.

    Returns
    -------
    Transform
        head (4) -> MRI (5), translation in metres.

    Raises
    ------
    InputError
        "Cannot read the coordinate transformation" naming the file, when it
        cannot be read or holds fewer than 16 numbers before any non-number.
    """
    name = os.fspath(path)
    text = _read_text(name, "Cannot read the coordinate transformation from {name}")
    numbers = []
    for token in re.sub(r"#[^\n]*", " ", text).split():
        if len(numbers) == 16:
            break
        try:
            numbers.append(float(token))
        except ValueError:
            break
    if len(numbers) < 16 or not np.all(np.isfinite(numbers)):
        raise InputError(
            f"Cannot read the coordinate transformation from {name}: it must hold a 4 x 4 "
            f"head -> MRI matrix (16 numbers, translation in mm), {len(numbers)} numbers were read"
        )
    matrix = np.eye(4)
    matrix[:3, :] = np.reshape(numbers, (4, 4))[:3, :]
    matrix[:3, 3] /= MM_PER_M
    return Transform(Frame.HEAD, Frame.MRI, matrix)


def read_talairach_xfm(path) -> Transform:
    """A FreeSurfer ``talairach.xfm`` (MNI linear transform file).

    The 12 numbers after ``Linear_Transform =`` are the 3x4 affine map from
    scanner RAS to MNI Talairach coordinates, in mm.

    Returns
    -------
    Transform
        scanner RAS (2002) -> MNI Talairach (2003), translation in metres.
    """
    name = os.fspath(path)
    text = _read_text(name, "{name}: cannot read the talairach transform")
    match = re.search(r"^\s*Linear_Transform\s*=(.*)", text, re.MULTILINE | re.DOTALL)
    numbers = []
    if match:
        for token in match.group(1).replace(";", " ").split():
            try:
                numbers.append(float(token))
            except ValueError:
                break
            if len(numbers) == 12:
                break
    if len(numbers) < 12:
        raise InputError(
            f"{name}: not an MNI linear transform file: 'Linear_Transform =' followed by "
            "12 numbers (3 x 4 matrix) was not found"
        )
    matrix = np.eye(4)
    matrix[:3, :] = np.reshape(numbers, (3, 4))
    matrix[:3, 3] /= MM_PER_M
    return Transform(Frame.SCANNER_RAS, Frame.MNI_TAL, matrix)


def _read_text(name: str, message: str) -> str:
    try:
        with open(name, encoding="latin-1") as fid:
            return fid.read()
    except OSError as err:
        raise InputError(f"{message.format(name=name)} ({err.strerror or err})") from None
