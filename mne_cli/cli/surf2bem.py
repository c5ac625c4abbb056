"""surf2bem (mne_surf2bem): triangulated surfaces -> BEM geometry file (SPEC section 7).

The per-surface options (--id, --sigma, --shift, --swap, --meters, --ico)
apply to the --surf/--tri named before them; their order is taken from the
raw command line the runner keeps.
"""

import click

from ..errors import NotImplementedYetError
from .options import common_options, tool_command


@tool_command("surf2bem")
@click.option("--surf", multiple=True, type=click.Path(dir_okay=False),
              help="Start a surface read from a FreeSurfer binary file.")
@click.option("--tri", multiple=True, type=click.Path(dir_okay=False),
              help="Start a surface read from an ASCII .tri file.")
@click.option("--id", "ids", multiple=True, type=int,
              help="Surface id: 1 inner skull, 3 outer skull, 4 scalp.")
@click.option("--sigma", multiple=True, type=float, help="Conductivity inside the surface, S/m.")
@click.option("--shift", multiple=True, type=float,
              help="Move vertices outward along their normals by this many mm.")
@click.option("--swap", multiple=True, is_flag=True, flag_value=True,
              help="Swap the vertex order of every triangle (.tri only).")
@click.option("--meters", multiple=True, is_flag=True, flag_value=True,
              help=".tri coordinates are in metres.")
@click.option("--ico", multiple=True, type=int, help="Downsample an icosahedral mesh to this grade.")
@click.option("--fif", type=click.Path(dir_okay=False), help="Output -bem.fif file.")
@click.option("--check", is_flag=True, help="Check completeness, nesting and size.")
@click.option("--checkmore", is_flag=True, help="--check plus inter-surface distances.")
@click.option("--coordf", type=int, default=5, show_default=True,
              help="Coordinate frame recorded for .tri surfaces.")
@click.option("--force", is_flag=True, help="Accept surfaces with topological defects.")
@common_options
def main(**options):
    """Convert FreeSurfer or ASCII surfaces into a BEM geometry file."""
    raise NotImplementedYetError("BEM surface conversion is not implemented yet")
