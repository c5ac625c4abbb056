"""``--label``: restrict the sources to labels (SPEC 9.3 step 2, 9.6).

Mirrors MNE-C ``mne_forward_solution``'s label restriction: every label is
assigned to a hemisphere by its file name, every source space by the sign of
the mean x of all its points, and a point stays in use only when it was in
use and is listed in a label of its space's hemisphere.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from ..fiff.constants import SourceSpaceId, SourceSpaceType
from ..io.label import Label
from ..objects import SourceSpace
from ..source_space import hemisphere_of_points

logger = logging.getLogger(__name__)

__all__ = ["restrict_to_labels", "space_hemisphere"]

_HEMI_ID = {"lh": SourceSpaceId.LEFT, "rh": SourceSpaceId.RIGHT}


def space_hemisphere(space: SourceSpace) -> str:
    """``'lh'`` when the mean x of all points (in use or not) is negative, else ``'rh'``.

    The points are taken in the space's own frame (MRI at SPEC 9.3 step 2).
    """
    return "lh" if hemisphere_of_points(space.rr) == SourceSpaceId.LEFT else "rh"


def restrict_to_labels(spaces: list[SourceSpace], labels: list[Label],
                       source_name: str) -> list[SourceSpace]:
    """Keep only the in-use points listed in a label of their hemisphere (SPEC 9.6).

    Parameters
    ----------
    spaces : list of SourceSpace
        As read (after ``--all``), positions in metres.
    labels : list of Label
        The ``--label`` files in command-line order. Labels whose file name
        tells no hemisphere are skipped with a warning.
    source_name : str
        The source-space file, for the messages.

    Returns
    -------
    list of SourceSpace
        Copies with ``inuse`` restricted; the inputs are not modified. A
        hemisphere without labels loses all its sources. Label vertex numbers
        beyond a space's point count are reported (warning) and ignored.

    Notes
    -----
    As in MNE-C the rule applies to every space, volume and discrete ones
    included: their hemisphere is decided by the same mean-x test and the
    label vertex numbers are taken as their point numbers, which is rarely
    meaningful, so a warning is logged for them. A space whose ``id`` (101 /
    102) disagrees with the mean-x hemisphere is also warned about; the
    mean-x decision is kept. The caller checks that sources remain
    (``check_active``).
    """
    selected: dict[str, list[Label]] = {"lh": [], "rh": []}
    for label in labels:
        if label.hemi not in selected:
            logger.warning("Cannot assign the label file %s to a hemisphere (its name does not "
                           "contain -lh.label or -rh.label); it is ignored.", label.path)
            continue
        selected[label.hemi].append(label)

    restricted = []
    for k, space in enumerate(spaces):
        what = f"source space {k + 1} of {source_name}"
        npoint = len(space.rr)
        if npoint == 0:
            restricted.append(dataclasses.replace(space, inuse=space.inuse.copy()))
            continue
        hemi = space_hemisphere(space)
        if space.type != SourceSpaceType.SURFACE:
            logger.warning("%s is not a cortical surface (type %d); the labels of the %s "
                           "hemisphere (decided by the mean x of its points) are applied to its "
                           "point numbers as MNE-C does.", what.capitalize(), space.type, hemi)
        elif space.id in _HEMI_ID.values() and space.id != _HEMI_ID[hemi]:
            logger.warning("%s has the hemisphere id %d but the mean x of its points says %s; "
                           "the labels of %s are used.", what.capitalize(), space.id, hemi, hemi)
        in_label = np.zeros(npoint, bool)
        for label in selected[hemi]:
            vertices = label.vertices
            outside = (vertices < 0) | (vertices >= npoint)
            if outside.any():
                logger.warning("%d vertex numbers of the label %s lie outside the %d points of "
                               "%s and are ignored.", int(outside.sum()), label.path, npoint,
                               what)
            in_label[vertices[~outside]] = True
        inuse = np.where(in_label & (space.inuse != 0), space.inuse, 0).astype(space.inuse.dtype)
        nuse = int(np.count_nonzero(inuse))
        logger.info("%s (%s): %d of %d sources remain after the labels (%d label%s).",
                    what.capitalize(), hemi, nuse, space.nuse, len(selected[hemi]),
                    "" if len(selected[hemi]) == 1 else "s")
        restricted.append(dataclasses.replace(space, inuse=inuse))
    return restricted
