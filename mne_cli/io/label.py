"""FreeSurfer label files ``*-lh.label`` / ``*-rh.label`` (SPEC section 3.3).

Layout: line 1 a comment starting with ``#``; line 2 the number of points;
then one line per point, ``vertex x y z value`` (vertex = 0-based number of a
vertex of the hemisphere's full surface, x y z in mm). MNE-C's
``mne_read_label`` uses only the vertex numbers; positions and values are
kept here for completeness (positions converted to metres).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..units import MM_PER_M

logger = logging.getLogger(__name__)

__all__ = ["Label", "label_hemisphere", "read_label"]

_INTEGER = re.compile(r"[+-]?\d+$")


@dataclass
class Label:
    """The contents of one label file.

    Attributes
    ----------
    name : str
        File name without the ``.label`` extension (e.g. ``Aud-lh``).
    path : str
        The file read.
    hemi : str or None
        ``'lh'``, ``'rh'``, or None when the file name does not tell (SPEC 9.6:
        such a label is skipped with a warning).
    vertices : ndarray, shape (n,), int
        0-based vertex numbers in file order (MNE-Python sorts them; we do
        not, duplicates are kept).
    pos : ndarray, shape (n, 3)
        Vertex positions (m) as written in the file.
    values : ndarray, shape (n,)
        The fifth column.
    comment : str
        The first line without its leading ``#`` and line end.
    """

    name: str
    path: str
    hemi: str | None
    vertices: np.ndarray
    pos: np.ndarray
    values: np.ndarray
    comment: str


def label_hemisphere(path) -> str | None:
    """The hemisphere a label file name announces, or None.

    ``…-lh.label`` / ``…-rh.label`` anywhere in the base name (SPEC 3.3, as
    MNE-C's ``strstr``), or the FreeSurfer style ``lh.<name>.label`` /
    ``rh.<name>.label``. A name announcing both hemispheres gives None.
    """
    base = os.path.basename(os.fspath(path))
    found = set()
    for hemi in ("lh", "rh"):
        if f"-{hemi}.label" in base or (base.startswith(f"{hemi}.") and base.endswith(".label")):
            found.add(hemi)
    return found.pop() if len(found) == 1 else None


def read_label(path) -> Label:
    """Read a FreeSurfer label file (MNE-C ``mne_read_label``; SPEC 3.3).

    Blank lines are ignored. Every point line must hold exactly five numbers,
    the first a non-negative integer, and there must be exactly as many point
    lines as the count on line 2.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    Label

    Raises
    ------
    InputError
        One sentence naming the file (and line): the file cannot be read,
        "Label file does not start correctly", "Could not read the number of
        labelled points", "Could not read label point # k", a negative vertex
        number, or a point count disagreeing with the count line.
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="latin-1") as fid:
            lines = fid.read().splitlines()
    except OSError as err:
        raise InputError(f"Cannot read the label file {name} ({err.strerror or err}).") from None

    if not lines or not lines[0].startswith("#"):
        raise InputError(f"Label file does not start correctly: line 1 of {name} must be a "
                         "comment starting with '#'.")
    comment = lines[0][1:]

    numbered = [(k + 1, line.split()) for k, line in enumerate(lines) if k > 0 and line.strip()]
    if not numbered or len(numbered[0][1]) != 1 or not _INTEGER.match(numbered[0][1][0]) \
            or int(numbered[0][1][0]) < 0:
        where = f"line {numbered[0][0]}" if numbered else "line 2"
        raise InputError(f"Could not read the number of labelled points in {name}: {where} "
                         "must hold one non-negative integer.")
    count = int(numbered[0][1][0])
    points = numbered[1:]
    if len(points) < count:
        raise InputError(f"Could not read label point # {len(points) + 1} of {name}: the file "
                         f"ends after {len(points)} of the {count} points announced on line "
                         f"{numbered[0][0]}.")
    if len(points) > count:
        raise InputError(f"{name} holds {len(points)} label points but line {numbered[0][0]} "
                         f"announces {count}; correct the count or remove the extra lines.")

    vertices = np.empty(count, np.int64)
    data = np.empty((count, 4))
    for k, (lineno, fields) in enumerate(points):
        try:
            if len(fields) != 5 or not _INTEGER.match(fields[0]):
                raise ValueError
            vertices[k] = int(fields[0])
            data[k] = [float(x) for x in fields[1:]]
        except ValueError:
            raise InputError(f"Could not read label point # {k + 1} of {name} (line {lineno}): "
                             "expected 'vertex x y z value' with an integer vertex number."
                             ) from None
        if vertices[k] < 0:
            raise InputError(f"Label point # {k + 1} of {name} (line {lineno}) has the negative "
                             f"vertex number {vertices[k]}; vertex numbers start at 0.")

    base = os.path.basename(name)
    label = Label(name=base.removesuffix(".label"), path=name,
                  hemi=label_hemisphere(name), vertices=vertices, pos=data[:, :3] / MM_PER_M,
                  values=data[:, 3], comment=comment)
    logger.debug("%s: %d points, hemisphere %s", name, count, label.hemi)
    return label
