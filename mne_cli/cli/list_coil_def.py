"""``list_coil_def`` / ``mne_list_coil_def``: write the MEG coil definition file."""

from __future__ import annotations

import logging

import click

from .options import common_options, tool_command

logger = logging.getLogger(__name__)


@tool_command("list_coil_def")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the coil definitions to this file (default: standard output).")
@click.option("--in", "in_path", type=click.Path(dir_okay=False), default=None,
              help="Read and validate this coil definition file and list its "
                   "definitions instead of the built-in ones.")
@click.option("--type", "coil_id", type=int, default=None, metavar="ID",
              help="List only the definitions of this coil id.")
@common_options
def main(out_path: str | None, in_path: str | None, coil_id: int | None) -> None:
    """Produce (or validate and list) the MEG coil definition file.

    Without --in the built-in definitions are listed; the standard file is
    made with: list_coil_def --out $MNE_ROOT/share/mne/coil_def.dat
    """
    from ..atomic import check_output
    from ..coil_defs import builtin_coil_defs, default_program_line, format_coil_defs
    from ..errors import InputError
    from ..io.coil_def import read_coil_defs, write_coil_defs

    if out_path is not None:
        check_output(out_path, "--out", [in_path])
    defs = read_coil_defs(in_path) if in_path else builtin_coil_defs()
    if coil_id is not None:
        defs = [coil for coil in defs if coil.coil_id == coil_id]
        if not defs:
            source = in_path or "the built-in table"
            raise InputError(f"No coil definitions with id {coil_id} in {source}.")
    text = format_coil_defs(defs, default_program_line())
    if out_path is None:
        click.echo(text, nl=False)
    else:
        write_coil_defs(out_path, text)
        logger.info("Wrote %d coil definitions to %s", len(defs), out_path)
