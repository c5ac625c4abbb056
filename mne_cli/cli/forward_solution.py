"""forward_solution (mne_forward_solution): MEG/EEG forward solutions (SPEC section 9)."""

import logging

import click

from .options import (
    MM_DISTANCE,
    MM_RADIUS,
    MM_TRIPLE,
    NeededOption,
    common_options,
    computation_options,
    tool_command,
)
from .progress import TerminalProgress
from .runner import command_line

logger = logging.getLogger(__name__)

ORIGIN_DEFAULT, EEG_RADIUS_DEFAULT = "0:0:40", "90"   # mm, as on the command line


def _remember_order(ctx, param, value):
    """Record --mri/--trans/--notrans as given: the last one wins (SPEC 9.2)."""
    if value:
        ctx.meta.setdefault("transform_options", []).append(param.name)
    return value


@tool_command("forward_solution")
@click.option("--src", "src_file", type=click.Path(dir_okay=False), cls=NeededOption,
              help="Source space file.")
@click.option("--meas", "meas_file", type=click.Path(dir_okay=False), cls=NeededOption,
              help="Measurement file with channels and the device->head transform.")
@click.option("--fwd", "fwd_file", type=click.Path(dir_okay=False), cls=NeededOption,
              help="Output -fwd.fif file.")
@click.option("--mri", "mri_file", type=click.Path(dir_okay=False), callback=_remember_order,
              help="FIF file with the head<->MRI transform.")
@click.option("--trans", "trans_file", type=click.Path(dir_okay=False), callback=_remember_order,
              help="Text file with the 4x4 head->MRI transform (translation in mm); a FIF "
                   "transform file is read as with --mri.")
@click.option("--notrans", is_flag=True, callback=_remember_order,
              help="Head and MRI frames coincide.")
@click.option("--bem", metavar="NAME|FILE", help="BEM model: name, name-bem.fif or name-bem-sol.fif.")
@click.option("--origin", type=MM_TRIPLE, default=ORIGIN_DEFAULT, show_default=True,
              help="Sphere-model origin x:y:z in mm.")
@click.option("--eegmodels", type=click.Path(dir_okay=False), help="EEG sphere-model definitions file.")
@click.option("--eegmodel", default="Default", show_default=True, metavar="NAME", help="EEG sphere model name.")
@click.option("--eegrad", type=MM_RADIUS, default=EEG_RADIUS_DEFAULT, show_default=True, help="EEG sphere-model scalp radius, mm.")
@click.option("--eegscalp", is_flag=True, help="Project electrodes onto the scalp sphere.")
@click.option("--meg", is_flag=True, help="Compute the MEG forward solution.")
@click.option("--eeg", is_flag=True, help="Compute the EEG forward solution.")
@click.option("--label", "labels", multiple=True, type=click.Path(dir_okay=False),
              help="Restrict to sources in this label (repeatable).")
@click.option("--mindist", type=MM_DISTANCE, default="0", show_default=True,
              help="Drop sources closer than this to the inner skull, mm (BEM only).")
@click.option("--mindistout", type=click.Path(dir_okay=False), help="Write the dropped sources here.")
@click.option("--includeall", is_flag=True, help="Skip the inner-skull filtering.")
@click.option("--megonly", is_flag=True, hidden=True, help="Alias of --meg (wrapper scripts).")
@click.option("--eegonly", is_flag=True, hidden=True, help="Alias of --eeg (wrapper scripts).")
@computation_options
@common_options
def main(src_file, meas_file, fwd_file, mri_file, trans_file, notrans, bem, origin, eegmodels,
         eegmodel, eegrad, eegscalp, meg, eeg, accurate, fixed, all_, labels, mindist,
         mindistout, includeall, mricoord, grad, allow_inside, megonly, eegonly):
    """Compute the MEG and/or EEG forward solution.

    Sources are the in-use points of the --src source spaces; sensors come
    from --meas. With --bem the BEM solution is used (computed on the fly
    from the -bem.fif surfaces when no -bem-sol.fif exists), and sources
    outside the inner skull or closer than --mindist to it are dropped.
    Without --bem a sphere model centred at --origin is used: the Sarvas
    formula for MEG and a layered sphere (--eegmodel, radius --eegrad) for
    EEG. Without --meg and --eeg, every modality the measurement has is
    computed. The output has three dipole components a source (x, y, z of
    the head frame, or of the MRI frame with --mricoord), or one along the
    source normal with --fixed; --grad adds the position derivatives.
    --label restricts the sources to FreeSurfer labels. CTF/4D software
    compensation in effect in --meas is applied to the MEG forward solution.
    One of --mri, --trans and --notrans is required (the last one given
    counts). The sensors are checked against the head first (see NOTES in
    the man page; --allowinside).
    """
    ctx = click.get_current_context()
    required = (
        (src_file, "Source space name is missing. Use the --src option to specify it."),
        (meas_file, ("Source of coil and electrode locations is missing. Use the --meas "
                     "option to specify it.")),
        (fwd_file, "Solution name is missing. Use the --fwd option to specify it."),
    )
    for value, message in required:
        if not value:
            raise click.UsageError(message)
    _warn_unused(ctx, bem)
    from ..forward.make import make_forward_solution

    with TerminalProgress() as progress:
        make_forward_solution(
            src_file, meas_file, _head_mri_transform(ctx, mri_file, trans_file), bem=bem,
            meg=meg or megonly, eeg=eeg or eegonly, accurate=accurate, fixed=fixed,
            all_sources=all_, labels=labels, mindist=mindist, mindistout=mindistout,
            include_all=includeall, mricoord=mricoord, grad=grad, allow_inside=allow_inside,
            origin=origin, eeg_models=eegmodels, eeg_model=eegmodel, eeg_radius=eegrad,
            eeg_scalp=eegscalp, fname=fwd_file, progress=progress,
            command_line=command_line(ctx))


#: Options that only one kind of head model uses.
_SPHERE_ONLY = ("origin", "eegrad", "eegmodel", "eegmodels", "eegscalp")
_BEM_ONLY = ("mindist", "mindistout", "includeall")


def _warn_unused(ctx: click.Context, bem) -> None:
    """Say which options given on the command line the chosen head model ignores."""
    from click.core import ParameterSource

    unused = _SPHERE_ONLY if bem else _BEM_ONLY
    given = [f"--{name}" for name in unused
             if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE]
    if given:
        logger.warning("%s %s only with %s; ignored", ", ".join(given),
                       "applies" if len(given) == 1 else "apply",
                       "the sphere model (no --bem)" if bem else "a BEM (--bem)")


def _head_mri_transform(ctx, mri_file, trans_file):
    """The transform file of the last of --mri/--trans/--notrans given (None: --notrans).

    --mri must be a FIF file (read here once to say so); --trans may be
    either kind.
    """
    from ..io.transform import read_head_mri_transform

    order = ctx.meta.get("transform_options", [])
    last = order[-1] if order else None
    if last == "mri_file":
        read_head_mri_transform(mri_file)
        return mri_file
    if last == "trans_file":  # text, or a FIF file given as --trans by habit
        return trans_file
    if last == "notrans":
        return None
    raise click.UsageError("MRI <-> head coordinate transformation is missing. Use the --mri "
                           "or --trans option to specify it.")
