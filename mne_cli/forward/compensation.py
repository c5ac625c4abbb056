"""CTF/4D software gradient compensation of a forward solution (SPEC 9.8).

Data recorded with compensation grade g are B_meg - C B_ref, C mapping the
reference channels to the compensated MEG channels; a forward solution that
is to match them must be compensated the same way.
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import InputError
from ..objects import Channel, MeasInfo

logger = logging.getLogger(__name__)


def current_grade(meg: list[Channel], source: str) -> int:
    """The compensation grade in effect: ``coil_type >> 16``, equal on all MEG channels."""
    grades = sorted({ch.comp_grade for ch in meg})
    if len(grades) > 1:
        raise InputError(f"The MEG channels of {source} have different compensation grades "
                         f"({', '.join(map(str, grades))}); they must all be the same.")
    return grades[0] if grades else 0


def compensation_matrix(info: MeasInfo, meg: list[Channel], refs: list[Channel], grade: int,
                        source: str) -> np.ndarray:
    """C, shape (nmeg, nref), in physical units: compensated = B_meg - C @ B_ref.

    MEG channels the stored matrix does not list get zero rows. An
    uncalibrated matrix (``calibrated`` false) is scaled by range x cal of
    its row channel and divided by that of its column channel.
    """
    matches = [c for c in info.comps if c.grade == grade]
    if not matches:
        available = ", ".join(str(c.grade) for c in info.comps) or "none"
        raise InputError(f"{source} has compensation grade {grade} in effect but no "
                         f"compensation matrix of that grade (grades present: {available}).")
    comp = matches[0]
    channels = {ch.name: ch for ch in info.channels}
    missing = [n for n in comp.row_names + comp.col_names if n not in channels]
    if missing:
        raise InputError(f"The grade {grade} compensation matrix of {source} names channels "
                         f"that are not in the file ({', '.join(missing[:5])}).")
    data = np.asarray(comp.data, np.float64)
    if not comp.calibrated:
        row_cal = np.array([channels[n].range * channels[n].cal for n in comp.row_names])
        col_cal = np.array([channels[n].range * channels[n].cal for n in comp.col_names])
        data = data * row_cal[:, None] / col_cal[None, :]
    ref_index = {ch.name: k for k, ch in enumerate(refs)}
    unknown = [n for n in comp.col_names if n not in ref_index]
    if unknown:
        raise InputError(f"The grade {grade} compensation matrix of {source} uses channels "
                         f"that are not reference channels ({', '.join(unknown[:5])}).")
    meg_index = {ch.name: k for k, ch in enumerate(meg)}
    matrix = np.zeros((len(meg), len(refs)))
    rows = [(i, meg_index[n]) for i, n in enumerate(comp.row_names) if n in meg_index]
    cols = [ref_index[n] for n in comp.col_names]
    for i, row in rows:
        matrix[row, cols] = data[i]
    logger.info("Compensation grade %d: %d of %d MEG channels compensated from %d reference "
                "channels", grade, len(rows), len(meg), len(refs))
    return matrix
