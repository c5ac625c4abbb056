"""MEG coils and EEG electrodes as weighted integration points (SPEC 9.7).

A channel's signal is a weighted sum over its points: for MEG the field
component along each point's direction, for EEG the potential (an electrode
and, when present, its reference with weight -1). Keeping all points of all
channels in flat arrays lets the field code work on one (points x sources)
array and reduce to channels with one sparse product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from ..errors import InputError
from ..io.coil_def import select_coil_def
from ..objects import Channel, CoilDef, Transform

#: An EEG reference position shorter than this (m) means "no reference".
EEG_REFERENCE_MIN_NORM = 1e-4
#: Electrodes closer than this to the origin (m) have no location (SPEC 9.3 step 4);
#: forward.checks applies it to MEG coils too.
EEG_LOCATION_MIN_NORM = 0.02


@dataclass
class SensorSet:
    """Integration points of a set of channels, in the computation frame.

    Attributes
    ----------
    names : list of str
        Channel names, in output order.
    points : ndarray, shape (npts, 3)
        Integration-point positions, metres.
    directions : ndarray, shape (npts, 3)
        Unit directions of the sensed field component (MEG); unit position
        vectors for EEG (unused by the physics).
    weights : ndarray, shape (npts,)
    channel : ndarray, shape (npts,), int
        Index into ``names`` of each point; non-decreasing.
    """

    names: list[str]
    points: np.ndarray
    directions: np.ndarray
    weights: np.ndarray
    channel: np.ndarray

    @property
    def nchan(self) -> int:
        return len(self.names)

    def combiner(self) -> scipy.sparse.csr_matrix:
        """Sparse (nchan, npts) matrix of weights: channel values = C @ point values."""
        return scipy.sparse.csr_matrix(
            (self.weights, (self.channel, np.arange(len(self.weights)))),
            shape=(self.nchan, len(self.weights)))

    def point_blocks(self, max_points: int = 512) -> list[tuple[slice, slice]]:
        """Split into blocks of whole channels with at most ``max_points`` points.

        Returns (channel slice, point slice) pairs; a block holds at least
        one channel even if that channel has more points.
        """
        starts = np.searchsorted(self.channel, np.arange(self.nchan + 1))
        blocks, first = [], 0
        for last in range(1, self.nchan + 1):
            too_big = starts[last] - starts[first] > max_points and last - 1 > first
            if too_big:
                blocks.append((slice(first, last - 1), slice(starts[first], starts[last - 1])))
                first = last - 1
        blocks.append((slice(first, self.nchan), slice(starts[first], starts[self.nchan])))
        return blocks

    def stacked_combiner(self, channels: slice, points: slice,
                         vectors: np.ndarray) -> scipy.sparse.csr_matrix:
        """Sparse (m nch, npts) sums of weights x vector components over a block.

        ``vectors`` has shape (npts, m) (m = 3 for a vector). Row
        ``i * nch + c`` sums ``w_p * vectors[p, i]`` over the points p of
        channel c, so ``M @ values`` gives the m weighted sums of a
        per-point quantity times each component at once.
        """
        index = np.arange(points.start, points.stop)
        rows = self.channel[index] - channels.start
        nch = channels.stop - channels.start
        w = self.weights[index]
        m = vectors.shape[1]
        return scipy.sparse.csr_matrix(
            (np.concatenate([w * vectors[index, i] for i in range(m)]),
             (np.concatenate([rows + i * nch for i in range(m)]),
              np.tile(index - points.start, m))),
            shape=(m * nch, len(index)))

    def joined(self, other: SensorSet) -> SensorSet:
        """These channels followed by ``other``'s."""
        return SensorSet(self.names + other.names,
                         np.concatenate([self.points, other.points]),
                         np.concatenate([self.directions, other.directions]),
                         np.concatenate([self.weights, other.weights]),
                         np.concatenate([self.channel, other.channel + self.nchan]))

    def transformed(self, trans: Transform) -> SensorSet:
        """The same sensors in another frame (positions affine, directions rotated)."""
        return SensorSet(self.names, trans.apply(self.points), trans.rotate(self.directions),
                         self.weights, self.channel)


def meg_sensors(channels: list[Channel], coil_defs: list[CoilDef], accuracy: int,
                device_to_frame: Transform) -> SensorSet:
    """Coil integration points of MEG (or reference) channels.

    Parameters
    ----------
    channels : list of Channel
        MEG channels; ``loc`` gives the coil frame in the device frame.
    coil_defs : list of CoilDef
        The contents of coil_def.dat.
    accuracy : int
        1 normal, 2 accurate.
    device_to_frame : Transform
        Device -> computation frame.

    Raises
    ------
    InputError
        A channel's coil type has no definition of this accuracy; the
        message names every such channel.
    """
    points, directions, weights, index = [], [], [], []
    missing = {}
    for k, ch in enumerate(channels):
        try:
            coil = select_coil_def(coil_defs, ch.coil_id, accuracy)
        except InputError:
            missing.setdefault(ch.coil_id, []).append(ch.name)
            continue
        loc = np.asarray(ch.loc, np.float64)
        axes = loc[3:12].reshape(3, 3)  # rows ex, ey, ez
        points.append(loc[:3] + coil.points @ axes)
        directions.append(coil.directions @ axes)
        weights.append(coil.weights)
        index.append(np.full(len(coil.weights), k))
    if missing:
        what = "; ".join(f"type {cid} ({few(names)})" for cid, names in missing.items())
        raise InputError(f"Desired coil definition not found (acc = {accuracy}) for {what}; "
                         "these coil types are not in coil_def.dat.")
    sensors = SensorSet([ch.name for ch in channels], np.concatenate(points),
                        np.concatenate(directions), np.concatenate(weights),
                        np.concatenate(index))
    return sensors.transformed(device_to_frame)


def eeg_sensors(channels: list[Channel], head_to_frame: Transform) -> SensorSet:
    """Electrode (and reference electrode) points of EEG channels.

    Parameters
    ----------
    channels : list of Channel
        EEG channels; ``loc[0:3]`` electrode, ``loc[3:6]`` reference (head
        frame, metres; a reference shorter than 0.1 mm means none).
    head_to_frame : Transform
        Head -> computation frame.

    Every channel must have a position (:func:`.checks.check_positions`).
    """
    points, weights, index = [], [], []
    for k, ch in enumerate(channels):
        loc = np.asarray(ch.loc, np.float64)
        points.append(loc[:3])
        weights.append(1.0)
        index.append(k)
        if np.linalg.norm(loc[3:6]) >= EEG_REFERENCE_MIN_NORM:
            points.append(loc[3:6])
            weights.append(-1.0)
            index.append(k)
    points = np.array(points)
    directions = points / np.linalg.norm(points, axis=1, keepdims=True)
    sensors = SensorSet([ch.name for ch in channels], points, directions,
                        np.array(weights), np.array(index))
    return sensors.transformed(head_to_frame)


def few(names: list[str], limit: int = 5) -> str:
    """The first ``limit`` names, then how many more: for messages."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
