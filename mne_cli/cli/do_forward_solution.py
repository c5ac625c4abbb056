"""mne_do_forward_solution: the MNE-C convenience script for forward solutions (SPEC 12).

The job and its search rules are :func:`mne_cli.forward.search.do_forward_solution`;
this module only parses.
"""

import click

from ..forward.search import DEFAULT_SPACING
from .options import MM_DISTANCE, common_options, computation_options, tool_command
from .progress import TerminalProgress
from .runner import command_line


@tool_command("mne_do_forward_solution")
@click.option("--subject", envvar="SUBJECT", metavar="NAME", help="Subject name (default: $SUBJECT).")
@click.option("--meas", "meas_file", type=click.Path(dir_okay=False), required=True,
              help="Measurement file: MEG/EEG sensors and the device->head transform.")
@click.option("--spacing", default=DEFAULT_SPACING, show_default=True, metavar="SPACING",
              help="Source space <subject>-<spacing>-src.fif to use: mm, ico-<k> or oct-<k>.")
@click.option("--src", "src_file", metavar="FILE", help="Source-space file (overrides --spacing); looked up "
                                        "in the current directory, then bem/.")
@click.option("--bem", metavar="NAME|FILE", help="BEM: <name>, <name>-bem.fif or <name>-bem-sol.fif, looked up in "
                            "the current directory, then bem/ (default: the newest in bem/).")
@click.option("--mri", "mri_file", metavar="FILE", help="FIF file with the head<->MRI transform, looked up as "
                                        "given, next to --meas, then in mri/T1-neuromag/sets.")
@click.option("--trans", "trans_file", metavar="FILE",
              help="head->MRI transform: a text file with the 4x4 matrix (mm), or a "
                   "-trans.fif file.")
@click.option("--fwd", "fwd_file", metavar="FILE", help="Output file name (default <meas stem>-<meg|eeg|meg-"
                                        "eeg>-<spacing>-fwd.fif).")
@click.option("--destdir", type=click.Path(file_okay=False), metavar="DIR",
              help="Directory for the output (default: that of --meas); made if missing.")
@click.option("--mindist", type=MM_DISTANCE, default="0", show_default=True,
              help="Drop sources closer than this to the inner skull, mm.")
@click.option("--megonly", is_flag=True, help="MEG only (no EEG).")
@click.option("--eegonly", is_flag=True, help="EEG only (no MEG).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@computation_options
@common_options
def main(subject, meas_file, spacing, src_file, bem, mri_file, trans_file, fwd_file, destdir,
         mindist, megonly, eegonly, fixed, grad, accurate, all_, mricoord, allow_inside,
         overwrite):
    """Compute a forward solution with MNE-C's file naming (convenience script).

    Only --meas is required when the subject's files follow the standard
    layout: the source space is <subject>-<spacing>-src.fif (current
    directory, then $SUBJECTS_DIR/<subject>/bem), the BEM is the newest in
    bem/, and the transform is <meas stem>-trans.fif, the newest -trans.fif
    next to the measurement or the newest mri/T1-neuromag/sets/COR-* file.
    The output goes next to the measurement (or to --destdir) as
    <meas stem>-<meg|eeg|meg-eeg>-<spacing>-fwd.fif; an existing output is
    kept unless --overwrite is given.

    \b
    Example:
      export SUBJECTS_DIR=/data/subjects SUBJECT=sample
      mne_do_forward_solution --mindist 5 --spacing oct-6 --bem sample-5120 \\
          --meas sample_audvis_raw.fif --megonly
    """
    from ..forward.search import do_forward_solution

    with TerminalProgress() as progress:
        do_forward_solution(meas_file, subject, spacing=spacing, src=src_file, bem=bem,
                            mri=mri_file, trans=trans_file, fname=fwd_file, destdir=destdir,
                            mindist=mindist, meg_only=megonly, eeg_only=eegonly, fixed=fixed,
                            grad=grad, accurate=accurate, all_sources=all_, mricoord=mricoord,
                            allow_inside=allow_inside, overwrite=overwrite, progress=progress,
                            command_line=command_line(click.get_current_context()))
