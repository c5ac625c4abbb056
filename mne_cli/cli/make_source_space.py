"""make_source_space (mne_make_source_space): cortical source spaces (SPEC section 5).

The job is :func:`mne_cli.source_space.setup.setup_source_space`; this module
only parses (the last of --spacing/--ico/--oct wins).
"""

import click

from .options import MM_GRID, MM_LIMIT, common_options, spacing_selection, tool_command
from .progress import TerminalProgress
from .runner import command_line


@tool_command("make_source_space")
@click.option("--subject", envvar="SUBJECT", metavar="NAME", help="Subject name (default: $SUBJECT).")
@click.option("--surf", "surfaces", default="lh.white:rh.white", show_default=True,
              metavar="FILE[:FILE]",
              help="Colon-separated FreeSurfer surfaces, one source space each; names that "
                   "are not files are looked up in $SUBJECTS_DIR/<subject>/surf.")
@click.option("--spacing", type=MM_GRID, help="Source spacing in mm (graph-distance decimation; default 7).")
@click.option("--ico", type=int, metavar="GRADE", help="Icosahedron grade k > 0, or octahedron grade -k for k < 0.")
@click.option("--oct", "oct_", type=int, metavar="GRADE", help="Octahedron grade (same as --ico -k).")
@click.option("--all", "all_", is_flag=True,
              help="Write the complete surfaces with in-use flags (always done: MNE-Python "
                   "reads only that form).")
@click.option("--morph", metavar="SUBJECT", help="Map the source space onto this subject through sphere.reg.")
@click.option("--src", "src_file", type=click.Path(dir_okay=False),
              help="Output -src.fif file (default $SUBJECTS_DIR/<subject>/bem/"
                   "<subject>-<spacing>-src.fif).")
@click.option("--cps", is_flag=True, help="Add cortical patch statistics (always done).")
@click.option("--dist", type=MM_LIMIT,
              help="Also compute source distances up to this limit (mm); 'all' for every "
                   "pair (MNE-Python's add_dist=True).")
@common_options
def main(subject, surfaces, spacing, ico, oct_, all_, morph, src_file, cps, dist):
    """Create a cortical source space from FreeSurfer surfaces.

    Selects source vertices by --spacing, --ico or --oct (the last one given
    wins) and writes them as a -src.fif file that MNE-C and MNE-Python read.
    Patch information (the nearest source of every vertex) is always added;
    --dist adds geodesic distances between sources up to the limit, or
    between all pairs of sources with --dist all.

    \b
    Example:
      make_source_space --subject sample --ico -6 --dist 7 \\
                        --src sample-oct-6-src.fif
    """
    from ..source_space.setup import setup_source_space, standard_source_space_file

    ctx = click.get_current_context()
    spacing = spacing_selection(ctx.meta["raw_args"], spacing, ico, oct_)
    if src_file is None:
        src_file = standard_source_space_file(subject if morph is None else morph, spacing)
    with TerminalProgress() as progress:
        setup_source_space(subject, spacing, surfaces=surfaces.split(":"), morph=morph,
                           dist=dist, fname=src_file, progress=progress,
                           command_line=command_line(ctx))
