"""forward_solution (mne_forward_solution): MEG/EEG forward solutions (SPEC section 9)."""

import logging
import os

import click

from ..errors import InputError
from ..progress import SILENT, Progress
from .options import (
    MM,
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
DEFAULT_ORIGIN_M = MM_TRIPLE.convert(ORIGIN_DEFAULT, None, None)
DEFAULT_EEG_RADIUS_M = MM.convert(EEG_RADIUS_DEFAULT, None, None)


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
    mri_head_t, trans_name = _head_mri_transform(ctx, mri_file, trans_file)
    run_forward(src_file=src_file, meas_file=meas_file, fwd_file=fwd_file,
                mri_head_t=mri_head_t, trans_name=trans_name, bem=bem, meg=meg or megonly,
                eeg=eeg or eegonly, accurate=accurate, fixed=fixed, all_=all_, labels=labels,
                mindist=mindist, mindistout=mindistout, includeall=includeall,
                mricoord=mricoord, grad=grad, allow_inside=allow_inside, origin=origin,
                eegmodels=eegmodels,
                eegmodel=eegmodel, eegrad=eegrad, eegscalp=eegscalp,
                command=command_line(ctx))


def run_forward(*, src_file, meas_file, fwd_file, mri_head_t, trans_name, bem=None,
                meg=False, eeg=False, accurate=False, fixed=False, all_=False, labels=(),
                mindist=0.0, mindistout=None, includeall=False, mricoord=False, grad=False,
                allow_inside=False, modalities_given=None, origin=DEFAULT_ORIGIN_M,
                eegmodels=None, eegmodel="Default", eegrad=DEFAULT_EEG_RADIUS_M, eegscalp=False,
                command=None) -> None:
    """Compute a forward solution and write it; the body of forward_solution.

    Lengths (``mindist``, ``origin``, ``eegrad``) are in metres; ``mri_head_t``
    is the MRI -> head transform (``trans_name`` the file it came from, or
    None). With neither ``meg`` nor ``eeg``, every modality of the
    measurement is computed; ``modalities_given`` says whether the user
    chose them (default: whether ``meg`` or ``eeg`` is set), which changes
    only the advice of errors. mne_do_forward_solution calls this too.
    """
    from ..atomic import check_output
    from ..fiff.constants import ChannelKind
    from ..forward.compute import ForwardInputs, SphereModel, compute_forward
    from ..forward.labels import restrict_to_labels
    from ..forward.source_selection import activate_all, write_omitted
    from ..io.coil_def import find_coil_def_file, read_coil_defs
    from ..io.forward import write_forward
    from ..io.label import read_label
    from ..io.meas import read_meas_info
    from ..io.source_space import read_source_spaces
    from .prepare_bem_model import bem_file_candidates

    inputs = [src_file, meas_file, trans_name, eegmodels, *labels]
    if bem:
        inputs += [bem, *(name for pair in bem_file_candidates(bem) for name in pair)]
    check_output(fwd_file, "--fwd", inputs)
    if mindistout:
        check_output(mindistout, "--mindistout", [*inputs, fwd_file])
    spaces = read_source_spaces(src_file)
    if all_:
        spaces = activate_all(spaces)
    if labels:
        spaces = restrict_to_labels(spaces, [read_label(path) for path in labels], src_file)
        if sum(s.nuse for s in spaces) == 0:
            hint = "" if all_ else " (with --all every surface vertex in a label is used)"
            raise InputError(f"No source of {src_file} lies in the labels given{hint}; label "
                             "vertex numbers must refer to the source space's surface.")
    info = read_meas_info(meas_file)
    if modalities_given is None:
        modalities_given = meg or eeg
    if not meg and not eeg:
        kinds = {ch.kind for ch in info.channels}
        meg, eeg = ChannelKind.MEG in kinds, ChannelKind.EEG in kinds
        if not meg and not eeg:
            raise InputError(f"{meas_file} has neither MEG nor EEG channels.")
    coil_defs = read_coil_defs(find_coil_def_file()) if meg else []
    with TerminalProgress() as progress:
        if bem:
            conductor, bem_name = load_bem(bem, progress)
        else:
            frame = "MRI" if mricoord else "head"
            logger.info("Sphere model: origin (%.1f, %.1f, %.1f) mm in %s coordinates",
                        *(origin * 1000), frame)
            fit = _eeg_sphere_fit(eegmodels, eegmodel) if eeg else None
            conductor = SphereModel(origin, fit, eegrad, eegscalp)
            bem_name = "the sphere model"
        inputs = ForwardInputs(spaces, info, mri_head_t, coil_defs, conductor, meg=meg,
                               eeg=eeg, accurate=accurate, mindist=mindist,
                               include_all=includeall, mricoord=mricoord, fixed=fixed,
                               grad=grad, modalities_given=modalities_given,
                               allow_inside=allow_inside, src_file=src_file, meas_file=meas_file,
                               bem_file=bem_name, mri_file=trans_name)
        fwd, omitted = compute_forward(inputs, progress)
    if mindistout:
        write_omitted(mindistout, omitted)
    write_forward(fwd_file, fwd, command)


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
    """The MRI -> head transform from the last of --mri/--trans/--notrans given."""
    from ..fiff.constants import Frame
    from ..io.transform import read_head_mri_transform, read_head_mri_transform_any
    from ..objects import Transform

    order = ctx.meta.get("transform_options", [])
    last = order[-1] if order else None
    if last == "mri_file":
        return read_head_mri_transform(mri_file).towards(Frame.MRI, Frame.HEAD), mri_file
    if last == "trans_file":  # text, or a FIF file given as --trans by habit
        return read_head_mri_transform_any(trans_file).towards(Frame.MRI, Frame.HEAD), trans_file
    if last == "notrans":
        return Transform.identity(Frame.MRI, Frame.HEAD), None
    raise click.UsageError("MRI <-> head coordinate transformation is missing. Use the --mri "
                           "or --trans option to specify it.")


def load_bem(name: str, progress: Progress = SILENT):
    """A BEM solution from a name, -bem.fif or -bem-sol.fif (SPEC 9.2 --bem).

    Returns the solution and the file it came from; when no file has one,
    the linear-collocation system is factored (reporting to ``progress``),
    which is all a forward solution needs.
    """
    from ..bem.solution import factor_bem_system
    from ..io.bem import read_bem_solution, read_bem_surfaces
    from .prepare_bem_model import bem_file_candidates

    # The names surf2bem/prepare_bem_model write, plain then gzipped.
    candidates = bem_file_candidates(name)
    bem_file, sol_file = next((pair for pair in candidates
                               if any(os.path.exists(p) for p in pair)), candidates[0])
    if os.path.isfile(name) and name != bem_file:
        sol_file = name  # a solution (or any BEM) file named otherwise
    if os.path.exists(sol_file):
        solution = read_bem_solution(sol_file)
        if solution.solution is not None:
            logger.info("Loaded the BEM solution from %s", sol_file)
            return solution, sol_file
        surfaces, source = solution.surfaces, sol_file
    elif os.path.exists(bem_file):
        surfaces, source = read_bem_surfaces(bem_file), bem_file
    else:
        tried = ", ".join(f"{sol}, {bem}" for bem, sol in candidates)
        raise InputError(f"No BEM model found for --bem {name}: none of {tried} exists.")
    logger.info("No precomputed solution in %s; solving the linear-collocation system "
                "for the sensors", source)
    return factor_bem_system(surfaces, "linear", source=source, progress=progress), source


def _eeg_sphere_fit(models_file, model_name):
    from ..forward.eeg_sphere import (
        find_eeg_models_file,
        fit_berg_scherg,
        read_eeg_models,
        select_eeg_model,
    )

    path = find_eeg_models_file(models_file)
    models = read_eeg_models(path)
    model = select_eeg_model(models, model_name, path or "the built-in models")
    return fit_berg_scherg(model)
