"""Weighted averages of forward solutions (SPEC section 11).

Mirrors MNE-C's ``mne_average_forward_solutions``: several forward solutions
computed for the same subject, source space and channel set (typically runs
with different head positions) are combined into one whose gain matrices are
the weighted sum ``sum_i w_i G_i``, weights divided by their sum. Everything
else (parent-file blocks, device -> head transform, source spaces) comes from
the first input, as MNE-Python's ``average_forward_solutions`` does.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Sequence

import numpy as np

from ..errors import InputError, UsageError
from ..fiff.constants import Frame, SourceOri
from ..objects import Forward, ForwardBlock

logger = logging.getLogger(__name__)

# A plain decimal number as strtod reads it (no nan/inf, no '_' separators).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

_FRAMES = {Frame.HEAD: "head", Frame.MRI: "MRI"}
_ORIENTATIONS = {SourceOri.FIXED: "fixed", SourceOri.FREE: "free"}


def parse_weighted_name(arg: str) -> tuple[str, float]:
    """Split a ``--fwd`` argument ``file[:weight]`` into name and weight.

    The text after the last ``:`` is the weight when it is a decimal number
    (``2``, ``0.5``, ``-1``, ``3e-1``); otherwise the whole argument is the
    file name and the weight is 1, so names holding a colon
    (``C:/data/x-fwd.fif``, ``a:b-fwd.fif``) need no weight.

    Parameters
    ----------
    arg : str
        The option value.

    Returns
    -------
    path : str
    weight : float
        Not yet checked for sign (see :func:`normalise_weights`).

    Raises
    ------
    InputError
        Nothing is left for the file name (``""`` or ``":2"``).
    """
    name, sep, tail = arg.rpartition(":")
    if sep and _NUMBER.fullmatch(tail):
        path, weight = name, float(tail)
    elif sep and name and os.path.isfile(name) and not os.path.exists(arg):
        raise InputError(f"--fwd {arg!r}: {tail!r} is not a weight; give file[:weight] with "
                         "a decimal number, e.g. run1-fwd.fif:2")
    else:
        path, weight = arg, 1.0
    if not path:
        raise InputError(f"--fwd {arg!r} names no file; give file[:weight], "
                         "e.g. run1-fwd.fif:2")
    return path, weight


def normalise_weights(weights: Sequence[float], names: Sequence[str]) -> np.ndarray:
    """Weights divided by their sum.

    Parameters
    ----------
    weights : sequence of float, length n
    names : sequence of str, length n
        File names, for the messages.

    Returns
    -------
    ndarray, shape (n,), float64
        Non-negative, summing to 1.

    Raises
    ------
    InputError
        A weight is negative or not finite, or all weights are zero.
    """
    w = np.asarray(weights, np.float64).ravel()
    for value, name in zip(w, names):
        if not np.isfinite(value) or value < 0:
            raise InputError(f"the weight of {name} is {value:g}; weights must be zero or "
                             "positive numbers")
    total = w.sum()
    if not total > 0:
        raise InputError("all forward-solution weights are zero; give at least one "
                         "positive weight")
    return w / total


def average_forward_solutions(inputs, *, fname=None,
                              command_line: str | None = None) -> Forward:
    """Weighted average of forward-solution files (MNE-C's mne_average_forward_solutions).

    Parameters
    ----------
    inputs : sequence of path-like or Forward, or of (either, weight) pairs
        The forward solutions (files or objects) and their weights (default
        1); the weights are divided by their sum.
    fname : str or path-like, optional
        Write the average here; it must not be one of the inputs.
    command_line : str, optional
        Recorded in the file's provenance block.

    Returns
    -------
    Forward
        The first input with its gains replaced by the weighted average
        (:func:`average_forwards`).

    Raises
    ------
    InputError, FifError, OutputError
        Bad weights, unreadable or incompatible inputs, an unwritable output.
    UsageError
        When ``fname`` is one of the inputs.
    """
    from ..atomic import check_output, same_file
    from ..io.forward import read_forward, write_forward

    pairs = [(item, 1.0) if isinstance(item, (str, os.PathLike, Forward)) else
             (item[0], float(item[1])) for item in inputs]
    names = [os.fspath(item) if isinstance(item, (str, os.PathLike)) else f"input {k}"
             for k, (item, _) in enumerate(pairs, start=1)]
    files = [name for name, (item, _) in zip(names, pairs) if not isinstance(item, Forward)]
    if fname is not None:
        for path in files:
            if same_file(os.fspath(fname), path):
                raise UsageError(f"--out names the input {path} itself; choose another "
                                 "output file")
        check_output(fname, "--out")
    weights = [w for _, w in pairs]
    forwards = []
    for name, (item, _), weight in zip(names, pairs, normalise_weights(weights, names)):
        if isinstance(item, Forward):
            forwards.append(item)
            continue
        forwards.append(read_forward(name))
        logger.info("Read %s (weight %.6g)", name, weight)
    average = average_forwards(forwards, weights, names)
    if fname is not None:
        write_forward(fname, average, command_line)
    return average


def average_forwards(forwards: Sequence[Forward], weights: Sequence[float],
                     names: Sequence[str] | None = None) -> Forward:
    """Weighted average of compatible forward solutions.

    Every input must agree with the first in: presence of the MEG and EEG
    parts, channel names and their order, number of source spaces, in-use
    vertices of each, source orientation and coordinate frame.

    Parameters
    ----------
    forwards : sequence of Forward, length n >= 1
    weights : sequence of float, length n
        Non-negative, not all zero; divided by their sum.
    names : sequence of str, length n, optional
        File names for messages (default ``input 1`` ...).

    Returns
    -------
    Forward
        A copy of ``forwards[0]`` whose gain matrices ``sol`` (nchan, ncomp)
        are ``sum_i w_i sol_i`` (float64). ``sol_grad`` (nchan, 3 ncomp) is
        averaged the same way when every input has it; when only some do it
        is dropped with a warning.

    Raises
    ------
    InputError
        Bad weights, or two inputs that differ (one sentence naming both
        files and what differs).
    """
    if not forwards:
        raise ValueError("no forward solutions to average")
    if names is None:
        names = [f"input {i + 1}" for i in range(len(forwards))]
    if not len(forwards) == len(weights) == len(names):
        raise ValueError("forwards, weights and names must have the same length")
    w = normalise_weights(weights, names)
    first = forwards[0]
    for fwd, name in zip(forwards[1:], names[1:]):
        _check_compatible(first, fwd, names[0], name)
    blocks = {}
    for attr, label in (("meg", "MEG"), ("eeg", "EEG")):
        block = getattr(first, attr)
        if block is not None:
            parts = [getattr(f, attr) for f in forwards]
            blocks[attr] = _average_block(block, parts, w, names, label)
    return dataclasses.replace(first, **blocks)


def _average_block(block: ForwardBlock, parts: list[ForwardBlock], w: np.ndarray,
                   names: Sequence[str], label: str) -> ForwardBlock:
    sol = _weighted_sum([p.sol for p in parts], w)
    have_grad = [p.sol_grad is not None for p in parts]
    grad = None
    if all(have_grad):
        grad = _weighted_sum([p.sol_grad for p in parts], w)
    elif any(have_grad):
        missing = names[have_grad.index(False)]
        logger.warning("%s has no %s gradient matrix while other inputs have one; the "
                       "output has no %s gradient matrix", missing, label, label)
    return dataclasses.replace(block, ch_names=list(block.ch_names), sol=sol, sol_grad=grad)


def _weighted_sum(matrices: list[np.ndarray], w: np.ndarray) -> np.ndarray:
    """``sum_i w_i M_i`` accumulated in float64."""
    total = np.zeros(np.shape(matrices[0]), np.float64)
    for matrix, weight in zip(matrices, w):
        total += weight * np.asarray(matrix, np.float64)
    return total


# --- compatibility ------------------------------------------------------------

def _check_compatible(a: Forward, b: Forward, name_a: str, name_b: str) -> None:
    """Raise InputError naming both files at the first difference."""
    pair = f"{name_a} and {name_b}"
    parts_a, parts_b = _parts(a), _parts(b)
    if parts_a != parts_b:
        raise InputError(f"{pair} differ in their parts: {name_a} has {parts_a} and "
                         f"{name_b} {parts_b}; average solutions computed for the same "
                         "modalities")
    for attr, label in (("meg", "MEG"), ("eeg", "EEG")):
        block_a, block_b = getattr(a, attr), getattr(b, attr)
        if block_a is not None:
            _check_names(list(block_a.ch_names), list(block_b.ch_names), label,
                         pair, name_a, name_b)
    _check_sources(a, b, pair, name_a, name_b)
    if a.source_ori != b.source_ori:
        raise InputError(f"{pair} differ in source orientation: {name_a} has "
                         f"{_describe(_ORIENTATIONS, a.source_ori)} and {name_b} "
                         f"{_describe(_ORIENTATIONS, b.source_ori)} orientation")
    if a.coord_frame != b.coord_frame:
        raise InputError(f"{pair} differ in coordinate frame: {name_a} is in "
                         f"{_describe(_FRAMES, a.coord_frame)} and {name_b} in "
                         f"{_describe(_FRAMES, b.coord_frame)} coordinates")


def _parts(fwd: Forward) -> str:
    labels = [label for label, block in (("MEG", fwd.meg), ("EEG", fwd.eeg))
              if block is not None]
    return " and ".join(labels) + " only" * (len(labels) == 1)


def _describe(table: dict, code: int) -> str:
    return table.get(code, f"code {code}")


def _check_names(names_a: list[str], names_b: list[str], label: str, pair: str,
                 name_a: str, name_b: str) -> None:
    if names_a == names_b:
        return
    i = next((k for k, (x, y) in enumerate(zip(names_a, names_b)) if x != y),
             min(len(names_a), len(names_b)))
    at_a = names_a[i] if i < len(names_a) else "absent"
    at_b = names_b[i] if i < len(names_b) else "absent"
    raise InputError(f"{pair} differ in their {label} channels: {name_a} has "
                     f"{len(names_a)} and {name_b} {len(names_b)}, and {label} channel "
                     f"{i + 1} is {at_a} in {name_a} but {at_b} in {name_b}")


def _check_sources(a: Forward, b: Forward, pair: str, name_a: str, name_b: str) -> None:
    spaces_a, spaces_b = a.source_spaces, b.source_spaces
    if len(spaces_a) != len(spaces_b):
        raise InputError(f"{pair} differ in their source spaces: {name_a} has "
                         f"{len(spaces_a)} and {name_b} {len(spaces_b)}")
    for k, (s, t) in enumerate(zip(spaces_a, spaces_b), start=1):
        vert_s, vert_t = s.vertno, t.vertno
        if len(vert_s) != len(vert_t):
            raise InputError(f"{pair} differ in the number of sources of source space {k}: "
                             f"{len(vert_s)} in {name_a} and {len(vert_t)} in {name_b}")
        differ = np.flatnonzero(vert_s != vert_t)
        if differ.size:
            j = differ[0]
            raise InputError(f"{pair} differ in the sources in use in source space {k}: "
                             f"source {j + 1} is vertex {vert_s[j]} in {name_a} but vertex "
                             f"{vert_t[j]} in {name_b}")
