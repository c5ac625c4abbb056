"""prepare_bem_model (mne_prepare_bem_model): BEM solution matrix (SPEC section 8)."""

import click

from ..errors import NotImplementedYetError
from .options import common_options, tool_command


@tool_command("prepare_bem_model")
@click.option("--bem", "bem_file", type=click.Path(dir_okay=False), required=True,
              help="BEM geometry file (from surf2bem).")
@click.option("--sol", "sol_file", type=click.Path(dir_okay=False),
              help="Output file (default: <bem name>-bem-sol.fif).")
@click.option("--method", type=click.Choice(["linear", "constant"]), default="linear",
              show_default=True, help="Linear or constant collocation.")
@common_options
def main(**options):
    """Compute the BEM solution for a 1- or 3-layer BEM geometry."""
    raise NotImplementedYetError("the BEM solution is not implemented yet")
