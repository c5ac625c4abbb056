"""make_source_space (mne_make_source_space): cortical source spaces (SPEC section 5)."""

import logging
import math
from pathlib import Path

import click

from ..errors import InputError
from ..subject import source_space_name, subject_name, subjects_dir
from ..units import MM_PER_M
from .options import MM_GRID, MM_LIMIT, common_options, tool_command
from .progress import TerminalProgress
from .runner import command_line

logger = logging.getLogger(__name__)

DEFAULT_SPACING_MM = 7


def resolve_surfaces(items: str, subject: str | None) -> list[Path]:
    """``--surf`` items: existing paths, else ``$SUBJECTS_DIR/<subject>/surf/<item>``."""
    paths = []
    for item in items.split(":"):
        if not item:
            continue
        path = Path(item)
        if path.exists():
            paths.append(path)
            continue
        why = f"to find the surface {item}"
        candidate = subjects_dir(why) / subject_name(subject, why) / "surf" / item
        if not candidate.exists():
            raise InputError(f"{item}: no such surface (looked for {path} and {candidate})")
        paths.append(candidate)
    if not paths:
        raise click.UsageError("--surf names no surface")
    return paths


def spacing_selection(raw_args, spacing_m, ico, oct_):
    """(spacing in mesh edges, grade): the last of --spacing/--ico/--oct given wins."""
    last = None
    for arg in raw_args:
        name = arg.split("=", 1)[0]
        if name in ("--spacing", "--ico", "--oct"):
            last = name
    if last == "--ico":
        return None, ico
    if last == "--oct":
        if oct_ <= 0:
            raise click.BadParameter("the octahedron grade must be >= 1", param_hint="--oct")
        return None, -oct_
    if last == "--spacing":
        edges = math.ceil(spacing_m * MM_PER_M - 1e-9)
        if edges < 2:
            raise click.BadParameter("the spacing must be at least 2 mm", param_hint="--spacing")
        return edges, None
    logger.info("No --spacing, --ico or --oct given: using --spacing %d", DEFAULT_SPACING_MM)
    return DEFAULT_SPACING_MM, None


def spacing_label(spacing, grade) -> str:
    """The <spacing> part of source-space names: 7, ico-4, oct-6."""
    if grade is not None:
        return f"ico-{grade}" if grade > 0 else f"oct-{-grade}"
    return str(spacing)


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
    from ..atomic import check_output
    from ..io.source_space import write_source_spaces

    ctx = click.get_current_context()
    spacing_edges, grade = spacing_selection(ctx.meta["raw_args"], spacing, ico, oct_)
    if grade == 0:
        raise click.BadParameter("the grade must not be 0", param_hint="--ico")
    paths = resolve_surfaces(surfaces, subject)
    if src_file is None:
        why = "for the default output name (or give --src)"
        owner = morph or subject_name(subject, why)
        src_file = (subjects_dir(why) / owner / "bem"
                    / source_space_name(owner, spacing_label(spacing_edges, grade)))
    check_output(src_file, "--src", paths)
    spaces = build_source_spaces(paths, spacing_edges, grade, subject, morph, dist)
    write_source_spaces(src_file, spaces, command_line(ctx))


def build_source_spaces(paths, spacing_edges, grade, subject, morph, dist):
    """One source space per surface, morphed if asked, with patch information.

    ``spacing_edges``/``grade`` as returned by :func:`spacing_selection`;
    ``dist`` is the distance limit in metres (None for no distances).
    mne_setup_source_space calls this too.
    """
    from ..source_space.surface import (
        add_patch_info,
        make_surface_source_space,
        morph_source_space,
    )

    spaces = []
    with TerminalProgress() as progress:
        for path in paths:
            hemi = path.name.split(".")[0]
            space = make_surface_source_space(
                path, spacing=spacing_edges, grade=grade,
                sphere_path=path.parent / f"{hemi}.sphere", subject=subject)
            if morph:
                why = "for --morph"
                root = subjects_dir(why)
                source_subject = subject_name(subject, why)
                space = morph_source_space(
                    space, root / source_subject / "surf" / f"{hemi}.sphere.reg",
                    root / morph / "surf" / f"{hemi}.sphere.reg",
                    root / morph / "surf" / path.name, morph)
            add_patch_info(space, dist, progress)
            spaces.append(space)
    return spaces
