"""Checks of the sensors against the head, before and after the computation.

A forward solution computed from impossible geometry looks like any other
file, so the geometry is checked before any work is done:

* every channel to compute has a position: a finite electrode (and
  reference) position at least 20 mm from the origin (MNE-C's rule for
  electrodes), a finite MEG coil origin with an orthonormal coil frame;
* EEG electrodes lie on the scalp: within :data:`EEG_OFF_SCALP_WARN` of the
  BEM scalp, within :data:`EEG_OFF_SPHERE_WARN` of the ``--eegrad`` sphere
  (a warning beyond that), and never metres away (an error naming the unit
  that was probably mistaken);
* MEG sensors (coil centres) lie outside the head: outside the outermost
  BEM surface, or the ``--eegrad`` sphere of the sphere model.

After the computation no channel may have a non-finite or all-zero row.

The sensor rule (MEG_INSIDE_LIMIT and SPHERE_INSIDE_LIMIT) is the one stated
in the forward_solution man page: no MEG coil can sit inside the head, so a
coil centre inside the scalp means a wrong head<->MRI or device->head
transform. A coil up to 3 mm inside is still computed, with a
warning, because a coarse or inflated scalp mesh can stick out that far
around a sensor that really was outside the skin; deeper is refused unless
``allow_inside`` (``--allowinside``) is given. MNE-C checked nothing;
MNE-Python refuses only sensors inside the inner skull.
"""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np

from ..errors import InputError
from ..fiff.constants import ChannelKind
from ..geometry.inside import inside_surface
from ..geometry.surface import nearest_surface_points
from ..objects import BemSurface, Channel
from ..units import MM_PER_M
from .sensors import EEG_LOCATION_MIN_NORM, SensorSet, few

logger = logging.getLogger(__name__)

#: EEG electrodes farther than this from the BEM scalp are reported (m); a
#: digitised electrode sits a few mm off an ico-3/ico-4 scalp mesh. On a
#: coarser mesh the limit is half its mean edge (ico-2: ~15 mm).
EEG_OFF_SCALP_WARN = 0.010
#: The same for the sphere model, against the --eegrad sphere (m): electrodes
#: low on a real head (face, mastoids, the reference) lie 3-5 cm off a sphere
#: that fits its top (the sample montage: 44 mm with the default sphere).
EEG_OFF_SPHERE_WARN = 0.050
#: Electrodes this far from the head (m) cannot be real: a unit mistake.
EEG_UNIT_ERROR = 0.3
#: MEG sensors deeper than this inside the outermost BEM surface are refused (m).
MEG_INSIDE_LIMIT = 0.003
#: MEG sensors deeper than this inside the --eegrad sphere are refused (m);
#: shallower ones get a warning (a sphere is a rough fit of a head).
SPHERE_INSIDE_LIMIT = 0.020
#: A MEG coil frame whose axes depart from orthonormal by more than this
#: (largest entry of A A^T - I) is no frame: missing or damaged.
COIL_FRAME_TOLERANCE = 1e-2

#: Names of the FIF channel kinds that have no forward solution, for the log.
OTHER_KINDS = {3: "stimulus", 102: "bio", 201: "MCG", 202: "EOG", 302: "EMG", 402: "ECG",
               502: "misc", 602: "respiration", 802: "sEEG", 803: "DBS", 900: "system",
               902: "ECoG", 910: "IAS", 920: "excitation", 1100: "fNIRS",
               1200: "temperature", 1300: "galvanic", 1400: "eye-tracking"}


def position_problem(ch: Channel) -> str | None:
    """Why a MEG or EEG channel has no usable position (None: it has one).

    EEG: the electrode position (``loc[0:3]``, m) is non-finite or closer
    than 20 mm to the origin (MNE-C's rule), or the reference position
    (``loc[3:6]``) is non-finite. MEG: the coil origin or frame
    (``loc[0:12]``) is non-finite, the origin is closer than 20 mm to the
    device origin (no coil sits inside the head), or the frame axes are not
    orthonormal (an all-zero ``loc`` is the common case).
    """
    loc = np.asarray(ch.loc, np.float64)
    if ch.kind == ChannelKind.EEG:
        if not np.isfinite(loc[:3]).all() or np.linalg.norm(loc[:3]) < EEG_LOCATION_MIN_NORM:
            return "no position"
        if not np.isfinite(loc[3:6]).all():
            return "no reference-electrode position"
        return None
    if not np.isfinite(loc[:12]).all() or np.linalg.norm(loc[:3]) < EEG_LOCATION_MIN_NORM:
        return "no position"
    axes = loc[3:12].reshape(3, 3)
    if np.abs(axes @ axes.T - np.eye(3)).max() > COIL_FRAME_TOLERANCE:
        return "a coil orientation that is not orthonormal"
    return None


def unplaced_channels(channels: list[Channel]) -> list[str]:
    """Names of the channels without a usable position (:func:`position_problem`)."""
    return [ch.name for ch in channels if position_problem(ch)]


def check_positions(meg: list[Channel], eeg: list[Channel], source: str,
                    modalities_given: bool) -> None:
    """Refuse channels to compute that have no position.

    Parameters
    ----------
    meg, eeg : list of Channel
        The channels about to be computed.
    source : str
        The measurement file, for the message.
    modalities_given : bool
        Whether --meg/--eeg chose the modalities; if not and only one
        modality lacks positions, the message says how to compute the other.

    Raises
    ------
    InputError
        Naming the first few channels, their count and the fix.
    """
    for channels, what, other in ((eeg, "EEG", meg), (meg, "MEG", eeg)):
        problems = {}
        for ch in channels:
            problem = position_problem(ch)
            if problem:
                problems.setdefault(problem, []).append(ch.name)
        if not problems:
            continue
        missing = [name for names in problems.values() for name in names]
        count = f"{len(missing)} of {len(channels)} {what} channels"
        if what == "EEG":
            fix = ("if they are not scalp electrodes (ECG, EOG, EMG, ...), give them their own "
                   "channel type (MNE-Python: set_channel_types), otherwise add the electrode "
                   "positions (set_montage)")
        else:
            fix = ("restore the channel information from the original recording, or drop these "
                   "channels (MNE-Python: drop_channels)")
        if not modalities_given and other and not unplaced_channels(other):
            other_flag = "--meg" if what == "EEG" else "--eeg"
            fix += f"; {other_flag} computes only the {'MEG' if what == 'EEG' else 'EEG'} part"
        if list(problems) == ["no position"]:
            listed = f"no position ({few(missing)})"
        else:
            listed = "no usable position (" + "; ".join(
                f"{few(names)}: {problem}" for problem, names in problems.items()) + ")"
        raise InputError(f"{count} of {source} have {listed}: {fix}.")


def log_left_out(channels: list[Channel], meg: bool, eeg: bool) -> None:
    """One info line counting the channels that get no forward solution."""
    computed = {ChannelKind.MEG_REF}
    if meg:
        computed.add(ChannelKind.MEG)
    if eeg:
        computed.add(ChannelKind.EEG)
    counts = Counter(ch.kind for ch in channels if ch.kind not in computed)
    if not counts:
        return
    names = {ChannelKind.MEG: "MEG (not asked for)", ChannelKind.EEG: "EEG (not asked for)",
             **OTHER_KINDS}
    parts = [f"{n} {names.get(kind, f'kind-{kind}')}" for kind, n in sorted(counts.items())]
    logger.info("Not computed: %s channel%s", ", ".join(parts),
                "" if sum(counts.values()) == 1 else "s")


def check_eeg_on_bem_scalp(sensors: SensorSet, scalp: BemSurface, source: str,
                           bem_file: str, trans_file: str | None) -> None:
    """Electrodes against the BEM scalp, both in MRI coordinates (m).

    Raises
    ------
    InputError
        An electrode lies more than :data:`EEG_UNIT_ERROR` from the scalp.
    """
    points, labels = _electrodes(sensors)
    _, _, dist = nearest_surface_points(points, scalp.rr, scalp.tris)
    centre = scalp.rr.mean(axis=0)
    head_radius = np.median(np.linalg.norm(scalp.rr - centre, axis=1))
    # A coarse mesh cuts corners (nose, ears, neck) by up to half an edge.
    edges = scalp.rr[scalp.tris] - scalp.rr[np.roll(scalp.tris, 1, axis=1)]
    half_edge = np.linalg.norm(edges, axis=-1).mean() / 2
    _report_off_scalp(points, labels, dist, centre, head_radius,
                      max(EEG_OFF_SCALP_WARN, half_edge), f"the scalp of {bem_file}", source,
                      trans_file)


def check_eeg_on_sphere(sensors: SensorSet, origin: np.ndarray, radius: float,
                        source: str) -> None:
    """Electrodes against the --eegrad sphere (computation frame, m)."""
    points, labels = _electrodes(sensors)
    from_origin = np.linalg.norm(points - origin, axis=1)
    _report_off_scalp(points, labels, np.abs(from_origin - radius), origin, radius,
                      EEG_OFF_SPHERE_WARN,
                      f"the {radius * MM_PER_M:g} mm scalp sphere (--eegrad)", source, None)


def _electrodes(sensors: SensorSet) -> tuple[np.ndarray, list[str]]:
    """Each distinct electrode once: the channels' own, then their references."""
    own = sensors.weights > 0
    labels = [sensors.names[c] for c in sensors.channel[own]]
    refs = np.unique(sensors.points[~own], axis=0)
    return (np.concatenate([sensors.points[own], refs]),
            labels + ["the reference electrode"] * len(refs))


def _report_off_scalp(points: np.ndarray, labels: list[str], dist: np.ndarray,
                      centre: np.ndarray, head_radius: float, warn_beyond: float, scalp: str,
                      source: str, trans_file: str | None) -> None:
    worst = int(np.argmax(dist))
    if dist[worst] > EEG_UNIT_ERROR:
        ratio = np.median(np.linalg.norm(points - centre, axis=1)) / head_radius
        factor = 10.0 ** np.round(np.log10(ratio))
        unit = {100.0: "centimetres", 1000.0: "millimetres"}.get(factor)
        guess = (f"they look like {unit} stored as metres (scale them by {1 / factor:g})"
                 if unit else "the positions are in a wrong unit or coordinate frame")
        raise InputError(f"EEG electrodes of {source} lie up to {dist[worst]:.3g} m from "
                         f"{scalp} ({labels[worst]}): {guess}; FIF positions are in metres.")
    off = dist > warn_beyond
    if off.any():
        cause = (f"check the head<->MRI transform ({trans_file}) and the electrode positions"
                 if trans_file else "check the electrode positions, --origin and --eegrad")
        logger.warning("%d of %d EEG electrodes of %s lie more than %g mm from %s (farthest: "
                       "%s, %.1f mm); %s", off.sum(), len(points), source,
                       warn_beyond * MM_PER_M, scalp, labels[worst], dist[worst] * MM_PER_M,
                       cause)


def check_meg_outside_bem(centres: np.ndarray, names: list[str], outer: BemSurface,
                          surface_name: str, source: str, trans_file: str | None,
                          device_head: str, allow_inside: bool) -> None:
    """MEG coil centres against the outermost BEM surface.

    Parameters
    ----------
    centres : ndarray, shape (nchan, 3)
        Coil origins (``loc[0:3]``), MRI frame, m.
    names : list of str
        Channel names.
    outer : BemSurface
        The outermost surface of the model (MRI frame).
    device_head : str
        How the device->head transform came about, for the message.

    Raises
    ------
    InputError
        A coil lies deeper than :data:`MEG_INSIDE_LIMIT` inside, unless
        ``allow_inside``.
    """
    inside = np.flatnonzero(inside_surface(centres, outer.rr, outer.tris))
    if not len(inside):
        return
    _, _, depth = nearest_surface_points(centres[inside], outer.rr, outer.tris)
    transforms = f"the head<->MRI transform ({trans_file or 'none given'}) or {device_head}"
    _report_inside(names, inside, depth, MEG_INSIDE_LIMIT, f"the {surface_name}", source,
                   transforms, allow_inside)


def check_meg_outside_sphere(centres: np.ndarray, names: list[str], origin: np.ndarray,
                             radius: float, source: str, device_head: str,
                             allow_inside: bool) -> None:
    """MEG coil centres against the --eegrad sphere (computation frame, m)."""
    depth = radius - np.linalg.norm(centres - origin, axis=1)
    inside = np.flatnonzero(depth > 0)
    if len(inside):
        _report_inside(names, inside, depth[inside], SPHERE_INSIDE_LIMIT,
                       f"the {radius * MM_PER_M:g} mm head sphere (--eegrad, --origin)", source,
                       f"{device_head} or --origin/--eegrad",
                       allow_inside)


def _report_inside(names: list[str], inside: np.ndarray, depth: np.ndarray, limit: float,
                   head: str, source: str, cause: str, allow_inside: bool) -> None:
    worst = int(np.argmax(depth))
    what = (f"{len(inside)} of {len(names)} MEG sensors of {source} lie inside {head} "
            f"(deepest: {names[inside[worst]]}, {depth[worst] * MM_PER_M:.1f} mm)")
    if depth[worst] > limit and not allow_inside:
        raise InputError(f"{what}: {cause} is probably wrong; --allowinside computes anyway.")
    logger.warning("%s; check %s", what, cause)


def check_gains(names: list[str], gain: np.ndarray, what: str) -> None:
    """Refuse a gain matrix with non-finite or all-zero rows (never written).

    Raises
    ------
    InputError
        Naming the channels; the geometry checks above should have caught the
        cause, so this is a last guard.
    """
    finite = np.isfinite(gain).all(axis=1)
    if not finite.all():
        bad = [n for n, ok in zip(names, finite) if not ok]
        raise InputError(f"The {what} forward solution of {few(bad)} is not finite; no output "
                         "was written (please report this with the input files).")
    zero = ~gain.any(axis=1)
    if zero.all():
        raise InputError(f"Every {what} channel has an all-zero forward solution: no source "
                         "lies where the head model can see it; check --origin, --eegrad and "
                         "the source space (all lengths are in mm).")
    if zero.any():
        bad = [n for n, z in zip(names, zero) if z]
        raise InputError(f"The {what} forward solution of {few(bad)} is zero for every source; "
                         "check these channels' positions.")
