"""prepare_bem_model (mne_prepare_bem_model): BEM solution matrix (SPEC section 8)."""

import click

from .options import common_options, tool_command
from .progress import TerminalProgress
from .runner import command_line


@tool_command("prepare_bem_model")
@click.option("--bem", "bem_file", type=click.Path(dir_okay=False), required=True,
              help="BEM geometry file (from surf2bem).")
@click.option("--sol", "sol_file", type=click.Path(dir_okay=False),
              help="Output file (default: <bem name>-bem-sol.fif).")
@click.option("--method", type=click.Choice(["linear", "constant", "symmetric"]),
              default="linear", show_default=True,
              help="Linear or constant collocation, or the symmetric BEM (OpenMEEG's "
                   "formulation, stored as MNE-Python stores OpenMEEG's solutions).")
@common_options
def main(bem_file, sol_file, method):
    """Compute the BEM solution for a 1- or 3-layer BEM geometry.

    Three layers are used when the file has surfaces with ids 4, 3 and 1
    (scalp, outer skull, inner skull), else the inner skull alone. The
    isolated-skull approach applies when the skull conductivity is at most a
    tenth of the brain's. --method symmetric solves the symmetric Galerkin
    BEM instead (more accurate EEG for sources near the skull), read by
    MNE-Python with openmeeg.
    """
    from ..bem.solution import make_bem_solution
    from ..io.bem import default_solution_name

    with TerminalProgress() as progress:
        make_bem_solution(bem_file, method, progress=progress,
                          fname=sol_file or default_solution_name(bem_file),
                          command_line=command_line(click.get_current_context()))
