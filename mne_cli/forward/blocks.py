"""Sensor-point x target blocks for the MEG kernels, run on the allowed cores.

Every MEG kernel is a sum over a channel's integration points of a weight,
a per-point vector and a per-(point, target) scalar such as 1/|p - r|^3.
The vector parts go into small sparse matrices (one per block of whole
channels), so only the scalar is computed per pair, in blocks of about a
megabyte that stay in cache; numpy releases the GIL, so the worker threads
(:func:`mne_cli.parallel.thread_map`) keep the cores busy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ..geometry.surface import squared_distances
from ..parallel import thread_map
from .sensors import SensorSet

#: Points per block (whole channels) and targets (sources or nodes) per block.
POINTS_PER_BLOCK = 512
TARGETS_PER_BLOCK = 256


def run_blocks(sensors: SensorSet, ntargets: int, vectors: Sequence[np.ndarray],
               task: Callable[..., None]) -> None:
    """Call ``task(channels, points, targets, *combiners)`` for every block, on worker threads.

    ``vectors`` are per-point arrays, shape (npts, 3); for each block of
    whole channels, ``combiners`` holds one stacked sparse combiner per
    vector (:meth:`SensorSet.stacked_combiner`), built once and shared by
    the block's target slices. Blocks are disjoint in (channels, targets),
    so tasks may write their part of a shared output without locks.
    """
    blocks = []
    for channels, points in sensors.point_blocks(POINTS_PER_BLOCK):
        combiners = [sensors.stacked_combiner(channels, points, v) for v in vectors]
        blocks.extend((channels, points, targets, *combiners)
                      for targets in slices(ntargets, TARGETS_PER_BLOCK))
    thread_map(lambda block: task(*block), blocks)


def slices(total: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` covering ``range(total)``."""
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))


def inverse_cubed_distances(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1 / |p - t|^3 for every pair, shape (npoints, ntargets).

    |p - t|^2 is expanded into |p|^2 + |t|^2 - 2 p.t (one small GEMM); sensor
    points are centimetres from sources and BEM nodes, so the cancellation
    costs only a few ulps.
    """
    dist = squared_distances(points, targets)
    dist *= np.sqrt(dist)
    return np.reciprocal(dist, out=dist)


def as_vectors(stacked: np.ndarray, nch: int) -> np.ndarray:
    """(3 nch, ntargets) stacked sums -> (nch, ntargets, 3) vectors."""
    return np.moveaxis(stacked.reshape(3, nch, -1), 0, -1)
