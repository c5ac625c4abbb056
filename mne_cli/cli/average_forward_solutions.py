"""average_forward_solutions (mne_average_forward_solutions): weighted averages (SPEC section 11)."""

import click

from .options import common_options, tool_command
from .runner import command_line


@tool_command("average_forward_solutions")
@click.option("--fwd", "inputs", multiple=True, required=True, metavar="FILE[:WEIGHT]",
              help="Input forward solution with an optional weight (repeatable).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), required=True,
              help="Output forward solution.")
@common_options
def main(inputs, out_file):
    """Average forward solutions with weights.

    Each --fwd is FILE or FILE:WEIGHT (weight 1 by default); the weights are
    divided by their sum. All inputs must have the same channels, sources,
    source orientation and coordinate frame. The output is the first input
    with its gain matrices replaced by the weighted average.
    """
    from ..forward.average import average_forward_solutions, parse_weighted_name

    average_forward_solutions([parse_weighted_name(arg) for arg in inputs], fname=out_file,
                              command_line=command_line(click.get_current_context()))
