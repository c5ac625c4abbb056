"""forward_solution (mne_forward_solution): MEG/EEG forward solutions (SPEC section 9)."""

import logging
import os
import sys

import click

from ..errors import InputError
from .options import MM, MM_TRIPLE, common_options, tool_command
from .runner import command_line

logger = logging.getLogger(__name__)


def _remember_order(ctx, param, value):
    """Record --mri/--trans/--notrans as given: the last one wins (SPEC 9.2)."""
    if value:
        ctx.meta.setdefault("transform_options", []).append(param.name)
    return value


@tool_command("forward_solution")
@click.option("--src", "src_file", type=click.Path(dir_okay=False), help="Source space file.")
@click.option("--meas", "meas_file", type=click.Path(dir_okay=False),
              help="Measurement file with channels and the device->head transform.")
@click.option("--fwd", "fwd_file", type=click.Path(dir_okay=False), help="Output -fwd.fif file.")
@click.option("--mri", "mri_file", type=click.Path(dir_okay=False), callback=_remember_order,
              help="FIF file with the head<->MRI transform.")
@click.option("--trans", "trans_file", type=click.Path(dir_okay=False), callback=_remember_order,
              help="Text file with the 4x4 head->MRI transform (translation in mm).")
@click.option("--notrans", is_flag=True, callback=_remember_order,
              help="Head and MRI frames coincide.")
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
              help="Drop sources closer than this to the inner skull, mm (BEM only).")
@click.option("--mindistout", type=click.Path(dir_okay=False), help="Write the dropped sources here.")
@click.option("--includeall", is_flag=True, help="Skip the inner-skull filtering.")
@click.option("--mricoord", is_flag=True, help="Compute in MRI coordinates.")
@click.option("--grad", is_flag=True, help="Also output derivatives w.r.t. source positions.")
@click.option("--megonly", is_flag=True, hidden=True, help="Alias of --meg (wrapper scripts).")
@click.option("--eegonly", is_flag=True, hidden=True, help="Alias of --eeg (wrapper scripts).")
@common_options
def main(src_file, meas_file, fwd_file, mri_file, trans_file, notrans, bem, origin, eegmodels,
         eegmodel, eegrad, eegscalp, meg, eeg, accurate, fixed, all_, labels, mindist,
         mindistout, includeall, mricoord, grad, megonly, eegonly):
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
    """
    from ..fiff.constants import ChannelKind
    from ..forward.compute import ForwardInputs, SphereModel, compute_forward
    from ..forward.labels import restrict_to_labels
    from ..forward.source_selection import activate_all, write_omitted
    from ..io.coil_def import find_coil_def_file, read_coil_defs
    from ..io.forward import write_forward
    from ..io.label import read_label
    from ..io.meas import read_meas_info
    from ..io.source_space import read_source_spaces

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
    mri_head_t, trans_name = _head_mri_transform(ctx, mri_file, trans_file)
    meg = meg or megonly
    eeg = eeg or eegonly

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
    if not meg and not eeg:
        kinds = {ch.kind for ch in info.channels}
        meg, eeg = ChannelKind.MEG in kinds, ChannelKind.EEG in kinds
        if not meg and not eeg:
            raise InputError(f"{meas_file} has neither MEG nor EEG channels.")
    coil_defs = read_coil_defs(find_coil_def_file()) if meg else []
    if bem:
        conductor, bem_name = _load_bem(bem)
    else:
        frame = "MRI" if mricoord else "head"
        logger.info("Sphere model: origin (%.1f, %.1f, %.1f) mm in %s coordinates",
                    *(origin * 1000), frame)
        fit = _eeg_sphere_fit(eegmodels, eegmodel) if eeg else None
        conductor = SphereModel(origin, fit, eegrad, eegscalp)
        bem_name = "the sphere model"
    inputs = ForwardInputs(spaces, info, mri_head_t, coil_defs, conductor, meg=meg, eeg=eeg,
                           accurate=accurate, mindist=mindist, include_all=includeall,
                           mricoord=mricoord, fixed=fixed, grad=grad, src_file=src_file,
                           meas_file=meas_file,
                           bem_file=bem_name, mri_file=trans_name)
    nsource = sum(s.nuse for s in spaces)
    with _progress(nsource) as advance:
        fwd, omitted = compute_forward(inputs, advance)
    if mindistout:
        write_omitted(mindistout, omitted)
    write_forward(fwd_file, fwd, command_line(ctx))
    logger.info("Wrote %s", fwd_file)


def _head_mri_transform(ctx, mri_file, trans_file):
    """The MRI -> head transform from the last of --mri/--trans/--notrans given."""
    from ..fiff.constants import Frame
    from ..io.transform import read_head_mri_transform, read_trans_text
    from ..objects import Transform

    order = ctx.meta.get("transform_options", [])
    last = order[-1] if order else None
    if last == "mri_file":
        return read_head_mri_transform(mri_file).towards(Frame.MRI, Frame.HEAD), mri_file
    if last == "trans_file":
        return read_trans_text(trans_file).towards(Frame.MRI, Frame.HEAD), trans_file
    if last == "notrans":
        return Transform.identity(Frame.MRI, Frame.HEAD), None
    raise click.UsageError("MRI <-> head coordinate transformation is missing. Use the --mri "
                           "or --trans option to specify it.")


def _load_bem(name: str):
    """A BEM solution from a name, -bem.fif or -bem-sol.fif (SPEC 9.2 --bem)."""
    from ..bem.solution import make_bem_solution
    from ..io.bem import read_bem_solution, read_bem_surfaces
    from .prepare_bem_model import default_solution_name

    sol_file = default_solution_name(name)  # the name prepare_bem_model writes
    bem_file = sol_file.removesuffix("-sol.fif") + ".fif"
    if name.endswith((".fif", ".fif.gz")) and os.path.isfile(name) and name != bem_file:
        sol_file = name  # a solution file named otherwise
    if os.path.exists(sol_file):
        solution = read_bem_solution(sol_file)
        if solution.solution is not None:
            logger.info("Loaded the BEM solution from %s", sol_file)
            return solution, sol_file
        surfaces, source = solution.surfaces, sol_file
    elif os.path.exists(bem_file):
        surfaces, source = read_bem_surfaces(bem_file), bem_file
    else:
        raise InputError(f"No BEM model found for --bem {name}: neither {sol_file} nor "
                         f"{bem_file} exists.")
    logger.info("No precomputed solution in %s; computing the linear-collocation solution",
                source)
    return make_bem_solution(surfaces, "linear", source=source), source


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


class _progress:
    """A progress bar over sources on stderr, when stderr is a terminal and not --quiet.

    The bar appears with the first finished chunk, after the setup's log lines.
    """

    def __init__(self, total: int):
        self._total = total
        self._show = sys.stderr.isatty() and logging.getLogger("mne_cli").isEnabledFor(
            logging.INFO)
        self._bar = None

    def __enter__(self):
        return self._advance if self._show else None

    def _advance(self, count: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=self._total, label="Sources", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(count)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False
