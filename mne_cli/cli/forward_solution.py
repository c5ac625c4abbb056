"""forward_solution (mne_forward_solution): MEG/EEG forward solutions (SPEC section 9)."""

import click

from ..errors import NotImplementedYetError
from .options import MM, MM_TRIPLE, common_options, tool_command


@tool_command("forward_solution")
@click.option("--src", "src_file", type=click.Path(dir_okay=False), help="Source space file.")
@click.option("--meas", "meas_file", type=click.Path(dir_okay=False),
              help="Measurement file with channels and the device->head transform.")
@click.option("--fwd", "fwd_file", type=click.Path(dir_okay=False), help="Output -fwd.fif file.")
@click.option("--mri", "mri_file", type=click.Path(dir_okay=False), help="FIF file with the head<->MRI transform.")
@click.option("--trans", "trans_file", type=click.Path(dir_okay=False),
              help="Text file with the 4x4 head->MRI transform (translation in mm).")
@click.option("--notrans", is_flag=True, help="Head and MRI frames coincide.")
@click.option("--bem", help="BEM model: name, name-bem.fif or name-bem-sol.fif.")
@click.option("--origin", type=MM_TRIPLE, default="0:0:40", show_default=True,
              help="Sphere-model origin x:y:z in mm.")
@click.option("--eegmodels", type=click.Path(dir_okay=False), help="EEG sphere-model definitions file.")
@click.option("--eegmodel", default="Default", show_default=True, help="EEG sphere model name.")
@click.option("--eegrad", type=MM, default="90", show_default=True, help="EEG sphere-model scalp radius, mm.")
@click.option("--eegscalp", is_flag=True, help="Project electrodes onto the scalp sphere.")
@click.option("--meg", is_flag=True, help="Compute the MEG forward solution.")
@click.option("--eeg", is_flag=True, help="Compute the EEG forward solution.")
@click.option("--accurate", is_flag=True, help="Use the accurate coil integration.")
@click.option("--fixed", is_flag=True, help="Fixed orientation along the surface normals.")
@click.option("--all", "all_", is_flag=True, help="Use every source-space vertex.")
@click.option("--label", "labels", multiple=True, type=click.Path(dir_okay=False),
              help="Restrict to sources in this label (repeatable).")
@click.option("--mindist", type=MM, default="0", show_default=True,
              help="Drop sources closer than this to the inner skull, mm.")
@click.option("--mindistout", type=click.Path(dir_okay=False), help="Write the dropped sources here.")
@click.option("--includeall", is_flag=True, help="Skip the inner-skull filtering.")
@click.option("--mricoord", is_flag=True, help="Compute in MRI coordinates.")
@click.option("--grad", is_flag=True, help="Also output derivatives w.r.t. source positions.")
@common_options
def main(**options):
    """Compute the MEG and/or EEG forward solution."""
    raise NotImplementedYetError("the forward computation is not implemented yet")
