"""Which source-space points become sources (SPEC 9.3 steps 1-2, 9.5)."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from ..errors import InputError
from ..geometry.inside import inside_surface
from ..objects import BemSurface, SourceSpace

logger = logging.getLogger(__name__)


def activate_all(spaces: list[SourceSpace]) -> list[SourceSpace]:
    """Every point of every space in use (``--all``)."""
    return [dataclasses.replace(s, inuse=np.ones(len(s.rr), np.int32)) for s in spaces]


def check_active(spaces: list[SourceSpace], source: str) -> int:
    """The number of sources in use; an error when there are none."""
    nsource = sum(s.nuse for s in spaces)
    if nsource == 0:
        raise InputError(f"No sources are active in the source spaces of {source}; use --all "
                         "to activate every point.")
    return nsource


def filter_inner_skull(spaces: list[SourceSpace], inner_skull: BemSurface,
                       mindist: float) -> tuple[list[SourceSpace], np.ndarray]:
    """Drop sources outside the inner skull or closer than ``mindist`` to it.

    Parameters
    ----------
    spaces : list of SourceSpace
        In the MRI frame, like the surface.
    inner_skull : BemSurface
    mindist : float
        Minimum distance (m) to the nearest inner-skull *vertex*, as MNE-C
        and MNE-Python measure it; <= 0 means no limit.

    Returns
    -------
    spaces : list of SourceSpace
        Copies with the dropped points out of use.
    omitted : ndarray, shape (k, 3)
        Positions of the dropped points (m, MRI frame).
    """
    tree = None
    if mindist > 0:
        import scipy.spatial  # only needed here; importing it takes 0.15 s

        tree = scipy.spatial.cKDTree(inner_skull.rr)
    kept, omitted = [], []
    n_outside = n_close = 0
    for space in spaces:
        vertno = space.vertno
        rr = space.rr[vertno]
        inside = inside_surface(rr, inner_skull.rr, inner_skull.tris)
        drop = ~inside
        n_outside += int(drop.sum())
        if tree is not None:
            close = np.zeros(len(rr), bool)
            close[inside] = tree.query(rr[inside])[0] < mindist
            n_close += int(close.sum())
            drop |= close
        inuse = space.inuse.copy()
        inuse[vertno[drop]] = 0
        omitted.append(rr[drop])
        kept.append(dataclasses.replace(space, inuse=inuse))
    logger.info("%d source space points omitted because they are outside the inner skull "
                "surface.", n_outside)
    if mindist > 0:
        logger.info("%d source space points omitted because of the %6.1f-mm distance limit.",
                    n_close, mindist * 1000)
    return kept, np.concatenate(omitted) if omitted else np.zeros((0, 3))


def write_omitted(path, points: np.ndarray) -> None:
    """``--mindistout``: one ``%10.3f`` x 3 line (mm, MRI frame) per dropped point."""
    from ..atomic import atomic_output
    from ..units import MM_PER_M

    with atomic_output(path, "w", encoding="utf-8") as fid:
        for p in points * MM_PER_M:
            fid.write(" ".join(f"{x:10.3f}" for x in p) + "\n")
