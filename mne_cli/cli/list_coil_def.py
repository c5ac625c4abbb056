"""``list_coil_def`` / ``mne_list_coil_def``: write the MEG coil definition file."""

from __future__ import annotations

import click

from .options import common_options, tool_command


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
    from ..coil_defs import write_coil_def

    text = write_coil_def(out_path, coil_defs_file=in_path, coil_id=coil_id)
    if out_path is None:
        click.echo(text, nl=False)
