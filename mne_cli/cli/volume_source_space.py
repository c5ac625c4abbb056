"""volume_source_space (mne_volume_source_space): grid or discrete source spaces (SPEC section 6)."""

import logging

import click

from .options import (
    MM_DISTANCE,
    MM_EXCLUDE,
    MM_GRID,
    MM_RADIUS,
    MM_TRIPLE,
    NeededOption,
    common_options,
    tool_command,
)
from .runner import command_line

logger = logging.getLogger(__name__)


@tool_command("volume_source_space")
@click.option("--surf", type=click.Path(dir_okay=False), help="FreeSurfer surface bounding the grid.")
@click.option("--bem", type=click.Path(dir_okay=False), help="BEM file whose inner skull bounds the grid.")
@click.option("--origin", type=MM_TRIPLE, help="Sphere centre x:y:z in mm, MRI frame (no --surf/--bem).")
@click.option("--rad", type=MM_RADIUS, default="90", show_default=True, help="Sphere radius in mm.")
@click.option("--grid", type=MM_GRID, default="5", show_default=True, help="Grid spacing in mm.")
@click.option("--mindist", type=MM_DISTANCE, default="5", show_default=True,
              help="Minimum distance of points from the bounding surface, mm.")
@click.option("--exclude", type=MM_EXCLUDE, default="0", show_default=True,
              help="Exclude points closer than this to the centre of mass, mm.")
@click.option("--mri", type=click.Path(dir_okay=False), help="MGH/MGZ volume: add an interpolator to its voxels.")
@click.option("--pos", type=click.Path(dir_okay=False), help="Text file of source points (discrete space).")
@click.option("--head", is_flag=True, help="--pos coordinates are in the head frame.")
@click.option("--meters", is_flag=True, help="--pos coordinates are in metres.")
@click.option("--src", "src_file", type=click.Path(dir_okay=False), cls=NeededOption,
              help="Output -src.fif file.")
@click.option("--all", "all_", is_flag=True, help="Write every grid point with in-use flags.")
@common_options
def main(surf, bem, origin, rad, grid, mindist, exclude, mri, pos, head, meters, src_file, all_):
    """Create a volume (grid) or discrete source space.

    The grid is bounded by --surf, by the inner skull of --bem, or else by a
    sphere (--origin, --rad). Every grid point is written with its in-use
    flag (as with --all), which is what MNE-Python needs to read a volume
    space. With --pos the listed points form a discrete source space and the
    grid options are ignored.
    """
    from ..atomic import check_output
    from ..errors import InputError
    from ..fiff.constants import Frame
    from ..io.source_space import write_source_spaces
    from ..source_space.volume import (
        make_discrete_source_space,
        make_volume_source_space,
        read_source_positions,
    )

    ctx = click.get_current_context()
    if src_file is None:
        raise click.UsageError("--src is required: name the output -src.fif file")
    check_output(src_file, "--src", [surf, bem, mri, pos])
    if pos is not None:
        logger.info("Discrete source space from %s (%s, %s frame); grid options are ignored",
                    pos, "m" if meters else "mm", "head" if head else "MRI")
        rr, nn = read_source_positions(pos, meters=meters)
        space = make_discrete_source_space(rr, nn, Frame.HEAD if head else Frame.MRI)
    else:
        if surf is not None and bem is not None:
            raise click.UsageError("--surf and --bem both give the bounding surface; use one")
        if grid <= 0:
            raise click.UsageError("--grid must be a positive spacing in mm")
        if head or meters:
            logger.warning("--head and --meters apply to --pos only; ignored")
        boundary, tris, sphere = _boundary(surf, bem, origin, rad)
        header = None
        if mri is not None:
            from ..io.mri import read_mri_header
            header = read_mri_header(mri)
        space = make_volume_source_space(boundary, tris, grid, mindist, exclude,
                                         sphere=sphere, mri_header=header)
        if space.nuse == 0:
            bound = surf or bem or "the sphere (--origin, --rad)"
            raise InputError(f"{bound}: no grid point lies inside the bounding surface and at "
                             "least --mindist from it; check that the surface is in mm, wound "
                             "outward and closed, and the --grid and --mindist values.")
    write_source_spaces(src_file, [space], command_line(ctx))
    logger.info("Wrote %s (%d points, %d in use)", src_file, len(space.rr), space.nuse)


def _boundary(surf, bem, origin, rad):
    """(vertices m, triangles, None) of --surf / --bem, or (None, None, sphere)."""
    import numpy as np

    from ..bem.model import refuse_self_intersection
    from ..errors import InputError
    from ..fiff.constants import BemSurfId, Frame
    from ..units import MM_PER_M

    if surf is not None:
        from ..io.surface import read_freesurfer_surface
        rr, tris = read_freesurfer_surface(surf)
        logger.info("Bounding surface %s (%d vertices)", surf, len(rr))
        refuse_self_intersection(rr, tris, f"The bounding surface {surf}")
        return rr, tris, None
    if bem is not None:
        from ..io.bem import read_bem_surfaces
        inner = [s for s in read_bem_surfaces(bem) if s.id == BemSurfId.BRAIN]
        if not inner:
            raise InputError(f"{bem}: BEM model does not have the inner skull triangulation "
                             "(surface id 1)")
        if inner[0].coord_frame != Frame.MRI:
            raise InputError(f"{bem}: the inner skull is in coordinate frame "
                             f"{inner[0].coord_frame}, not MRI (5)")
        logger.info("Inner skull of %s (%d vertices)", bem, len(inner[0].rr))
        refuse_self_intersection(inner[0].rr, inner[0].tris, f"The inner skull of {bem}")
        return inner[0].rr, inner[0].tris, None
    if rad <= 0:
        raise click.UsageError("--rad must be a positive radius in mm")
    centre = np.zeros(3) if origin is None else origin
    logger.info("Sphere: origin (%.1f %.1f %.1f) mm, radius %.1f mm", *(centre * MM_PER_M), rad * MM_PER_M)
    return None, None, (centre, rad)
