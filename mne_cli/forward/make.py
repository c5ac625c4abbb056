"""A forward solution from files or objects: mne_forward_solution's job (SPEC section 9)."""

from __future__ import annotations

import logging
import os

from ..errors import InputError
from ..objects import BemSolution, Transform
from ..progress import SILENT, Progress

logger = logging.getLogger(__name__)

#: Sphere-model defaults of forward_solution (metres): origin 0:0:40 mm, scalp radius 90 mm.
DEFAULT_ORIGIN = (0.0, 0.0, 0.04)
DEFAULT_EEG_RADIUS = 0.09


def make_forward_solution(src, meas, trans, *, bem=None, meg: bool = False,
                          eeg: bool = False, accurate: bool = False, fixed: bool = False,
                          all_sources: bool = False, labels=(), mindist: float = 0.0,
                          mindistout=None, include_all: bool = False, mricoord: bool = False,
                          grad: bool = False, allow_inside: bool = False,
                          origin=DEFAULT_ORIGIN, eeg_models=None, eeg_model: str = "Default",
                          eeg_radius: float = DEFAULT_EEG_RADIUS, eeg_scalp: bool = False,
                          modalities_given: bool | None = None, fname=None,
                          progress: Progress = SILENT, command_line: str | None = None):
    """Compute a MEG and/or EEG forward solution (MNE-C's mne_forward_solution).

    Parameters
    ----------
    src : str or path-like, or list of SourceSpace
        Source spaces (``-src.fif``); their in-use points are the sources.
    meas : str or path-like
        Measurement file: channels, coil types, EEG positions and the
        device->head transform.
    trans : str or path-like, Transform, or None
        head<->MRI transform: a FIF file or MNE-C's text file (format from
        the contents), a :class:`Transform` between the MRI and head frames
        (either direction), or None when the two frames coincide.
    bem : str, path-like or BemSolution, optional
        A BEM name, ``-bem.fif`` or ``-bem-sol.fif`` (a model without a
        stored solution is solved for the sensors, :func:`load_bem`). None:
        the sphere model (Sarvas for MEG, Berg-Scherg dipoles of a layered
        sphere for EEG).
    meg, eeg : bool
        The modalities; neither means every one the measurement has.
    accurate, fixed, grad, mricoord : bool
        Accurate coil integration; one source orientation along the surface
        normal; position derivatives; computation in MRI coordinates.
    all_sources : bool
        Every source-space point, not only those in use.
    labels : sequence of path-like
        Restrict the sources to these FreeSurfer labels.
    mindist : float
        With a BEM, drop sources closer than this to the inner skull (m);
        ``mindistout`` lists them in a file. ``include_all`` keeps the
        sources outside the inner skull too.
    allow_inside : bool
        Compute even with MEG sensors deep inside the head (a warning).
    origin : array-like, shape (3,)
        Sphere-model origin (m), head frame (MRI frame with ``mricoord``).
    eeg_models, eeg_model, eeg_radius, eeg_scalp
        EEG sphere model: definitions file, model name, scalp radius (m),
        electrodes projected onto the scalp.
    modalities_given : bool, optional
        Whether the caller chose the modalities (default: ``meg or eeg``);
        it changes only the advice of errors.
    fname : str or path-like, optional
        Write the solution here (``-fwd.fif``); checked before any work.
    progress, command_line
        Progress of the long stages; provenance of the written file.

    Returns
    -------
    Forward
        Gains (channels, 3 sources, or 1 with ``fixed``) by modality, in
        SI units (T/Am, V/Am).

    Raises
    ------
    InputError, GeometryError, FifError, OutputError
        Unusable inputs, named with their file.
    """
    import numpy as np

    from ..atomic import check_output
    from ..fiff.constants import ChannelKind, Frame
    from ..io.bem import bem_file_candidates
    from ..io.coil_def import find_coil_def_file, read_coil_defs
    from ..io.forward import write_forward
    from ..io.label import read_label
    from ..io.meas import read_meas_info
    from ..io.source_space import read_source_spaces
    from ..io.transform import read_head_mri_transform_any
    from .compute import ForwardInputs, SphereModel, compute_forward
    from .labels import restrict_to_labels
    from .source_selection import activate_all, write_omitted

    src_file = _name(src, "the source space")
    meas_file = _name(meas, "the measurement file")
    trans_name = _name(trans, None)
    labels = [os.fspath(label) for label in labels]
    if fname is not None:
        inputs = [src_file, meas_file, trans_name, eeg_models, *labels]
        if isinstance(bem, (str, os.PathLike)):
            bem = os.fspath(bem)
            inputs += [bem, *(name for pair in bem_file_candidates(bem) for name in pair)]
        check_output(fname, "--fwd", inputs)
        if mindistout:
            check_output(mindistout, "--mindistout", [*inputs, fname])
    if trans is None:
        mri_head_t = Transform.identity(Frame.MRI, Frame.HEAD)
    elif isinstance(trans, Transform):
        mri_head_t = trans.towards(Frame.MRI, Frame.HEAD)
    else:
        mri_head_t = read_head_mri_transform_any(trans).towards(Frame.MRI, Frame.HEAD)
    spaces = read_source_spaces(src_file) if isinstance(src, (str, os.PathLike)) else src
    if all_sources:
        spaces = activate_all(spaces)
    if labels:
        spaces = restrict_to_labels(spaces, [read_label(path) for path in labels], src_file)
        if sum(s.nuse for s in spaces) == 0:
            hint = "" if all_sources else " (with --all every surface vertex in a label is used)"
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
    if isinstance(bem, BemSolution):
        conductor, bem_name = bem, "the BEM"
    elif bem:
        conductor, bem_name = load_bem(bem, progress)
    else:
        origin = np.asarray(origin, np.float64)
        frame = "MRI" if mricoord else "head"
        logger.info("Sphere model: origin (%.1f, %.1f, %.1f) mm in %s coordinates",
                    *(origin * 1000), frame)
        fit = _eeg_sphere_fit(eeg_models, eeg_model) if eeg else None
        conductor = SphereModel(origin, fit, eeg_radius, eeg_scalp)
        bem_name = "the sphere model"
    inputs = ForwardInputs(spaces, info, mri_head_t, coil_defs, conductor, meg=meg, eeg=eeg,
                           accurate=accurate, mindist=mindist, include_all=include_all,
                           mricoord=mricoord, fixed=fixed, grad=grad,
                           modalities_given=modalities_given, allow_inside=allow_inside,
                           src_file=src_file, meas_file=meas_file, bem_file=bem_name,
                           mri_file=trans_name)
    fwd, omitted = compute_forward(inputs, progress)
    if mindistout:
        write_omitted(mindistout, omitted)
    if fname is not None:
        write_forward(fname, fwd, command_line)
    return fwd


def load_bem(name, progress: Progress = SILENT) -> tuple[BemSolution, str]:
    """A BEM solution from a name, -bem.fif or -bem-sol.fif (SPEC 9.2 --bem).

    Returns the solution and the file it came from; when no file has one,
    the linear-collocation system is factored (reporting to ``progress``),
    which is all a forward solution needs.

    Raises
    ------
    InputError
        When none of the files the name stands for exists.
    """
    from ..bem.solution import factor_bem_system
    from ..io.bem import bem_file_candidates, read_bem_solution, read_bem_surfaces

    name = os.fspath(name)
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


def _name(item, default):
    """The file name of a path argument, or ``default`` for an object."""
    return os.fspath(item) if isinstance(item, (str, os.PathLike)) else default


def _eeg_sphere_fit(models_file, model_name):
    from .eeg_sphere import (
        find_eeg_models_file,
        fit_berg_scherg,
        read_eeg_models,
        select_eeg_model,
    )

    path = find_eeg_models_file(models_file)
    models = read_eeg_models(path)
    model = select_eeg_model(models, model_name, path or "the built-in models")
    return fit_berg_scherg(model)
