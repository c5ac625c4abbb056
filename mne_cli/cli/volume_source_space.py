"""volume_source_space (mne_volume_source_space): grid or discrete source spaces (SPEC section 6).

The job is :func:`mne_cli.source_space.setup.setup_volume_source_space`; this
module only parses.
"""

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
    from ..source_space.setup import setup_volume_source_space

    if src_file is None:
        raise click.UsageError("--src is required: name the output -src.fif file")
    setup_volume_source_space(surface=surf, bem=bem, origin=origin, radius=rad, grid=grid,
                              mindist=mindist, exclude=exclude, mri=mri, pos=pos,
                              pos_frame="head" if head else "mri", pos_in_metres=meters,
                              fname=src_file,
                              command_line=command_line(click.get_current_context()))
