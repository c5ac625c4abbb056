"""Options and value types shared by several commands.

* ``common_options``: ``--version``, ``--verbose``, ``--quiet``, ``--jobs`` (all commands)
* ``computation_options``: ``--accurate``, ``--fixed``, ``--all``, ``--mricoord``,
  ``--grad``, ``--allowinside`` (forward_solution, mne_do_forward_solution)
* ``Millimetres``: a length given in mm on the command line, handed to the
  command in metres (all lengths except ``--sigma``); ``MM_SMALL``,
  ``MM_GRID`` and ``MM_RADIUS`` also warn about values that look like metres
* ``MillimetreTriple``: ``x:y:z`` in mm -> a length-3 array in metres
  (``--origin`` of forward_solution and volume_source_space)
* ``spacing_selection``: the last of ``--spacing``/``--ico``/``--oct``
  (make_source_space, mne_setup_source_space)
"""

from __future__ import annotations

import logging

import click
import numpy as np

from .. import __version__
from ..units import MM_PER_M
from .runner import ToolCommand

logger = logging.getLogger(__name__)


def _unit_warning(ctx, param, given: str, meant: str) -> None:
    """Queue "lengths are in mm" for the command to log once logging is set up."""
    if ctx is not None and param is not None:
        ctx.meta.setdefault("unit_warnings", []).append(
            f"{param.opts[0]} {given}: lengths are in mm; did you mean {meant}?")


class Millimetres(click.ParamType):
    """A finite length in millimetres, converted to metres.

    ``sign``: "any", "nonnegative" (a distance) or "positive" (a size); a
    value of the wrong sign is a usage error. ``plausible_from`` (mm): a
    nonzero value smaller than this was probably given in metres; it is used
    as given, with a warning. ``unlimited``: the words ``all`` and ``inf``
    stand for no limit (infinity).
    """

    name = "mm"

    def __init__(self, plausible_from: float = 0.0, sign: str = "any", unlimited: bool = False):
        self.plausible_from = plausible_from
        self.sign = sign
        self.unlimited = unlimited

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        if self.unlimited and str(value).strip().lower() in ("all", "inf"):
            return float("inf")
        try:
            mm = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a length in millimetres", param, ctx)
        if not np.isfinite(mm):
            self.fail(f"{value!r} is not a finite length in millimetres", param, ctx)
        if (self.sign == "positive" and mm <= 0) or (self.sign == "nonnegative" and mm < 0):
            wanted = "greater than 0" if self.sign == "positive" else "0 or more"
            self.fail(f"{value!r}: the length must be {wanted} (mm)", param, ctx)
        if 0 < abs(mm) < self.plausible_from:
            _unit_warning(ctx, param, value, f"{mm * MM_PER_M:g}")
        return mm / MM_PER_M


class MillimetreTriple(click.ParamType):
    """Three colon-separated finite numbers in millimetres -> array (3,) in metres.

    A point farther than ``MAX_ORIGIN_MM`` from the frame's origin is a
    usage error: head and MRI frames have their origin inside the head.
    """

    name = "x:y:z"
    MAX_ORIGIN_MM = 200.0

    def convert(self, value, param, ctx):
        if isinstance(value, np.ndarray):
            return value
        parts = str(value).split(":")
        try:
            if len(parts) != 3:
                raise ValueError
            mm = np.array([float(p) for p in parts])
        except ValueError:
            self.fail(f"{value!r} is not three colon-separated numbers in mm (x:y:z)", param, ctx)
        if not np.isfinite(mm).all():
            self.fail(f"{value!r}: the coordinates must be finite numbers in mm", param, ctx)
        if np.linalg.norm(mm) > self.MAX_ORIGIN_MM:
            self.fail(f"{value!r} is {np.linalg.norm(mm):.0f} mm from the origin of the frame, "
                      f"outside any head (at most {self.MAX_ORIGIN_MM:g} mm); coordinates are "
                      "in mm", param, ctx)
        # A head-sized origin has some coordinate of a millimetre or more.
        if 0 < np.abs(mm).max() < 1:
            _unit_warning(ctx, param, value, ":".join(f"{c * MM_PER_M:g}" for c in mm))
        return mm / MM_PER_M


MM = Millimetres()
MM_TRIPLE = MillimetreTriple()
#: Lengths whose plausible values start at 0.1 mm (distances to surfaces,
#: shifts), 1 mm (grids, spacings, exclusion radii) and 10 mm (head radii);
#: each also refuses values of the wrong sign.
MM_SMALL = Millimetres(plausible_from=0.1)                       # shifts: either sign
MM_DISTANCE = Millimetres(plausible_from=0.1, sign="nonnegative")  # --mindist
MM_GRID = Millimetres(plausible_from=1.0, sign="positive")        # grids, spacings
MM_EXCLUDE = Millimetres(plausible_from=1.0, sign="nonnegative")  # --exclude
MM_LIMIT = Millimetres(plausible_from=1.0, sign="nonnegative", unlimited=True)  # --dist
MM_RADIUS = Millimetres(plausible_from=10.0, sign="positive")     # head radii


class NeededOption(click.Option):
    """An option the command cannot run without, but checks itself.

    The command raises its own usage error when the option is missing (with
    MNE-C's wording); ``--help`` and the man page still show it as required.
    """

    needed = True

    def get_help_extra(self, ctx: click.Context) -> dict:
        return {**super().get_help_extra(ctx), "required": "required"}


def _count_verbosity(step):
    def callback(ctx, param, value):
        if value:
            ctx.meta["verbosity"] = ctx.meta.get("verbosity", 0) + step
    return callback


def _set_jobs(ctx, param, value):
    ctx.meta["jobs"] = value   # applied by ToolCommand.invoke (parallel.limits)
    return value


def common_options(func):
    """``--version``, ``--verbose``, ``--quiet`` and ``--jobs`` for a command."""
    func = click.option("--jobs", "-j", type=click.IntRange(min=1), metavar="N",
                        expose_value=False, callback=_set_jobs,
                        help="Use at most N threads (default: every core this process may "
                             "use, capped by $MNE_CLI_NUM_THREADS or $OMP_NUM_THREADS).")(func)
    func = click.option("--quiet", "-q", is_flag=True, expose_value=False,
                        callback=_count_verbosity(-1),
                        help="Only warnings and errors on stderr.")(func)
    func = click.option("--verbose", "-v", is_flag=True, expose_value=False,
                        callback=_count_verbosity(+1),
                        help="Detailed progress messages on stderr.")(func)
    func = click.version_option(
        __version__, "--version", package_name="mne-cli",
        message="%(prog)s version %(version)s (mne_cli)")(func)
    return func


_ALLOW_INSIDE_HELP = ("Compute even if MEG sensors lie more than 3 mm inside the scalp (20 mm "
                      "inside the sphere model's --eegrad sphere); by default that is an "
                      "error, since it means a wrong transform.")


def computation_options(func):
    """The switches of the forward computation, shared with mne_do_forward_solution."""
    for flag, name, text in reversed((
            ("--accurate", "accurate", "Use the accurate coil integration."),
            ("--fixed", "fixed", "Fixed orientation along the surface normals."),
            ("--all", "all_", "Use every source-space vertex."),
            ("--mricoord", "mricoord", "Compute in MRI coordinates."),
            ("--grad", "grad", "Also output derivatives w.r.t. source positions."),
            ("--allowinside", "allow_inside", _ALLOW_INSIDE_HELP))):
        func = click.option(flag, name, is_flag=True, help=text)(func)
    return func


def tool_command(name: str):
    """Declare a command: ``@tool_command("surf2bem")`` over the function."""
    return click.command(name=name, cls=ToolCommand,
                         context_settings={"help_option_names": ["--help", "-h"],
                                           "max_content_width": 100})


DEFAULT_SPACING_MM = 7


def spacing_selection(raw_args, spacing_m, ico, oct_):
    """The spacing of the last of --spacing/--ico/--oct given, as
    :func:`~mne_cli.source_space.setup.setup_source_space` takes it."""
    last = None
    for arg in raw_args:
        name = arg.split("=", 1)[0]
        if name in ("--spacing", "--ico", "--oct"):
            last = name
    if last == "--ico":
        return f"ico-{ico}"
    if last == "--oct":
        return f"oct-{oct_}"
    if last == "--spacing":
        return spacing_m
    logger.info("No --spacing, --ico or --oct given: using --spacing %d", DEFAULT_SPACING_MM)
    return DEFAULT_SPACING_MM / MM_PER_M
