"""mne_setup_source_space: the MNE-C convenience script for cortical source spaces (SPEC 12).

Uses ``lh.<surface>`` and ``rh.<surface>`` of the subject and writes
``$SUBJECTS_DIR/<subject>/bem/<subject>-<spacing>-src.fif``: the job is
:func:`mne_cli.source_space.setup.setup_source_space`; this module only parses.
"""

import click

from .options import MM_GRID, common_options, spacing_selection, tool_command
from .progress import TerminalProgress
from .runner import command_line


@tool_command("mne_setup_source_space")
@click.option("--subject", envvar="SUBJECT", metavar="NAME", help="Subject name (default: $SUBJECT).")
@click.option("--spacing", type=MM_GRID,
              help="Source spacing in mm (default 7; graph-distance decimation).")
@click.option("--ico", type=int, metavar="GRADE",
              help="Icosahedron grade k > 0 (ico-k), or octahedron grade -k for k < 0 (oct-k).")
@click.option("--oct", "oct_", type=int, metavar="GRADE", help="Octahedron grade (same as --ico -k).")
@click.option("--surface", "--surf", "surface", default="white", show_default=True,
              metavar="NAME",
              help="Surface name: lh.<name> and rh.<name> in $SUBJECTS_DIR/<subject>/surf.")
@click.option("--morph", metavar="SUBJECT", help="Make the source space on --subject, then morph it to this "
                              "subject (written to the morph subject's bem folder).")
@click.option("--src", "src_file", type=click.Path(dir_okay=False),
              help="Output file instead of the standard bem/<subject>-<spacing>-src.fif.")
@click.option("--all", "all_", is_flag=True,
              help="Keep all vertices with in-use flags (always done; accepted for scripts).")
@click.option("--cps", is_flag=True,
              help="Cortical patch statistics (always computed; accepted for scripts).")
@click.option("--overwrite", is_flag=True, help="Replace an existing source-space file.")
@common_options
def main(subject, spacing, ico, oct_, surface, morph, src_file, all_, cps, overwrite):
    """Set up the cortical source space of a subject (MNE-C's convenience script).

    Uses $SUBJECTS_DIR/<subject>/surf/lh.<surface> and rh.<surface> (and
    lh/rh.sphere for --ico) and writes
    $SUBJECTS_DIR/<subject>/bem/<subject>-<spacing>-src.fif, where <spacing>
    is 7 (mm), ico-4 or oct-6. The last of --spacing/--ico/--oct given wins.
    Patch information is always included. An existing file is kept unless
    --overwrite is given.

    \b
    Example:
      export SUBJECTS_DIR=/data/subjects SUBJECT=sample
      mne_setup_source_space --ico -6      # bem/sample-oct-6-src.fif
    """
    from ..source_space.setup import setup_source_space, standard_source_space_file

    ctx = click.get_current_context()
    spacing = spacing_selection(ctx.meta["raw_args"], spacing, ico, oct_)
    if src_file is None:
        why = "for --morph" if morph else "to find the cortical surfaces"
        src_file = standard_source_space_file(morph or subject, spacing, why=why,
                                              make_folder=True)
    with TerminalProgress() as progress:
        setup_source_space(subject, spacing, surface=surface, morph=morph, fname=src_file,
                           overwrite=overwrite, progress=progress,
                           command_line=command_line(ctx))
