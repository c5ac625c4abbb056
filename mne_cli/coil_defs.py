"""Built-in MEG coil definitions, the content of ``coil_def.dat``.

MNE-C's ``mne_list_coil_def`` (version 1.14) generated the standard coil
definition file from a short description of each sensor (loop shape, size,
baseline, offset along z) and a few fixed quadrature rules. This module does
the same: :func:`builtin_coil_defs` builds the 105 definitions of that file
(35 coil ids times accuracies 0, 1 and 2) in float64, and
:func:`format_coil_defs` prints them in MNE-C's exact text format, so that the
data lines equal those of MNE-Python's ``mne/data/coil_def.dat`` byte for
byte (SPEC section 10).

All lengths are metres, in the coil frame: z along the sensed field
component, x through the two loop centres of a planar gradiometer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from . import __version__
from .objects import CoilDef

logger = logging.getLogger(__name__)

# A quadrature rule returns (weights (n,), points (n, 3) in metres).
Rule = Callable[[], "tuple[np.ndarray, np.ndarray]"]

# Vectorview loops sit 0.3 mm above the nominal sensor plane.
_Z_VECTORVIEW = 3.0e-4

# The OPM vapour cell is modelled as a 3 mm long volume along x.
_OPM_CELL_LENGTH = 3.0e-3

# Sensor-specific numbers that no rule derives from size and baseline.
# Planar gradiometers: |y| of the integration rows and the inner/outer x
# columns of each half's 4-point (accurate) rule, from the loop layout of
# the thin-film chips. For the Vectorview the outer column carries a fifth
# digit: MNE-C's printed weight (14.9858 /m) fixes the distance between the
# two halves' centroids to 16.6825 mm, which 10.79 mm would miss.
_VV_PLANAR_ROW = 6.713e-3
_VV_PLANAR_COLUMNS = (5.891e-3, 10.7915e-3)
_N122_PLANAR_ROW = 7.68e-3
_N122_PLANAR_COLUMNS = (5.44e-3, 11.11e-3)
# The CTF off-diagonal reference gradiometer's points are 8.5 mm from each
# loop centre, not size / 4 = 8.6 mm as for its diagonal sibling.
_CTF_OFFDIAG_OFFSET = 8.5e-3
# The Compumedics pediatric gradiometer winds each loop twice, 1.5 mm apart.
_COMPUMEDICS_WINDING_GAP = 1.5e-3

_FILE_HEADER = """\
#
#   MEG coil definitions
#
#   Each MEG sensor type (coil id) is described at up to three accuracies
#   by a weighted set of integration points: the field a sensor reports is
#   the weighted sum of the field component along each point's direction.
#   Points are in the coil frame (metres): the sensor origin at (0, 0, 0),
#   z along the sensed field component and, for planar gradiometers, x
#   along the line joining the centres of the two loops.
#
#   A definition is one header line
#
#     <class> <id> <accuracy> <npoints> <size/m> <baseline/m> "<description>"
#
#     printed as  '%d   %-7d %d %3d %10.3e %10.3e\\t"%s"'
#
#   followed by <npoints> lines, one per integration point,
#
#     <weight> <x/m> <y/m> <z/m> <nx> <ny> <nz>
#
#     printed as  '%8.4f %10.3e %10.3e %10.3e %6.3f %6.3f %6.3f'
#
#   where (nx, ny, nz) is the direction of the sensed field component
#   (normalised when the file is read). Size is the side of a square loop
#   or the diameter of a circular one and baseline the distance between
#   the loops of a gradiometer (0 for magnetometers); both are meant for
#   drawing the sensor, never for computing with it.
#
#   <class>     1     magnetometer
#               2     first-order axial gradiometer
#               3     planar gradiometer
#               4     second-order axial gradiometer
#
#   <accuracy>  0     point approximation
#               1     normal
#               2     accurate
#
#   Lines starting with '#' are comments.
#
#   Produced with:
#
#       {program_line}
#
"""


def default_program_line() -> str:
    """The "Produced with:" line of our output; free of dates, so reproducible.

    Returns
    -------
    line : str
        Program name and mne_cli version.
    """
    return f"list_coil_def (mne_cli) version {__version__}"


# ---------------------------------------------------------------------------
# Quadrature rules on one loop (weights sum to 1)
# ---------------------------------------------------------------------------

def _points(x, y, z) -> np.ndarray:
    """Stack coordinate columns (scalars broadcast) into an (n, 3) array."""
    x, y, z = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float),
                                  np.asarray(z, float))
    return np.column_stack([x, y, z])


def _point(z: float = 0.0):
    """The loop centre, weight 1."""
    return np.ones(1), _points([0.0], 0.0, z)


def _square_grid(side: float, n: int, z: float):
    """Centres of an n x n split of a square of ``side``, x varying slowest.

    n = 2 gives (+-s/4, +-s/4), n = 4 gives x, y in {+-s/8, +-3s/8}.
    """
    u = ((np.arange(n) + 0.5) / n - 0.5) * side
    xx, yy = np.meshgrid(u, u, indexing="ij")
    return np.full(n * n, 1.0 / (n * n)), _points(xx.ravel(), yy.ravel(), z)


# Quadrant order MNE-C uses for the 4-point rule: (+,+), (-,+), (-,-), (+,-).
_QUADRANTS = ((1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0))


def _four_point(offset: float, z: float = 0.0, x0: float = 0.0):
    """Four points at (x0 +- offset, +-offset), weight 1/4 each.

    For a circle of radius R the offset is R/2; for a square of side s, s/4.
    """
    xy = np.array(_QUADRANTS) * offset
    return np.full(4, 0.25), _points(x0 + xy[:, 0], xy[:, 1], z)


def _seven_point(radius: float, z: float = 0.0):
    """Seven-point rule of a disc: centre (weight 1/4) and six points.

    The six points lie at radius R sqrt(2/3), azimuths 0, 180, 60, 300, 120
    and 240 degrees (MNE-C's order), weight 1/8 each. The coordinates are
    written with exact zeros so that no -0.000 or 1e-19 leaks into the file.
    """
    r = radius * np.sqrt(2.0 / 3.0)
    h = r * (np.sqrt(3.0) / 2.0)
    x = np.array([0.0, r, -r, 0.5 * r, 0.5 * r, -0.5 * r, -0.5 * r])
    y = np.array([0.0, 0.0, 0.0, h, -h, h, -h])
    w = np.array([0.25] + [0.125] * 6)
    return w, _points(x, y, z)


def _two_windings(loop: Rule, gap: float):
    """The same loop rule wound twice, the second turn ``gap`` higher."""
    w, rr = loop()
    return np.concatenate([w, w]) / 2.0, np.vstack([rr, rr + [0.0, 0.0, gap]])


# ---------------------------------------------------------------------------
# Sensor layouts built from loop rules
# ---------------------------------------------------------------------------

def _axial(loop: Rule, baseline: float):
    """First-order axial gradiometer: loop at z = 0, opposite loop at z = baseline."""
    w, rr = loop()
    return np.concatenate([w, -w]), np.vstack([rr, rr + [0.0, 0.0, baseline]])


def _side_by_side(loop: Callable[[float], tuple], baseline: float):
    """Two coplanar loops at x = +-baseline/2, the one at -x subtracted.

    ``loop(x0)`` returns the loop rule centred at x = x0 (off-diagonal
    reference gradiometers).
    """
    w_pos, rr_pos = loop(baseline / 2.0)
    w_neg, rr_neg = loop(-baseline / 2.0)
    return np.concatenate([w_pos, -w_neg]), np.vstack([rr_pos, rr_neg])


def _planar(half_xy, z: float):
    """Planar gradiometer from the points of its +x half, (n, 2) in metres.

    The -x half mirrors x. Weights are +-1 / (n b'), b' the distance between
    the centroids of the two halves, so the output is a gradient in T/m.
    """
    half_xy = np.asarray(half_xy, float)
    n = half_xy.shape[0]
    base = 2.0 * half_xy[:, 0].mean()
    w = np.full(n, 1.0 / (n * base))
    other = half_xy * [-1.0, 1.0]
    xy = np.vstack([half_xy, other])
    return np.concatenate([w, -w]), _points(xy[:, 0], xy[:, 1], z)


def _planar_columns(columns: tuple[float, float], row: float, z: float):
    """Accurate planar rule: per half, outer and inner column at y = +-row."""
    inner, outer = columns
    half = [[outer, row], [inner, row], [inner, -row], [outer, -row]]
    return _planar(half, z)


def _opm_line(length: float, n: int = 6):
    """Midpoints of n equal pieces of a line of ``length`` along x."""
    x = ((np.arange(n) + 0.5) / n - 0.5) * length
    return np.full(n, 1.0 / n), _points(x, 0.0, 0.0)


def _opm_prism(length: float, side: float, n: int = 6):
    """n positions along x times the 4-point rule of the (y, z) cross-section."""
    _, line = _opm_line(length, n)
    yz = np.array(_QUADRANTS) * (side / 4.0)
    x = np.repeat(line[:, 0], 4)
    y = np.tile(yz[:, 0], n)
    z = np.tile(yz[:, 1], n)
    return np.full(4 * n, 1.0 / (4 * n)), _points(x, y, z)


def _cube_corners(side: float):
    """Centre plus the eight corners of a cube at +-side/4, x varying fastest."""
    s = side / 4.0
    signs = np.array([[sx, sy, sz] for sz in (-1.0, 1.0) for sy in (-1.0, 1.0)
                      for sx in (-1.0, 1.0)])
    rr = np.vstack([np.zeros((1, 3)), signs * s])
    return np.full(9, 1.0 / 9.0), rr


# ---------------------------------------------------------------------------
# The sensors
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Sensor:
    """One coil id: its display geometry and one rule per accuracy 0, 1, 2."""

    coil_id: int
    coil_class: int
    name: str
    size: float
    baseline: float
    rules: tuple[Rule, Rule, Rule]


def _vectorview_planar(coil_id: int, name: str, point_z: float) -> _Sensor:
    base = 16.8e-3
    return _Sensor(coil_id, 3, name, 26.39e-3, base, (
        partial(_planar, [[base / 2.0, 0.0]], point_z),
        partial(_planar, [[base / 2.0, _VV_PLANAR_ROW], [base / 2.0, -_VV_PLANAR_ROW]],
                _Z_VECTORVIEW),
        partial(_planar_columns, _VV_PLANAR_COLUMNS, _VV_PLANAR_ROW, _Z_VECTORVIEW),
    ))


def _vectorview_magnetometer(coil_id: int, name: str, side: float) -> _Sensor:
    return _Sensor(coil_id, 1, name, side, 0.0, (
        _point,
        partial(_square_grid, side, 2, _Z_VECTORVIEW),
        partial(_square_grid, side, 4, _Z_VECTORVIEW),
    ))


def _circular_magnetometer(coil_id: int, name: str, diameter: float) -> _Sensor:
    return _Sensor(coil_id, 1, name, diameter, 0.0, (
        _point,
        partial(_four_point, diameter / 4.0),
        partial(_seven_point, diameter / 2.0),
    ))


def _reference_magnetometer(coil_id: int, name: str, size: float) -> _Sensor:
    # Far from the head the 4-point rule is already accurate enough.
    four = partial(_four_point, size / 4.0)
    return _Sensor(coil_id, 1, name, size, 0.0, (_point, four, four))


def _axial_gradiometer(coil_id: int, name: str, diameter: float,
                       baseline: float) -> _Sensor:
    loops = (_point, partial(_four_point, diameter / 4.0),
             partial(_seven_point, diameter / 2.0))
    return _Sensor(coil_id, 2, name, diameter, baseline,
                   tuple(partial(_axial, loop, baseline) for loop in loops))


def _reference_gradiometer(coil_id: int, name: str, size: float,
                           baseline: float) -> _Sensor:
    four = partial(_axial, partial(_four_point, size / 4.0), baseline)
    return _Sensor(coil_id, 2, name, size, baseline,
                   (partial(_axial, _point, baseline), four, four))


def _offdiagonal_gradiometer(coil_id: int, name: str, size: float, baseline: float,
                             offset: float) -> _Sensor:
    def point_at(x0):
        return np.ones(1), _points([x0], 0.0, 0.0)

    four = partial(_side_by_side, lambda x0: _four_point(offset, 0.0, x0), baseline)
    return _Sensor(coil_id, 2, name, size, baseline,
                   (partial(_side_by_side, point_at, baseline), four, four))


def _opm(coil_id: int, name: str, size: float) -> _Sensor:
    return _Sensor(coil_id, 1, name, size, 0.0, (
        _point,
        partial(_opm_line, _OPM_CELL_LENGTH),
        partial(_opm_prism, _OPM_CELL_LENGTH, size),
    ))


def _sensors() -> list[_Sensor]:
    """Every built-in sensor, in the order of MNE-C 1.14's coil_def.dat."""
    babysquid_base = 50.0e-3
    compumedics_loop = partial(_two_windings, partial(_four_point, 16.6e-3 / 4.0),
                               _COMPUMEDICS_WINDING_GAP)
    compumedics = partial(_axial, compumedics_loop, 47.0e-3)
    kernel = partial(_cube_corners, 2.0e-3)
    n122_base = 16.2e-3
    return [
        _Sensor(2, 3, "Neuromag-122 planar gradiometer", 27.89e-3, n122_base, (
            partial(_planar, [[n122_base / 2.0, 0.0]], 0.0),
            partial(_planar, [[n122_base / 2.0, 0.0]], 0.0),
            partial(_planar_columns, _N122_PLANAR_COLUMNS, _N122_PLANAR_ROW, 0.0),
        )),
        _Sensor(2000, 1, "Point magnetometer", 0.0, 0.0, (_point, _point, _point)),
        _vectorview_planar(3012, "Vectorview planar gradiometer T1", _Z_VECTORVIEW),
        _vectorview_planar(3013, "Vectorview planar gradiometer T2", _Z_VECTORVIEW),
        _vectorview_planar(3014, "Vectorview planar gradiometer T3", 0.0),
        _vectorview_planar(3015, "Vectorview planar gradiometer T4 (MEG-MRI)", 0.0),
        _vectorview_magnetometer(3022, "Vectorview magnetometer T1", 25.8e-3),
        _vectorview_magnetometer(3023, "Vectorview magnetometer T2", 25.8e-3),
        _vectorview_magnetometer(3024, "Vectorview magnetometer T3", 21.0e-3),
        _vectorview_magnetometer(3025, "Vectorview magnetometer T4 (MEG-MRI)", 28.0e-3),
        _circular_magnetometer(4001, "Magnes WH2500 magnetometer", 23.0e-3),
        _axial_gradiometer(4002, "Magnes WH3600 gradiometer", 18.0e-3, 50.0e-3),
        _reference_magnetometer(4003, "Magnes reference magnetometer", 30.0e-3),
        _reference_gradiometer(4004, "Magnes reference gradiometer (diag)",
                               80.0e-3, 135.0e-3),
        _offdiagonal_gradiometer(4005, "Magnes reference gradiometer (offdiag)",
                                 80.0e-3, 135.0e-3, 80.0e-3 / 4.0),
        _axial_gradiometer(5001, "CTF axial gradiometer", 18.0e-3, 50.0e-3),
        _reference_magnetometer(5002, "CTF reference magnetometer", 16.0e-3),
        _reference_gradiometer(5003, "CTF reference gradiometer (diag)",
                               34.4e-3, 78.6e-3),
        _offdiagonal_gradiometer(5004, "CTF reference gradiometer (offdiag)",
                                 34.4e-3, 78.6e-3, _CTF_OFFDIAG_OFFSET),
        _axial_gradiometer(6001, "MIT KIT system gradiometer", 15.5e-3, 50.0e-3),
        _circular_magnetometer(6002, "MIT KIT system reference magnetometer", 15.5e-3),
        # BabySQUID: the loops are small (6 mm), so "normal" is the point rule
        # and only "accurate" spreads them out.
        _Sensor(7001, 2, "BabySQUID system gradiometer", 6.0e-3, babysquid_base, (
            partial(_axial, _point, babysquid_base),
            partial(_axial, _point, babysquid_base),
            partial(_axial, partial(_four_point, 6.0e-3 / 4.0), babysquid_base),
        )),
        _circular_magnetometer(7002, "BabyMEG system magnetometer", 10.0e-3),
        _circular_magnetometer(7003, "BabyMEG system compensation magnetometer", 20.0e-3),
        _circular_magnetometer(7004, "BabyMEG system reference magnetometer", 20.0e-3),
        _axial_gradiometer(9001, "KRISS system gradiometer", 20.0e-3, 50.0e-3),
        _axial_gradiometer(7501, "Artemis system gradiometer", 14.86e-3, 57.4e-3),
        _reference_magnetometer(7502, "Artemis system reference magnetometer", 14.85e-3),
        _reference_gradiometer(7503, "Artemis system reference gradiometer",
                               14.86e-3, 30.0e-3),
        _axial_gradiometer(9101, "Compumedics adult gradiometer", 20.5e-3, 50.0e-3),
        _Sensor(9102, 2, "Compumedics pediatric gradiometer", 16.6e-3, 47.0e-3, (
            partial(_axial, _point, 47.0e-3), compumedics, compumedics,
        )),
        _opm(8001, "QSpin OPM sensor Gen1", 0.7e-3),
        _opm(8002, "QSpin OPM sensor Gen2", 0.7e-3),
        _opm(8101, "FieldLine OPM sensor Gen1", 2.0e-3),
        # Kernel: a 9-point cube rule serves both non-point accuracies.
        _Sensor(8201, 1, "Kernel OPM sensor Gen1", 2.0e-3, 0.0, (_point, kernel, kernel)),
    ]


def _describe(name: str, size: float, baseline: float) -> str:
    """MNE-C's description: the name, then size and baseline in mm if non-zero."""
    text = name
    if size > 0:
        text += " size = %-6.2f mm" % (size * 1e3)
    if baseline > 0:
        text += " base = %-6.2f mm" % (baseline * 1e3)
    return text


def builtin_coil_defs() -> list[CoilDef]:
    """Build the built-in coil definitions, as MNE-C's ``mne_list_coil_def`` did.

    Returns
    -------
    defs : list of CoilDef
        105 definitions: every coil id at accuracies 0, 1 and 2, in the file
        order of MNE-Python 1.13's ``coil_def.dat``. Points in metres,
        float64; every direction is +z.
    """
    defs = []
    for sensor in _sensors():
        description = _describe(sensor.name, sensor.size, sensor.baseline)
        for accuracy, rule in enumerate(sensor.rules):
            weights, points = rule()
            # "+ 0.0" turns any -0.0 into 0.0, which C would print as -0.000.
            points = points + 0.0
            directions = np.zeros_like(points)
            directions[:, 2] = 1.0
            defs.append(CoilDef(
                coil_class=sensor.coil_class, coil_id=sensor.coil_id,
                accuracy=accuracy, size=sensor.size, baseline=sensor.baseline,
                description=description, weights=weights, points=points,
                directions=directions,
            ))
    return defs


def format_coil_def(coil: CoilDef) -> str:
    """Print one definition in MNE-C's formats (header plus point lines).

    Parameters
    ----------
    coil : CoilDef
        The definition.

    Returns
    -------
    text : str
        ``1 + n_points`` newline-terminated lines.
    """
    # MNE-C held definitions in C floats and printed those. Rounding to
    # float32 first gives the same last digit where the float64 value sits
    # on a rounding tie (7502: 14.85 mm / 4 = 3.7125 mm prints as 3.712).
    size, baseline = np.float32([coil.size, coil.baseline]).tolist()
    table = np.column_stack([coil.weights, coil.points, coil.directions])
    table = table.astype(np.float32).astype(np.float64)
    lines = ['%d   %-7d %d %3d %10.3e %10.3e\t"%s"' % (
        coil.coil_class, coil.coil_id, coil.accuracy, len(coil.weights),
        size, baseline, coil.description)]
    lines.extend("%8.4f %10.3e %10.3e %10.3e %6.3f %6.3f %6.3f" % tuple(row)
                 for row in table.tolist())
    return "\n".join(lines) + "\n"


def format_coil_defs(defs: list[CoilDef], program_line: str) -> str:
    """Produce the text of a coil definition file.

    Parameters
    ----------
    defs : list of CoilDef
        Definitions, written in the given order.
    program_line : str
        Names the producing program and version in the header's
        "Produced with:" section (see :func:`default_program_line`).

    Returns
    -------
    text : str
        The comment header followed by every definition in MNE-C's formats
        (SPEC section 10.2).
    """
    return _FILE_HEADER.format(program_line=program_line) + "".join(
        format_coil_def(coil) for coil in defs)


def write_coil_def(fname=None, *, coil_defs_file=None, coil_id: int | None = None) -> str:
    """The coil definition file (MNE-C's mne_list_coil_def), written to ``fname`` if given.

    Parameters
    ----------
    fname : str or path-like, optional
        Write ``coil_def.dat`` here (atomically); checked before any work.
    coil_defs_file : str or path-like, optional
        Validate and list the definitions of this file instead of the
        built-in ones (the classic table plus later types; SPEC section 10).
    coil_id : int, optional
        Only the definitions of this coil type.

    Returns
    -------
    str
        The file's text: a program line, then each coil's header line and
        its integration points (weight, position m, direction).

    Raises
    ------
    InputError
        An unreadable or invalid ``coil_defs_file``, or no definition of
        ``coil_id``.
    """
    from .atomic import check_output
    from .errors import InputError
    from .io.coil_def import read_coil_defs, write_coil_defs

    if fname is not None:
        check_output(fname, "--out", [coil_defs_file])
    defs = read_coil_defs(coil_defs_file) if coil_defs_file else builtin_coil_defs()
    if coil_id is not None:
        defs = [coil for coil in defs if coil.coil_id == coil_id]
        if not defs:
            source = coil_defs_file or "the built-in table"
            raise InputError(f"No coil definitions with id {coil_id} in {source}.")
    text = format_coil_defs(defs, default_program_line())
    if fname is not None:
        write_coil_defs(fname, text)
        logger.info("Wrote %d coil definitions to %s", len(defs), fname)
    return text
