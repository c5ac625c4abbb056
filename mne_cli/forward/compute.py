"""The forward computation: sources, sensors and conductor to a gain matrix (SPEC 9.3).

Frames: the *computation frame* is head (default) or MRI (``mricoord``).
Source spaces stay in MRI coordinates in the output; dipole components are
along the computation frame's axes. BEM work is done in MRI coordinates,
sphere-model work in the computation frame.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..fiff.constants import ChannelKind, Frame, SourceOri
from ..objects import (
    BemSolution,
    Channel,
    Forward,
    ForwardBlock,
    MeasInfo,
    SourceSpace,
    Transform,
)
from . import bem_fields
from .sensors import SensorSet, eeg_sensors, meg_sensors
from .source_selection import check_active, filter_inner_skull
from .sphere_meg import sphere_meg_gain

logger = logging.getLogger(__name__)

ACCURACY_NORMAL = 1
ACCURACY_ACCURATE = 2


@dataclass
class SphereModel:
    """The spherically symmetric conductor of the sphere model.

    Attributes
    ----------
    origin : ndarray, shape (3,)
        Centre in the computation frame, metres.
    eeg_fit : BergFit or None
        Equivalent-dipole fit of the EEG layer model (None: MEG only).
    radius : float
        Scalp radius, metres.
    scalp_project : bool
        Move electrodes radially onto the scalp sphere.
    """

    origin: np.ndarray
    eeg_fit: object | None = None
    radius: float = 0.09
    scalp_project: bool = False


@dataclass
class ForwardInputs:
    """Everything the computation needs, already read from files."""

    spaces: list[SourceSpace]
    info: MeasInfo
    mri_head_t: Transform
    coil_defs: list
    conductor: BemSolution | SphereModel
    meg: bool
    eeg: bool
    accurate: bool = False
    mindist: float = 0.0
    include_all: bool = False
    mricoord: bool = False
    src_file: str = "the source space"
    meas_file: str = "the measurement file"
    bem_file: str = "the BEM"
    mri_file: str | None = None


def compute_forward(inputs: ForwardInputs,
                    progress: Callable[[int], None] | None = None) -> tuple[Forward, np.ndarray]:
    """Compute the free-orientation forward solution.

    Parameters
    ----------
    inputs : ForwardInputs
    progress : callable or None
        Called with the number of sources just finished (BEM source loop).

    Returns
    -------
    fwd : Forward
    omitted : ndarray, shape (k, 3)
        Sources dropped by the inner-skull filter (m, MRI frame).
    """
    spaces = [_in_mri_frame(s, inputs.mri_head_t) for s in inputs.spaces]
    check_active(spaces, inputs.src_file)
    omitted = np.zeros((0, 3))
    is_bem = isinstance(inputs.conductor, BemSolution)
    if is_bem and not inputs.include_all:
        inner = [s for s in inputs.conductor.surfaces if s.id == 1]
        if not inner:
            raise InputError(f"BEM model {inputs.bem_file} does not have the inner skull "
                             "triangulation.")
        spaces, omitted = filter_inner_skull(spaces, inner[0], inputs.mindist)
        if sum(s.nuse for s in spaces) == 0:
            raise InputError(f"No sources of {inputs.src_file} are left inside the inner skull "
                             f"of {inputs.bem_file}: check the head<->MRI transform and "
                             "--mindist.")
    meg_chs, eeg_chs = _channels(inputs)
    frame = Frame.MRI if inputs.mricoord else Frame.HEAD
    head_to_frame = (inputs.mri_head_t.towards(Frame.HEAD, Frame.MRI) if inputs.mricoord
                     else Transform.identity(Frame.HEAD, Frame.HEAD))
    mri_to_frame = (Transform.identity(Frame.MRI, Frame.MRI) if inputs.mricoord
                    else inputs.mri_head_t.towards(Frame.MRI, Frame.HEAD))
    rr_mri = np.concatenate([s.rr[s.vertno] for s in spaces])
    rr = mri_to_frame.apply(rr_mri)
    logger.info("Computing the forward solution for %d sources in %s coordinates", len(rr),
                "MRI" if inputs.mricoord else "head")

    sensors = {}
    if meg_chs:
        dev_head_t = inputs.info.dev_head_t
        if dev_head_t is None:
            raise InputError(f"MEG -> head coordinate transformation not found in "
                             f"{inputs.meas_file}.")
        accuracy = ACCURACY_ACCURATE if inputs.accurate else ACCURACY_NORMAL
        sensors["meg"] = meg_sensors(meg_chs, inputs.coil_defs, accuracy,
                                     dev_head_t.then(head_to_frame))
    if eeg_chs:
        sensors["eeg"] = eeg_sensors(eeg_chs, head_to_frame, inputs.meas_file)

    if is_bem:
        gains = _bem_gains(inputs, sensors, rr, rr_mri, mri_to_frame, progress)
    else:
        gains = _sphere_gains(inputs.conductor, sensors, rr, inputs.bem_file)

    fwd = Forward(
        source_spaces=spaces, coord_frame=frame, source_ori=SourceOri.FREE,
        mri_head_t=inputs.mri_head_t.towards(Frame.MRI, Frame.HEAD),
        channels=[dataclasses.replace(ch, scanno=k + 1)
                  for k, ch in enumerate(meg_chs + eeg_chs)],
        dev_head_t=inputs.info.dev_head_t, bads=list(inputs.info.bads),
        meas_file=inputs.meas_file, meas_id=inputs.info.meas_id, mri_file=inputs.mri_file)
    if "meg" in gains:
        fwd.meg = ForwardBlock(1, sensors["meg"].names, gains["meg"])
    if "eeg" in gains:
        fwd.eeg = ForwardBlock(2, sensors["eeg"].names, gains["eeg"])
    return fwd, omitted


def _channels(inputs: ForwardInputs) -> tuple[list[Channel], list[Channel]]:
    """MEG and EEG channels to compute, in file order (SPEC 9.3 step 4)."""
    chans = inputs.info.channels
    meg = [ch for ch in chans if ch.kind == ChannelKind.MEG] if inputs.meg else []
    eeg = [ch for ch in chans if ch.kind == ChannelKind.EEG] if inputs.eeg else []
    for wanted, found, what in ((inputs.meg, meg, "MEG"), (inputs.eeg, eeg, "EEG")):
        if wanted and not found:
            raise InputError(f"{inputs.meas_file} has no {what} channels; drop --{what.lower()}.")
    grades = {ch.comp_grade for ch in meg}
    if grades - {0} and inputs.info.comps:
        raise InputError(f"{inputs.meas_file} has software gradient compensation (grade "
                         f"{max(grades)}) in effect, which is not supported yet.")
    return meg, eeg


def _bem_gains(inputs: ForwardInputs, sensors: dict[str, SensorSet], rr: np.ndarray,
               rr_mri: np.ndarray, mri_to_frame: Transform,
               progress: Callable[[int], None] | None) -> dict[str, np.ndarray]:
    """Gain matrices with a BEM: one transfer matrix for all channels, one source loop."""
    solution = inputs.conductor
    frame_to_mri = mri_to_frame.inverse()
    coeffs, sizes = [], {}
    if "meg" in sensors:
        coeffs.append(bem_fields.meg_coefficients(solution,
                                                  sensors["meg"].transformed(frame_to_mri)))
        sizes["meg"] = sensors["meg"].nchan
    if "eeg" in sensors:
        coeffs.append(bem_fields.eeg_coefficients(
            solution, sensors["eeg"].transformed(frame_to_mri), inputs.bem_file))
        sizes["eeg"] = sensors["eeg"].nchan
    transfer = bem_fields.transfer_matrix(np.concatenate(coeffs), solution)
    nodes, _, _ = bem_fields.bem_nodes(solution)
    gain = np.empty((len(transfer), 3 * len(rr)))
    for columns, block in bem_fields.bem_gain(rr_mri, nodes, transfer,
                                              frame_to_mri.matrix[:3, :3]):
        gain[:, columns] = block
        if progress is not None:
            progress(block.shape[1] // 3)
    gains, row = {}, 0
    for name, size in sizes.items():
        gains[name] = gain[row:row + size]
        row += size
    if "meg" in gains:
        gains["meg"] += bem_fields.primary_meg_gain(rr, sensors["meg"])
    return gains


def _sphere_gains(sphere: SphereModel, sensors: dict[str, SensorSet], rr: np.ndarray,
                  source: str) -> dict[str, np.ndarray]:
    from .eeg_sphere import eeg_sphere_potentials

    gains = {}
    if "meg" in sensors:
        gains["meg"] = sphere_meg_gain(rr, sensors["meg"], sphere.origin)
    if "eeg" in sensors:
        if sphere.eeg_fit is None:
            raise InputError(f"No EEG sphere model is available for {source}.")
        eeg = sensors["eeg"]
        outside = np.linalg.norm(rr - sphere.origin, axis=1) >= sphere.eeg_fit.inner_radius * \
            sphere.radius
        if outside.any():
            logger.warning("%d sources lie outside the innermost sphere of the EEG model "
                           "(radius %.1f mm); their EEG is zero", outside.sum(),
                           sphere.eeg_fit.inner_radius * sphere.radius * 1000)
        potentials = eeg_sphere_potentials(rr, eeg.points, sphere.eeg_fit, sphere.origin,
                                           sphere.radius, scalp_project=sphere.scalp_project)
        gains["eeg"] = eeg.combiner() @ potentials
    return gains


def _in_mri_frame(space: SourceSpace, mri_head_t: Transform) -> SourceSpace:
    if space.coord_frame == Frame.MRI:
        return space
    if space.coord_frame == Frame.HEAD:
        head_mri = mri_head_t.towards(Frame.HEAD, Frame.MRI)
        return dataclasses.replace(space, rr=head_mri.apply(space.rr),
                                   nn=head_mri.rotate(space.nn), coord_frame=Frame.MRI)
    raise InputError(f"A source space is in coordinate frame {space.coord_frame}; only MRI "
                     "and head coordinates are supported.")

