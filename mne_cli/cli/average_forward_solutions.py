"""average_forward_solutions (mne_average_forward_solutions): weighted averages (SPEC section 11)."""

import click

from ..errors import NotImplementedYetError
from .options import common_options, tool_command


@tool_command("average_forward_solutions")
@click.option("--fwd", "inputs", multiple=True, required=True, metavar="FILE[:WEIGHT]",
              help="Input forward solution with an optional weight (repeatable).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), required=True,
              help="Output forward solution.")
@common_options
def main(**options):
    """Average forward solutions with weights."""
    raise NotImplementedYetError("forward-solution averaging is not implemented yet")
