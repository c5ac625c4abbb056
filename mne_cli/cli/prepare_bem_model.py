"""prepare_bem_model (mne_prepare_bem_model): BEM solution matrix (SPEC section 8)."""

import logging
import os

import click

from .options import common_options, tool_command
from .progress import TerminalProgress
from .runner import command_line

logger = logging.getLogger(__name__)


def default_solution_name(bem_file: str) -> str:
    """``x-bem.fif`` -> ``x-bem-sol.fif`` (strip .fif, -sol and -bem, add -bem-sol.fif).

    A gzipped ``x-bem.fif.gz`` gives ``x-bem-sol.fif.gz``.
    """
    gz = ".gz" if bem_file.endswith(".fif.gz") else ""
    stem = bem_file.removesuffix(gz)
    for suffix in (".fif", "-sol", "-bem"):
        stem = stem.removesuffix(suffix)
    return stem + "-bem-sol.fif" + gz


def bem_file_names(name: str) -> tuple[str, str]:
    """(``x-bem.fif``, ``x-bem-sol.fif``) for a BEM given as x, x-bem.fif or x-bem-sol.fif
    (``.fif.gz`` names keep their ending)."""
    solution = default_solution_name(name)
    gz = ".gz" if solution.endswith(".gz") else ""
    return solution.removesuffix("-sol.fif" + gz) + ".fif" + gz, solution


def bem_file_candidates(name: str) -> list[tuple[str, str]]:
    """The (-bem.fif, -bem-sol.fif) pairs a ``--bem`` name may stand for, in order:
    :func:`bem_file_names`, then, for a bare name, its ``.fif.gz`` pair."""
    pairs = [bem_file_names(name)]
    if not name.endswith((".fif", ".fif.gz")):
        pairs.append(bem_file_names(name + "-bem.fif.gz"))
    return pairs


@tool_command("prepare_bem_model")
@click.option("--bem", "bem_file", type=click.Path(dir_okay=False), required=True,
              help="BEM geometry file (from surf2bem).")
@click.option("--sol", "sol_file", type=click.Path(dir_okay=False),
              help="Output file (default: <bem name>-bem-sol.fif).")
@click.option("--method", type=click.Choice(["linear", "constant"]), default="linear",
              show_default=True, help="Linear or constant collocation.")
@common_options
def main(bem_file, sol_file, method):
    """Compute the BEM solution for a 1- or 3-layer BEM geometry.

    Three layers are used when the file has surfaces with ids 4, 3 and 1
    (scalp, outer skull, inner skull), else the inner skull alone. The
    isolated-skull approach applies when the skull conductivity is at most a
    tenth of the brain's.
    """
    from ..atomic import check_output
    from ..bem.solution import make_bem_solution, refuse_unstorable
    from ..io.bem import read_bem_surfaces, write_bem_solution

    ctx = click.get_current_context()
    sol_file = sol_file or default_solution_name(bem_file)
    if os.path.abspath(sol_file) == os.path.abspath(bem_file):
        raise click.UsageError("--sol names the --bem input itself; choose another output file")
    check_output(sol_file, "--sol")
    surfaces = read_bem_surfaces(bem_file)
    refuse_unstorable(surfaces, method, bem_file)
    with TerminalProgress() as progress:
        solution = make_bem_solution(surfaces, method, source=bem_file, progress=progress)
    if method == "constant":
        logger.warning("Constant-collocation solutions are read by MNE-C and mne_cli, "
                       "not by MNE-Python")
    write_bem_solution(sol_file, solution, command_line(ctx))
    logger.info("Wrote %s", sol_file)
