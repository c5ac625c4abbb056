"""make_source_space (mne_make_source_space): cortical source spaces (SPEC section 5)."""

import click

from ..errors import NotImplementedYetError
from .options import MM, common_options, tool_command


@tool_command("make_source_space")
@click.option("--subject", envvar="SUBJECT", help="Subject name (default: $SUBJECT).")
@click.option("--surf", "surfaces", help="Colon-separated FreeSurfer surfaces, one source space each.")
@click.option("--spacing", type=MM, help="Source spacing in mm (graph-distance decimation; default 7).")
@click.option("--ico", type=int, help="Icosahedron grade k > 0, or octahedron grade -k for k < 0.")
@click.option("--oct", "oct_", type=int, help="Octahedron grade (same as --ico -k).")
@click.option("--all", "all_", is_flag=True, help="Write the complete surfaces with in-use flags.")
@click.option("--morph", help="Map the source space onto this subject through sphere.reg.")
@click.option("--src", "src_file", type=click.Path(dir_okay=False), help="Output -src.fif file.")
@click.option("--cps", is_flag=True, help="Add cortical patch statistics.")
@click.option("--dist", type=MM, help="Also compute source distances up to this limit (mm).")
@common_options
def main(**options):
    """Create a cortical source space from FreeSurfer surfaces.

    Selects source vertices by --spacing, --ico or --oct (the last one given
    wins) and writes them as a -src.fif file that MNE-C and MNE-Python read.
    """
    raise NotImplementedYetError("cortical source-space creation is not implemented yet")
