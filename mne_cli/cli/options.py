"""Options and value types shared by several commands.

* ``common_options``: ``--version``, ``--verbose``, ``--quiet`` (all commands)
* ``computation_options``: ``--accurate``, ``--fixed``, ``--all``, ``--mricoord``,
  ``--grad`` (forward_solution, mne_do_forward_solution)
* ``Millimetres``: a length given in mm on the command line, handed to the
  command in metres (all lengths except ``--sigma``)
* ``MillimetreTriple``: ``x:y:z`` in mm -> a length-3 array in metres
  (``--origin`` of forward_solution and volume_source_space)
"""

from __future__ import annotations

import click
import numpy as np

from .. import __version__
from ..units import MM_PER_M
from .runner import ToolCommand


class Millimetres(click.ParamType):
    """A length in millimetres, converted to metres."""

    name = "mm"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        try:
            return float(value) / MM_PER_M
        except ValueError:
            self.fail(f"{value!r} is not a length in millimetres", param, ctx)


class MillimetreTriple(click.ParamType):
    """Three colon-separated numbers in millimetres -> array (3,) in metres."""

    name = "x:y:z"

    def convert(self, value, param, ctx):
        if isinstance(value, np.ndarray):
            return value
        parts = str(value).split(":")
        try:
            if len(parts) != 3:
                raise ValueError
            return np.array([float(p) for p in parts]) / MM_PER_M
        except ValueError:
            self.fail(f"{value!r} is not three colon-separated numbers in mm (x:y:z)", param, ctx)


MM = Millimetres()
MM_TRIPLE = MillimetreTriple()


def _count_verbosity(step):
    def callback(ctx, param, value):
        if value:
            ctx.meta["verbosity"] = ctx.meta.get("verbosity", 0) + step
    return callback


def common_options(func):
    """``--version``, ``--verbose`` and ``--quiet`` for a command."""
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


def computation_options(func):
    """The switches of the forward computation, shared with mne_do_forward_solution."""
    for flag, name, text in reversed((
            ("--accurate", "accurate", "Use the accurate coil integration."),
            ("--fixed", "fixed", "Fixed orientation along the surface normals."),
            ("--all", "all_", "Use every source-space vertex."),
            ("--mricoord", "mricoord", "Compute in MRI coordinates."),
            ("--grad", "grad", "Also output derivatives w.r.t. source positions."))):
        func = click.option(flag, name, is_flag=True, help=text)(func)
    return func


def tool_command(name: str):
    """Declare a command: ``@tool_command("surf2bem")`` over the function."""
    return click.command(name=name, cls=ToolCommand,
                         context_settings={"help_option_names": ["--help", "-h"],
                                           "max_content_width": 100})
