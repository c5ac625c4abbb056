"""The forward computation: sources, sensors and conductor to a gain matrix (SPEC 9.3).

Frames: the *computation frame* is head (default) or MRI (``mricoord``).
Source spaces stay in MRI coordinates in the output; dipole components are
along the computation frame's axes. BEM work is done in MRI coordinates,
sphere-model work in the computation frame.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from ..bem.model import surface_label
from ..errors import InputError
from ..fiff.constants import ChannelKind, Frame, Method, SourceOri, SourceSpaceType
from ..io.transform import require_rigid
from ..objects import (
    BemSolution,
    Channel,
    Forward,
    ForwardBlock,
    MeasInfo,
    SourceSpace,
    Transform,
)
from ..parallel import thread_map
from ..progress import SILENT, Progress
from . import bem_fields, checks
from .blocks import slices
from .compensation import compensation_matrix, current_grade
from .sensors import SensorSet, eeg_sensors, few, meg_sensors
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
    """Everything the computation needs, already read from files.

    ``modalities_given``: whether the user chose MEG/EEG (--meg/--eeg) or
    they were implied by the channels present (it changes only the advice
    of errors). ``allow_inside``: compute even when MEG sensors lie deep
    inside the head (:mod:`.checks`).
    """

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
    fixed: bool = False
    grad: bool = False
    modalities_given: bool = True
    allow_inside: bool = False
    src_file: str = "the source space"
    meas_file: str = "the measurement file"
    bem_file: str = "the BEM"
    mri_file: str | None = None


#: Central-difference step of --grad, metres: truncation (h/d)^2 and rounding
#: eps d/h stay below 1e-8 for sources 1-10 cm from the sensors.
GRAD_STEP = 1e-6

Gains = dict[str, np.ndarray]


def compute_forward(inputs: ForwardInputs,
                    progress: Progress = SILENT) -> tuple[Forward, np.ndarray]:
    """Compute the forward solution (and its position derivatives).

    Parameters
    ----------
    inputs : ForwardInputs
    progress : Progress
        Counts sources done: the gain, then the analytic derivatives of
        --grad (BEM) or its six displaced evaluations (sphere model).

    Returns
    -------
    fwd : Forward
    omitted : ndarray, shape (k, 3)
        Sources dropped by the inner-skull filter (m, MRI frame).
    """
    unsupported = {s.coord_frame for s in inputs.spaces} - {Frame.MRI, Frame.HEAD}
    if unsupported:
        raise InputError(f"A source space of {inputs.src_file} is in coordinate frame "
                         f"{min(unsupported)}; only MRI and head coordinates are supported.")
    spaces = [s.in_frame(Frame.MRI, inputs.mri_head_t) for s in inputs.spaces]
    check_active(spaces, inputs.src_file)
    if inputs.fixed:
        _check_fixed_possible(spaces, inputs.src_file)
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
    meg_chs, ref_chs, eeg_chs = _channels(inputs)
    checks.check_positions(meg_chs, eeg_chs, inputs.meas_file, inputs.modalities_given)
    checks.log_left_out(inputs.info.channels, bool(meg_chs), bool(eeg_chs))
    frame = Frame.MRI if inputs.mricoord else Frame.HEAD
    head_to_frame = (inputs.mri_head_t.towards(Frame.HEAD, Frame.MRI) if inputs.mricoord
                     else Transform.identity(Frame.HEAD, Frame.HEAD))
    mri_to_frame = (Transform.identity(Frame.MRI, Frame.MRI) if inputs.mricoord
                    else inputs.mri_head_t.towards(Frame.MRI, Frame.HEAD))
    rr = mri_to_frame.apply(np.concatenate([s.rr[s.vertno] for s in spaces]))
    logger.info("Computing the forward solution for %d sources in %s coordinates", len(rr),
                "MRI" if inputs.mricoord else "head")

    sensors, dev_head_t, compensator = _sensors(inputs, meg_chs, ref_chs, eeg_chs,
                                                head_to_frame)
    device_to_frame = dev_head_t.then(head_to_frame) if meg_chs else None
    _check_geometry(inputs, sensors, meg_chs, device_to_frame, mri_to_frame.inverse())
    if is_bem and inputs.conductor.solver == "openmeeg":
        evaluate, analytic = _symmetric_evaluator(inputs, sensors, mri_to_frame)
    elif is_bem:
        evaluate, analytic = _bem_evaluator(inputs, sensors, mri_to_frame)
    else:
        evaluate, analytic = _sphere_evaluator(inputs.conductor, sensors, inputs.bem_file), None
    if inputs.grad and analytic:
        logger.info("Position derivatives of the infinite-medium fields, analytically")
    elif inputs.grad:
        logger.info("Position derivatives by central differences (step %.0e m)", GRAD_STEP)
    passes = 1 if not inputs.grad else 2 if analytic else 7
    progress.start("Sources", len(rr) * passes)
    try:
        gains = _compensated(evaluate(rr, progress), compensator)
        if not inputs.grad:
            grads = {}
        elif analytic:
            grads = _compensated(analytic(rr, progress), compensator)
        else:
            grads = _position_derivatives(evaluate, rr, compensator, progress)
    finally:
        progress.finish()
    if inputs.fixed:
        normals = mri_to_frame.rotate(np.concatenate([s.nn[s.vertno] for s in spaces]))
        gains = {name: _along_normals(g, normals, 1) for name, g in gains.items()}
        grads = {name: _along_normals(g, normals, 3) for name, g in grads.items()}
    for name, channels in (("meg", meg_chs), ("eeg", eeg_chs)):
        if name in gains:
            checks.check_gains([ch.name for ch in channels], gains[name], name.upper())

    fwd = Forward(
        source_spaces=spaces, coord_frame=frame,
        source_ori=SourceOri.FIXED if inputs.fixed else SourceOri.FREE,
        mri_head_t=inputs.mri_head_t.towards(Frame.MRI, Frame.HEAD),
        channels=[dataclasses.replace(ch, scanno=k + 1)
                  for k, ch in enumerate(meg_chs + eeg_chs)],
        dev_head_t=dev_head_t, bads=list(inputs.info.bads),
        meas_file=inputs.meas_file, meas_id=inputs.info.meas_id, mri_file=inputs.mri_file)
    if "meg" in gains:
        fwd.meg = ForwardBlock(Method.MEG, [ch.name for ch in meg_chs], gains["meg"],
                               grads.get("meg"))
    if "eeg" in gains:
        fwd.eeg = ForwardBlock(Method.EEG, [ch.name for ch in eeg_chs], gains["eeg"],
                               grads.get("eeg"))
    return fwd, omitted


def _channels(inputs: ForwardInputs) -> tuple[list[Channel], list[Channel], list[Channel]]:
    """MEG, reference and EEG channels to compute, in file order (SPEC 9.3 step 4)."""
    chans = inputs.info.channels
    meg = [ch for ch in chans if ch.kind == ChannelKind.MEG] if inputs.meg else []
    refs = [ch for ch in chans if ch.kind == ChannelKind.MEG_REF] if inputs.meg else []
    eeg = [ch for ch in chans if ch.kind == ChannelKind.EEG] if inputs.eeg else []
    for wanted, found, what in ((inputs.meg, meg, "MEG"), (inputs.eeg, eeg, "EEG")):
        if wanted and not found:
            raise InputError(f"{inputs.meas_file} has no {what} channels; drop --{what.lower()}.")
    return meg, refs, eeg


def _sensors(inputs: ForwardInputs, meg_chs, ref_chs, eeg_chs, head_to_frame: Transform):
    """Sensor sets in the computation frame, the device->head transform, the compensator.

    With compensation in effect the MEG set also holds the reference
    channels (after the MEG ones); reference coils use the normal
    integration, as in MNE-C.
    """
    sensors, compensator = {}, None
    dev_head_t = inputs.info.dev_head_t
    if meg_chs:
        if dev_head_t is None:
            logger.warning("%s has no device -> head transform; the device and head frames "
                           "are taken to coincide", inputs.meas_file)
            dev_head_t = Transform.identity(Frame.DEVICE, Frame.HEAD)
        require_rigid(dev_head_t, inputs.meas_file, "device->head")
        grade = current_grade(meg_chs, inputs.meas_file)
        if grade != 0 and inputs.info.comps:
            compensator = compensation_matrix(inputs.info, meg_chs, ref_chs, grade,
                                              inputs.meas_file)
        elif grade != 0:
            logger.warning("%s has compensation grade %d in effect but no compensation data; "
                           "the forward solution is not compensated", inputs.meas_file, grade)
        accuracy = ACCURACY_ACCURATE if inputs.accurate else ACCURACY_NORMAL
        device_to_frame = dev_head_t.then(head_to_frame)
        meg = meg_sensors(meg_chs, inputs.coil_defs, accuracy, device_to_frame)
        if compensator is not None:
            unplaced = checks.unplaced_channels(ref_chs)
            if unplaced:
                raise InputError(f"{len(unplaced)} MEG reference channels of {inputs.meas_file} "
                                 f"have no position ({few(unplaced)}); the compensation of "
                                 f"grade {grade} needs them: restore the channel information "
                                 "from the original recording.")
            refs = meg_sensors(ref_chs, inputs.coil_defs, ACCURACY_NORMAL, device_to_frame)
            meg = meg.joined(refs)
        sensors["meg"] = meg
    if eeg_chs:
        sensors["eeg"] = eeg_sensors(eeg_chs, head_to_frame)
    return sensors, dev_head_t, compensator


def _check_geometry(inputs: ForwardInputs, sensors: dict[str, SensorSet],
                    meg_chs: list[Channel], device_to_frame: Transform | None,
                    frame_to_mri: Transform) -> None:
    """Sensors against the head model, before computing (:mod:`.checks`)."""
    conductor = inputs.conductor
    names = [ch.name for ch in meg_chs]
    device_head = (f"the device->head transform of {inputs.meas_file}"
                   if inputs.info.dev_head_t is not None else
                   f"the identity device->head transform assumed for {inputs.meas_file} "
                   "(it has none)")
    centres = (device_to_frame.apply(np.array([ch.loc[:3] for ch in meg_chs]))
               if meg_chs else None)
    if isinstance(conductor, BemSolution):
        outer = conductor.surfaces[0]
        if meg_chs:
            checks.check_meg_outside_bem(frame_to_mri.apply(centres), names, outer,
                                         surface_label(outer), inputs.meas_file,
                                         inputs.mri_file, device_head, inputs.allow_inside)
        if "eeg" in sensors and len(conductor.surfaces) >= 3:
            checks.check_eeg_on_bem_scalp(sensors["eeg"].transformed(frame_to_mri), outer,
                                          inputs.meas_file, inputs.bem_file, inputs.mri_file)
    else:
        if meg_chs:
            checks.check_meg_outside_sphere(centres, names, conductor.origin, conductor.radius,
                                            inputs.meas_file, device_head, inputs.allow_inside)
        if "eeg" in sensors:
            checks.check_eeg_on_sphere(sensors["eeg"], conductor.origin, conductor.radius,
                                       inputs.meas_file)


def _compensated(gains: Gains, compensator) -> Gains:
    """Replace the MEG rows by B_meg - C B_ref and drop the reference rows."""
    if compensator is None or "meg" not in gains:
        return gains
    nmeg = len(compensator)  # rows: MEG channels; columns: reference channels
    meg = gains["meg"]
    return {**gains, "meg": meg[:nmeg] - compensator @ meg[nmeg:]}


def _position_derivatives(evaluate, rr: np.ndarray, compensator, progress: Progress) -> Gains:
    """d gain / d source position by central differences, (nchan, 9 nsrc).

    Column 9k + 3i + j is d(component i of source k)/d(coordinate j) in the
    computation frame (SPEC 9.10).
    """
    grads = {}
    for axis in range(3):
        step = np.zeros(3)
        step[axis] = GRAD_STEP
        ahead = _compensated(evaluate(rr + step, progress), compensator)
        behind = _compensated(evaluate(rr - step, progress), compensator)
        for name in ahead:
            d = (ahead[name] - behind[name]) / (2 * GRAD_STEP)
            grad = grads.setdefault(name, np.empty((len(d), 9 * len(rr))))
            grad.reshape(len(d), len(rr), 3, 3)[:, :, :, axis] = d.reshape(len(d), len(rr), 3)
    return grads


def _along_normals(gain: np.ndarray, normals: np.ndarray, per_component: int) -> np.ndarray:
    """Free-orientation columns projected on each source's normal.

    ``per_component`` columns belong to each dipole component (1 for the
    gain, 3 for its position derivatives).
    """
    nchan, nsrc = len(gain), len(normals)
    blocks = gain.reshape(nchan, nsrc, 3, per_component)
    return np.einsum("cski,sk->csi", blocks, normals).reshape(nchan, nsrc * per_component)


def _check_fixed_possible(spaces: list[SourceSpace], source: str) -> None:
    if any(s.type == SourceSpaceType.VOLUME for s in spaces):
        raise InputError(f"--fixed needs surface or discrete source spaces, but {source} holds "
                         "a volume grid, whose points have no normal.")


def _bem_evaluator(inputs: ForwardInputs, sensors: dict[str, SensorSet],
                   mri_to_frame: Transform):
    """Gains at any source positions with a BEM: one transfer matrix for all channels.

    Returns ``evaluate(rr, progress)`` and ``derivatives(rr, progress)``
    (analytic position derivatives), both by modality.
    """
    solution = inputs.conductor
    frame_to_mri = mri_to_frame.inverse()
    coeffs, sizes = _channel_rows(
        sensors, frame_to_mri, lambda meg: bem_fields.meg_coefficients(solution, meg),
        lambda eeg: bem_fields.eeg_coefficients(solution, eeg, inputs.bem_file))
    transfer = bem_fields.transfer_matrix(coeffs, solution)
    nodes, _ = bem_fields.bem_nodes(solution)
    nodes_in_frame = mri_to_frame.apply(nodes)

    def collect(chunks, per_source: int, nsrc: int, progress: Progress, primary) -> Gains:
        """The chunks' columns by modality, plus the primary field for MEG."""
        whole = np.empty((len(transfer), per_source * nsrc))
        for columns, block in chunks:
            whole[:, columns] = block
            progress.advance(block.shape[1] // per_source)
        result = _by_modality(whole, sizes)
        if "meg" in result:
            result["meg"] += primary(sensors["meg"])
        return result

    def evaluate(rr: np.ndarray, progress: Progress) -> Gains:
        chunks = bem_fields.bem_gain(frame_to_mri.apply(rr), nodes, transfer,
                                     frame_to_mri.matrix[:3, :3])
        return collect(chunks, 3, len(rr), progress,
                       lambda meg: bem_fields.primary_meg_gain(rr, meg))

    def derivatives(rr: np.ndarray, progress: Progress) -> Gains:
        """Analytic position derivatives, (nchan, 9 nsrc) per modality."""
        chunks = bem_fields.bem_gain_derivatives(rr, nodes_in_frame, transfer)
        return collect(chunks, 9, len(rr), progress,
                       lambda meg: bem_fields.primary_meg_gain_derivatives(rr, meg))

    return evaluate, derivatives


#: Sources x brain triangles per chunk of the symmetric-BEM source terms
#: (about 100 doubles each).
_SOURCE_TRIANGLE_PAIRS = 81920


def _symmetric_evaluator(inputs: ForwardInputs, sensors: dict[str, SensorSet],
                         mri_to_frame: Transform):
    """Gains at any source positions with a symmetric-BEM solution (OpenMEEG layout).

    One transfer matrix for all channels (:mod:`.symmetric_fields`). Returns
    ``evaluate(rr, progress)`` and ``derivatives(rr, progress)`` (analytic
    position derivatives of the source terms and of the primary field).
    """
    from . import symmetric_fields

    solution = inputs.conductor
    frame_to_mri = mri_to_frame.inverse()
    rows, sizes = _channel_rows(
        sensors, frame_to_mri, lambda meg: symmetric_fields.meg_rows(solution, meg),
        lambda eeg: bem_fields.eeg_coefficients(solution, eeg, inputs.bem_file))
    transfer = symmetric_fields.transfer(rows, solution)
    rotation = frame_to_mri.matrix[:3, :3]
    terms = symmetric_fields.brain_source_terms(solution)

    def by_chunks(rr: np.ndarray, per_source: int, compute, progress: Progress, primary):
        """``compute(sources in MRI)`` chunk by chunk on the worker threads, by modality."""
        whole = np.empty((len(transfer), per_source * len(rr)))
        in_mri = frame_to_mri.apply(rr)
        step = max(1, _SOURCE_TRIANGLE_PAIRS // (len(terms.tris) * per_source // 3))

        def chunk(sources: slice) -> None:
            whole[:, per_source * sources.start:per_source * sources.stop] = compute(
                in_mri[sources])

        thread_map(chunk, slices(len(rr), step),
                   lambda sources: progress.advance(sources.stop - sources.start))
        result = _by_modality(whole, sizes)
        if "meg" in result:
            result["meg"] += primary(rr, sensors["meg"])
        return result

    def evaluate(rr: np.ndarray, progress: Progress) -> Gains:
        return by_chunks(rr, 3, lambda sources: symmetric_fields.gains(
            sources, transfer, solution, rotation, terms), progress,
            bem_fields.primary_meg_gain)

    def derivatives(rr: np.ndarray, progress: Progress) -> Gains:
        return by_chunks(rr, 9, lambda sources: symmetric_fields.gain_derivatives(
            sources, transfer, solution, rotation, terms), progress,
            bem_fields.primary_meg_gain_derivatives)

    return evaluate, derivatives


def _channel_rows(sensors: dict[str, SensorSet], frame_to_mri: Transform, meg_rows, eeg_rows):
    """Rows of every channel, MEG first, from MRI-frame sensors; and each modality's count."""
    rows, sizes = [], {}
    for name, make in (("meg", meg_rows), ("eeg", eeg_rows)):
        if name in sensors:
            rows.append(make(sensors[name].transformed(frame_to_mri)))
            sizes[name] = sensors[name].nchan
    return np.concatenate(rows), sizes


def _by_modality(whole: np.ndarray, sizes: dict[str, int]) -> Gains:
    """The rows of ``whole`` split by modality, in the order of ``sizes``."""
    result, row = {}, 0
    for name, size in sizes.items():
        result[name] = whole[row:row + size]
        row += size
    return result


def _sphere_evaluator(sphere: SphereModel, sensors: dict[str, SensorSet], source: str):
    """Gains at any source positions in the sphere model."""
    from .eeg_sphere import eeg_sphere_potentials

    if "eeg" in sensors and sphere.eeg_fit is None:
        raise InputError(f"No EEG sphere model is available for {source}.")
    warned = []

    def evaluate(rr: np.ndarray, progress: Progress) -> Gains:
        gains = {}
        if "meg" in sensors:
            gains["meg"] = sphere_meg_gain(rr, sensors["meg"], sphere.origin)
        if "eeg" in sensors:
            eeg = sensors["eeg"]
            inner = sphere.eeg_fit.inner_radius * sphere.radius
            outside = np.linalg.norm(rr - sphere.origin, axis=1) >= inner
            if outside.any() and not warned:
                warned.append(True)
                logger.warning("%d sources lie outside the innermost sphere of the EEG model "
                               "(radius %.1f mm); their EEG is zero", outside.sum(),
                               inner * 1000)
            potentials = eeg_sphere_potentials(rr, eeg.points, sphere.eeg_fit, sphere.origin,
                                               sphere.radius,
                                               scalp_project=sphere.scalp_project)
            gains["eeg"] = eeg.combiner() @ potentials
        progress.advance(len(rr))
        return gains

    return evaluate
