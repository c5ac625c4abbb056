"""surf2bem (mne_surf2bem): triangulated surfaces -> BEM geometry file (SPEC section 7).

The per-surface options (--id, --sigma, --shift, --swap, --meters, --ico)
apply to the --surf/--tri named before them; their order is taken from the
raw command line the runner keeps.
"""

import logging

import click

from ..units import MM_PER_M
from .options import MM_SMALL, common_options, tool_command

SURFACE_STARTS = {"--surf": False, "--tri": True}   # option -> ASCII?
PER_SURFACE_VALUES = {"--id", "--sigma", "--shift", "--ico"}
PER_SURFACE_FLAGS = {"--swap", "--meters"}
GLOBAL_VALUES = {"--fif", "--coordf"}

logger = logging.getLogger(__name__)


def surface_sources(raw_args: list[str]):
    """The surfaces of a command line with their per-surface options, in order.

    Values have already been validated by click; here they are only
    attached to the surface named before them.
    """
    from ..bem.model import SurfaceSource

    sources: list[SurfaceSource] = []
    args = iter(raw_args)
    for arg in args:
        name, has_value, value = arg.partition("=")
        if name in SURFACE_STARTS:
            path = value if has_value else next(args)
            sources.append(SurfaceSource(path, ascii=SURFACE_STARTS[name]))
        elif name in PER_SURFACE_VALUES or name in PER_SURFACE_FLAGS:
            if not sources:
                raise click.UsageError(f"Specify surface before {name} "
                                       "(use --surf or --tri first)")
            current = sources[-1]
            if name in PER_SURFACE_FLAGS:
                setattr(current, name[2:], True)
                continue
            value = value if has_value else next(args)
            if name == "--id":
                current.id = int(value)
            elif name == "--sigma":
                current.sigma = float(value)
            elif name == "--shift":
                current.shift = float(value) / MM_PER_M
            else:
                current.ico = int(value)
        elif name in GLOBAL_VALUES and not has_value:
            next(args)
    return sources


@tool_command("surf2bem")
@click.option("--surf", multiple=True, type=click.Path(dir_okay=False),
              help="Start a surface read from a FreeSurfer binary file.")
@click.option("--tri", multiple=True, type=click.Path(dir_okay=False),
              help="Start a surface read from an ASCII .tri file.")
@click.option("--id", "ids", multiple=True, type=int, metavar="ID",
              help="Surface id: 1 inner skull, 3 outer skull, 4 scalp.")
@click.option("--sigma", multiple=True, type=float, metavar="S/M", help="Conductivity inside the surface, S/m.")
@click.option("--shift", multiple=True, type=MM_SMALL,
              help="Move vertices outward along their normals by this many mm.")
@click.option("--swap", multiple=True, is_flag=True, flag_value=True,
              help="Swap the vertex order of every triangle (.tri only).")
@click.option("--meters", multiple=True, is_flag=True, flag_value=True,
              help=".tri coordinates are in metres.")
@click.option("--ico", multiple=True, type=int, metavar="GRADE", help="Downsample an icosahedral mesh to this grade.")
@click.option("--fif", type=click.Path(dir_okay=False), help="Output -bem.fif file.")
@click.option("--check", is_flag=True, help="Check size, completeness, self-intersection and nesting.")
@click.option("--checkmore", is_flag=True, help="--check plus inter-surface distances.")
@click.option("--coordf", type=click.IntRange(4, 5), default=5, show_default=True, metavar="FRAME",
              help="FIF coordinate frame number recorded for .tri surfaces: 5 MRI "
                   "(surface RAS), 4 head; a BEM solution needs 5. FreeSurfer surfaces are "
                   "always MRI.")
@click.option("--force", is_flag=True, help="Accept surfaces with topological defects.")
@common_options
def main(fif, check, checkmore, coordf, force, **_per_surface):
    """Convert FreeSurfer or ASCII surfaces into a BEM geometry file.

    Each --surf or --tri starts a surface; the options after it up to the
    next one (--id, --sigma, --shift, --swap, --meters, --ico) describe it.
    Lengths are in mm; the output holds metres.

    \b
    Example (three layers, checked):
      surf2bem --surf outer_skin.surf --id 4 --sigma 0.3 \\
               --surf outer_skull.surf --id 3 --sigma 0.006 \\
               --surf inner_skull.surf --id 1 --sigma 0.3 \\
               --check --fif sample-5120-5120-5120-bem.fif
    """
    from ..bem.model import make_bem_model

    ctx = click.get_current_context()
    sources = surface_sources(ctx.meta["raw_args"])
    if not sources:
        raise click.UsageError("No surfaces specified: give at least one --surf or --tri")
    make_bem_model(sources, tri_frame=coordf, force=force, check=check, check_more=checkmore,
                   fname=fif)
    if fif is None:
        logger.info("No output file given (--fif); nothing written.")
