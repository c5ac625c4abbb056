"""volume_source_space (mne_volume_source_space): grid or discrete source spaces (SPEC section 6)."""

import click

from ..errors import NotImplementedYetError
from .options import MM, MM_TRIPLE, common_options, tool_command


@tool_command("volume_source_space")
@click.option("--surf", type=click.Path(dir_okay=False), help="FreeSurfer surface bounding the grid.")
@click.option("--bem", type=click.Path(dir_okay=False), help="BEM file whose inner skull bounds the grid.")
@click.option("--origin", type=MM_TRIPLE, help="Sphere centre x:y:z in mm, MRI frame (no --surf/--bem).")
@click.option("--rad", type=MM, default="90", show_default=True, help="Sphere radius in mm.")
@click.option("--grid", type=MM, default="5", show_default=True, help="Grid spacing in mm.")
@click.option("--mindist", type=MM, default="5", show_default=True,
              help="Minimum distance of points from the bounding surface, mm.")
@click.option("--exclude", type=MM, default="0", show_default=True,
              help="Exclude points closer than this to the centre of mass, mm.")
@click.option("--mri", type=click.Path(dir_okay=False), help="MGH/MGZ volume: add an interpolator to its voxels.")
@click.option("--pos", type=click.Path(dir_okay=False), help="Text file of source points (discrete space).")
@click.option("--head", is_flag=True, help="--pos coordinates are in the head frame.")
@click.option("--meters", is_flag=True, help="--pos coordinates are in metres.")
@click.option("--src", "src_file", type=click.Path(dir_okay=False), help="Output -src.fif file.")
@click.option("--all", "all_", is_flag=True, help="Write every grid point with in-use flags.")
@common_options
def main(**options):
    """Create a volume (grid) or discrete source space."""
    raise NotImplementedYetError("volume source-space creation is not implemented yet")
