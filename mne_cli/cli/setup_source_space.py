"""mne_setup_source_space: the MNE-C convenience script for cortical source spaces (SPEC 12).

Finds ``lh.<surface>`` and ``rh.<surface>`` of the subject and writes
``$SUBJECTS_DIR/<subject>/bem/<subject>-<spacing>-src.fif`` through the same
core as make_source_space (no subprocess).
"""

import logging
from pathlib import Path

import click

from ..errors import InputError
from ..subject import refuse_overwrite, source_space_name, subject_dir
from .make_source_space import build_source_spaces, spacing_label, spacing_selection
from .options import MM_GRID, common_options, tool_command
from .runner import command_line

logger = logging.getLogger(__name__)


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
    from ..io.source_space import write_source_spaces

    ctx = click.get_current_context()
    spacing_edges, grade = spacing_selection(ctx.meta["raw_args"], spacing, ico, oct_)
    if grade == 0:
        raise click.BadParameter("the grade must not be 0", param_hint="--ico")
    home = subject_dir(subject, "to find the cortical surfaces")
    surf_dir = home / "surf"
    paths = [surf_dir / f"{hemi}.{surface}" for hemi in ("lh", "rh")]
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such surface (check --surface and --subject)")
    if src_file is None:
        owner_dir = subject_dir(morph, "for --morph") if morph else home
        src_file = (owner_dir / "bem"
                    / source_space_name(owner_dir.name, spacing_label(spacing_edges, grade)))
        src_file.parent.mkdir(exist_ok=True)
    refuse_overwrite(Path(src_file), overwrite)
    spaces = build_source_spaces(paths, spacing_edges, grade, home.name, morph, None)
    write_source_spaces(src_file, spaces, command_line(ctx))

