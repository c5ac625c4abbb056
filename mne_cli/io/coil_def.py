"""The coil definition file ``coil_def.dat``: read, write and locate it.

The format (SPEC section 10.2) is text: ``#`` comment lines, then for each
definition a header line ``class id accuracy npoints size baseline
"description"`` followed by ``npoints`` lines ``w x y z nx ny nz`` (metres).
The reader applies MNE-C's checks (``fwd_coil_def.c``: integration points
within 0.5 m of the coil origin, non-zero directions, directions normalised)
and reports any defect as one :class:`~mne_cli.errors.InputError` naming the
file, the line and the definition.
"""

from __future__ import annotations

import importlib.resources
import logging
import math
import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_output
from ..errors import InputError
from ..objects import CoilDef

logger = logging.getLogger(__name__)

# MNE-C rejects integration points farther than this from the coil origin (m).
MAX_POINT_DISTANCE = 0.5
COIL_CLASSES = (1, 2, 3, 4, 1000)
ACCURACIES = (0, 1, 2)
_HEADER_FIELDS = ("coil class", "coil id", "accuracy", "number of points",
                  "size", "baseline")
_POINT_FIELDS = ("weight", "x", "y", "z", "nx", "ny", "nz")


def read_coil_defs(path) -> list[CoilDef]:
    """Read and validate a coil definition file (MNE-C ``fwd_read_coil_defs``).

    Parameters
    ----------
    path : path-like
        The ``coil_def.dat`` file.

    Returns
    -------
    defs : list of CoilDef
        In file order. Directions are normalised to unit length; weights
        and points are kept as written (points in metres).

    Raises
    ------
    InputError
        The file cannot be read, or a definition is malformed: bad header,
        missing quote, bad number, too few points, a point farther than
        0.5 m from the coil origin or a zero direction.
    """
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{name}: no such coil definition file") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not a text file"
        raise InputError(f"{name}: cannot read the coil definition file ({reason})") from None

    # Keep line numbers for the messages; comments and blank lines carry no data.
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1)]
    lines = [(number, line) for number, line in lines if line and not line.startswith("#")]

    defs = []
    i = 0
    while i < len(lines):
        number, line = lines[i]
        header = _parse_header(name, number, line)
        coil_class, coil_id, accuracy, n_points, size, baseline, description = header
        where = f"coil definition (id {coil_id}, accuracy {accuracy})"
        rows = lines[i + 1:i + 1 + n_points]
        if len(rows) < n_points:
            last = rows[-1][0] if rows else number
            raise _error(name, last, f"{where} ends after {len(rows)} of its {n_points} "
                                     "integration points (is the file truncated?)")
        table = np.array([_parse_point(name, row_number, row, where, p, n_points)
                          for p, (row_number, row) in enumerate(rows)])
        weights, points, directions = table[:, 0], table[:, 1:4], table[:, 4:7]
        _check_points(name, rows, where, points, directions)
        directions = directions / np.linalg.norm(directions, axis=1, keepdims=True)
        defs.append(CoilDef(coil_class=coil_class, coil_id=coil_id, accuracy=accuracy,
                            size=size, baseline=baseline, description=description,
                            weights=weights, points=points, directions=directions))
        i += 1 + n_points
    if not defs:
        raise InputError(f"{name}: the file holds no coil definitions.")
    logger.info("%d coil definitions read from %s", len(defs), name)
    return defs


def write_coil_defs(path, text: str) -> None:
    """Write a coil definition file atomically.

    The text goes to a temporary file in the target's directory, which then
    replaces the target; on any failure the temporary file is removed and
    an existing target is left untouched.

    Parameters
    ----------
    path : path-like
        Output file.
    text : str
        The complete file contents (see
        :func:`mne_cli.coil_defs.format_coil_defs`).
    """
    with atomic_output(path, "w", encoding="utf-8", newline="\n") as fid:
        fid.write(text)


def find_coil_def_file() -> Path:
    """Locate the coil definition file to use.

    In this order, the first that exists: ``$MNE_ROOT/share/mne/coil_def.dat``
    when ``MNE_ROOT`` is set (MNE-C's place, the override); the copy installed
    inside the package, ``mne_cli/share/coil_def.dat`` (package data found with
    :mod:`importlib.resources`, so any install prefix works); ``share/coil_def.dat``
    at the top of a source checkout (editable install), which is where the
    packaged copy comes from.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    InputError
        None of those files exists; the message lists the places searched and
        how to make the file with ``list_coil_def``.
    """
    import mne_cli

    candidates = []
    root = os.environ.get("MNE_ROOT")
    if root:
        candidates.append(Path(root) / "share" / "mne" / "coil_def.dat")
    packaged = importlib.resources.files("mne_cli") / "share" / "coil_def.dat"
    if isinstance(packaged, Path):  # not when mne_cli is imported from a zip archive
        candidates.append(packaged)
    candidates.append(Path(mne_cli.__file__).resolve().parents[1] / "share" / "coil_def.dat")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(c) for c in candidates)
    raise InputError(f"No coil definition file found (searched {searched}); make one with "
                     "'mkdir -p DIR/share/mne && list_coil_def --out "
                     "DIR/share/mne/coil_def.dat' and set MNE_ROOT=DIR, or reinstall mne_cli.")


def select_coil_def(defs: list[CoilDef], coil_id: int, accuracy: int) -> CoilDef:
    """The first definition with this coil id and accuracy (as MNE-Python).

    Parameters
    ----------
    defs : list of CoilDef
    coil_id : int
        Coil type id (low 16 bits of a channel's coil type).
    accuracy : int
        0 point, 1 normal, 2 accurate.

    Returns
    -------
    coil : CoilDef

    Raises
    ------
    InputError
        No definition matches.
    """
    for coil in defs:
        if coil.coil_id == coil_id and coil.accuracy == accuracy:
            return coil
    raise InputError("Desired coil definition not found (type = %d acc = %d)"
                     % (coil_id, accuracy))


def _error(name: str, number: int, problem: str) -> InputError:
    return InputError(f"{name}, line {number}: {problem}.")


def _parse_header(name: str, number: int, line: str):
    """(class, id, accuracy, npoints, size, baseline, description) of a header line."""
    quote = line.find('"')
    if quote < 0:
        if _looks_like_point(line):
            problem = ("expected a coil definition header but found an integration point "
                       "(does the previous definition list more points than its header "
                       "says?)")
        else:
            problem = 'the coil definition header lacks its "quoted" description'
        raise _error(name, number, problem)
    if not line.endswith('"') or len(line) == quote + 1 or '"' in line[quote + 1:-1]:
        raise _error(name, number, "the description of the coil definition header must be "
                                   "one double-quoted string at the end of the line "
                                   "(closing quote missing or misplaced)")
    description = line[quote + 1:-1]
    tokens = line[:quote].split()
    if len(tokens) != len(_HEADER_FIELDS):
        raise _error(name, number, "a coil definition header needs class, id, accuracy, "
                                   "number of points, size and baseline before the "
                                   f"description, found {len(tokens)} values")
    coil_class, coil_id, accuracy, n_points = (
        _parse_int(name, number, tok, field)
        for tok, field in zip(tokens[:4], _HEADER_FIELDS[:4]))
    size, baseline = (_parse_float(name, number, tok, field)
                      for tok, field in zip(tokens[4:], _HEADER_FIELDS[4:]))
    where = f"coil definition (id {coil_id}, accuracy {accuracy})"
    if coil_class not in COIL_CLASSES:
        raise _error(name, number, f"{where} has unknown coil class {coil_class} "
                                   "(expected 1, 2, 3, 4 or 1000)")
    if accuracy not in ACCURACIES:
        raise _error(name, number, f"{where} has accuracy {accuracy} (expected 0, 1 or 2)")
    if n_points < 1:
        raise _error(name, number, f"{where} has {n_points} integration points "
                                   "(at least 1 needed)")
    return coil_class, coil_id, accuracy, n_points, size, baseline, description


def _parse_point(name: str, number: int, line: str, where: str, p: int,
                 n_points: int) -> list[float]:
    """The 7 numbers of an integration-point line."""
    tokens = line.split()
    if '"' in line:
        raise _error(name, number, f"found a coil definition header where integration point "
                                   f"{p + 1} of {n_points} of {where} was expected (does "
                                   "the header list more points than follow it?)")
    if len(tokens) != len(_POINT_FIELDS):
        raise _error(name, number, f"integration point {p + 1} of {n_points} of {where} "
                                   "needs 7 numbers (w x y z nx ny nz), found "
                                   f"{len(tokens)} values")
    context = f"integration point {p + 1} of {where}: "
    return [_parse_float(name, number, tok, field, context)
            for tok, field in zip(tokens, _POINT_FIELDS)]


def _check_points(name: str, rows, where: str, points: np.ndarray,
                  directions: np.ndarray) -> None:
    """MNE-C's sanity checks: points within 0.5 m, non-zero directions."""
    far = np.flatnonzero(np.linalg.norm(points, axis=1) > MAX_POINT_DISTANCE)
    if far.size:
        p = far[0]
        x, y, z = points[p] * 1e3
        raise _error(name, rows[p][0], f"Unreasonable integration point {x:g} {y:g} {z:g} mm "
                                       f"in {where}: more than "
                                       f"{MAX_POINT_DISTANCE * 1e3:g} mm from the coil origin")
    zero = np.flatnonzero(np.linalg.norm(directions, axis=1) <= 0)
    if zero.size:
        p = zero[0]
        nx, ny, nz = directions[p]
        raise _error(name, rows[p][0], f"Unreasonable normal {nx:g} {ny:g} {nz:g} in {where}: "
                                       "the direction vector is zero")


def _parse_int(name: str, number: int, token: str, field: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise _error(name, number, f"the {field} {token!r} is not an integer") from None


def _parse_float(name: str, number: int, token: str, field: str, context: str = "") -> float:
    try:
        value = float(token)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _error(name, number, f"{context}the {field} {token!r} is not a finite number")
    return value


def _looks_like_point(line: str) -> bool:
    tokens = line.split()
    if len(tokens) != len(_POINT_FIELDS):
        return False
    try:
        [float(tok) for tok in tokens]
    except ValueError:
        return False
    return True
