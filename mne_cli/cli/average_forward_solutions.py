"""average_forward_solutions (mne_average_forward_solutions): weighted averages (SPEC section 11)."""

import logging
import os

import click

from .options import common_options, tool_command
from .runner import command_line

logger = logging.getLogger(__name__)


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
    from ..atomic import check_output
    from ..forward.average import (
        average_forwards,
        normalise_weights,
        parse_weighted_name,
    )
    from ..io.forward import read_forward, write_forward

    ctx = click.get_current_context()
    parsed = [parse_weighted_name(arg) for arg in inputs]
    names = [path for path, _ in parsed]
    out_real = os.path.realpath(out_file)
    for path in names:
        if os.path.realpath(path) == out_real or _same_file(path, out_file):
            raise click.UsageError(f"--out names the input {path} itself; choose another "
                                   "output file")
    check_output(out_file, "--out")
    weights = [w for _, w in parsed]
    forwards = []
    for path, weight in zip(names, normalise_weights(weights, names)):
        forwards.append(read_forward(path))
        logger.info("Read %s (weight %.6g)", path, weight)
    average = average_forwards(forwards, weights, names)
    write_forward(out_file, average, command_line(ctx))


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False

