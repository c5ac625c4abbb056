"""Sensors against the head: no silent wrong forward solution (issue 13, items 1, 2, 7).

Real recordings are damaged in the sample Vectorview + EEG file of the
shared data (positions set to NaN, zero, scaled; the head<->MRI transform
shifted) and in the cases of ``shared/cases``. Each run must either compute
(exit 0, finite numbers, the warnings asked for) or fail with one line on
stderr that names the file and the cause, and leave no output.

The numbers asserted come from the geometry itself, computed here
independently of the code under test: the coil centres inside the scalp are
counted with MNE-Python's own surface test and the depths with a
brute-force nearest-vertex bound.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner

from mne_cli.cli.forward_solution import main as forward_solution
from mne_cli.errors import InputError
from mne_cli.fiff.constants import ChannelKind, Frame
from mne_cli.forward.checks import check_gains, check_positions, unplaced_channels
from mne_cli.io.forward import read_forward
from mne_cli.io.meas import read_meas_info, write_meas_info
from mne_cli.io.transform import read_head_mri_transform, write_trans
from mne_cli.objects import Transform

from .compare import point_triangle_distances
from .conftest import case_file


def _run(args, expect: int):
    """Run forward_solution; return stderr lines. Checks the exit status and the output."""
    result = CliRunner().invoke(forward_solution, [str(a) for a in args])
    assert result.exit_code == expect, result.stderr + repr(result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception,
                                                                       SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if expect:
        assert len(lines) == 1, lines
        assert lines[0].startswith("forward_solution: ")
        fwd = args[args.index("--fwd") + 1]
        assert not fwd.exists()
    return lines


def _changed(info, tmp_path, name: str, change) -> str:
    """The measurement info with ``change(channel) -> loc or None`` applied, as a file."""
    channels = []
    for ch in info.channels:
        loc = change(ch)
        channels.append(ch if loc is None else dataclasses.replace(ch, loc=np.asarray(loc)))
    path = tmp_path / name
    write_meas_info(path, dataclasses.replace(info, channels=channels))
    return path


@pytest.fixture(scope="module")
def sample(sample_forward_inputs):
    return {**sample_forward_inputs, "info": read_meas_info(sample_forward_inputs["meas"])}


def _bem_args(sample, meas, fwd, *extra, trans=None):
    return ["--src", sample["cortex"], "--meas", meas, "--mri", trans or sample["trans"],
            "--bem", sample["sol"], "--fwd", fwd, "-q", *extra]


def _sphere_args(sample, meas, fwd, *extra, trans=None):
    return ["--src", sample["cortex"], "--meas", meas, "--mri", trans or sample["trans"],
            "--fwd", fwd, "-q", *extra]


# ----------------------------------------------------------- 1. sensor positions

def test_unplaced_channels_rules(sample):
    """NaN, inf, all-zero and near-origin positions; a damaged coil frame."""
    meg = next(ch for ch in sample["info"].channels if ch.kind == ChannelKind.MEG)
    eeg = next(ch for ch in sample["info"].channels if ch.kind == ChannelKind.EEG)
    good_meg, good_eeg = meg.loc.copy(), eeg.loc.copy()

    def variant(ch, name, loc):
        return dataclasses.replace(ch, name=name, loc=np.asarray(loc, float))

    nan_ref = good_eeg.copy()
    nan_ref[3:6] = np.nan
    tail_nan = good_eeg.copy()
    tail_nan[6:] = np.nan          # MNE-Python's "unused": fine
    skewed = good_meg.copy()
    skewed[3:6] *= 1.5             # ex no longer a unit vector
    channels = [variant(meg, "ok-meg", good_meg), variant(eeg, "ok-eeg", good_eeg),
                variant(eeg, "ok-tail", tail_nan),
                variant(meg, "zero-meg", np.zeros(12)),
                variant(meg, "nan-meg", np.where(np.arange(12) == 4, np.nan, good_meg)),
                variant(meg, "inf-meg", np.where(np.arange(12) == 0, np.inf, good_meg)),
                variant(meg, "skew-meg", skewed),
                variant(eeg, "zero-eeg", np.zeros(12)),
                variant(eeg, "near-eeg", np.r_[0.019, 0, 0, np.zeros(9)]),
                variant(eeg, "nan-eeg", np.full(12, np.nan)),
                variant(eeg, "nanref-eeg", nan_ref)]
    assert unplaced_channels(channels) == ["zero-meg", "nan-meg", "inf-meg", "skew-meg",
                                           "zero-eeg", "near-eeg", "nan-eeg", "nanref-eeg"]


def test_eeg_nan_positions_case_bem_and_sphere(sample, tmp_path):
    """The BrainVision case: ECG/HEOG/VEOG typed EEG with NaN positions."""
    meas = case_file("eeg-nan-positions_raw.fif")
    for args in (_bem_args(sample, meas, tmp_path / "a-fwd.fif", trans=None),
                 _sphere_args(sample, meas, tmp_path / "b-fwd.fif")):
        (line,) = _run(args, 1)
        assert str(meas) in line and "3 of 67 EEG channels" in line
        assert "ECG, HEOG, VEOG" in line and "channel type" in line


@pytest.mark.parametrize("bad", ["zero", "nan"])
def test_meg_without_positions(sample, tmp_path, bad):
    """Two MEG channels damaged: refused, with the other modality offered when implied."""
    damaged = {"MEG 0113", "MEG 2643"}
    meas = _changed(sample["info"], tmp_path, f"{bad}_raw.fif",
                    lambda ch: (np.zeros(12) if bad == "zero" else np.full(12, np.nan))
                    if ch.name in damaged else None)
    (line,) = _run(_bem_args(sample, meas, tmp_path / "x-fwd.fif"), 1)
    assert "2 of 306 MEG channels" in line and "MEG 0113, MEG 2643" in line
    assert str(meas) in line and "--eeg computes only the EEG part" in line
    (line,) = _run(_bem_args(sample, meas, tmp_path / "x-fwd.fif", "--meg"), 1)
    assert "MEG 0113" in line and "--eeg" not in line
    # The EEG part alone is fine.
    _run(_bem_args(sample, meas, tmp_path / "x-fwd.fif", "--eeg"), 0)
    assert read_forward(tmp_path / "x-fwd.fif").eeg.sol.shape[0] == 60


def test_eeg_nan_with_meg_implied_offers_meg(sample, tmp_path):
    meas = _changed(sample["info"], tmp_path, "eegnan_raw.fif",
                    lambda ch: np.full(12, np.nan) if ch.name in ("EEG 004", "EEG 017")
                    else None)
    (line,) = _run(_sphere_args(sample, meas, tmp_path / "x-fwd.fif"), 1)
    assert "2 of 60 EEG channels" in line and "--meg computes only the MEG part" in line
    (line,) = _run(_sphere_args(sample, meas, tmp_path / "x-fwd.fif", "--eeg"), 1)
    assert "EEG 004, EEG 017" in line and "--meg" not in line


# ------------------------------------------------------- 2. plausible geometry

def _coil_centres_mri(info, trans) -> np.ndarray:
    head_mri = read_head_mri_transform(trans).towards(Frame.HEAD, Frame.MRI)
    centres = np.array([ch.loc[:3] for ch in info.channels if ch.kind == ChannelKind.MEG])
    return info.dev_head_t.then(head_mri).apply(centres)


def _inside_scalp_reference(info, trans, bem) -> tuple[int, float]:
    """Coil centres inside the sample scalp and the deepest one's depth (mm).

    MNE-Python's surface test decides inside; the depth is the brute-force
    distance to the mesh.
    """
    mne = pytest.importorskip("mne")
    from mne.surface import _CheckInside

    scalp = mne.read_bem_surfaces(bem)[0]
    rr = _coil_centres_mri(info, trans)
    inside = _CheckInside(scalp)(rr)
    depth = point_triangle_distances(rr[inside], scalp["rr"], scalp["tris"]).min(axis=1)
    return int(inside.sum()), float(depth.max(initial=0) * 1000)


def test_bad_trans_case_refused_then_allowed(sample, tmp_path):
    """The transform moved 40 mm: 33 coils inside the scalp, the deepest ~9 mm."""
    trans = case_file("bad-trans.fif")
    count, depth_bound = _inside_scalp_reference(sample["info"], trans, sample["bem"])
    assert count == 33
    fwd = tmp_path / "x-fwd.fif"
    (line,) = _run(_bem_args(sample, sample["meas"], fwd, trans=trans), 1)
    assert f"{count} of 306 MEG sensors" in line and "inside the outer skin" in line
    assert str(trans) in line and "--allowinside" in line
    depth = float(line.split("deepest: ")[1].split(", ")[1].split(" mm")[0])
    assert depth == pytest.approx(depth_bound, abs=0.051)   # printed with one decimal
    lines = _run(_bem_args(sample, sample["meas"], fwd, "--allowinside", trans=trans), 0)
    assert any(f"{count} of 306 MEG sensors" in ln for ln in lines)
    assert any("EEG electrodes" in ln and "more than 10 mm" in ln for ln in lines)
    fwd_data = read_forward(fwd)
    assert np.isfinite(fwd_data.meg.sol).all() and np.isfinite(fwd_data.eeg.sol).all()


@pytest.mark.parametrize("shift_mm, refused", [(40, True), (0, False)])
def test_shifted_transform(sample, tmp_path, shift_mm, refused):
    """A synthetic shift of the sample transform along the head z axis."""
    t = read_head_mri_transform(sample["trans"]).towards(Frame.HEAD, Frame.MRI)
    matrix = t.matrix.copy()
    matrix[:3, 3] += matrix[:3, :3] @ [0, 0, -shift_mm / 1000]   # head moves up in MRI
    trans = tmp_path / "shifted-trans.fif"
    write_trans(trans, Transform(Frame.HEAD, Frame.MRI, matrix))
    count, _ = _inside_scalp_reference(sample["info"], trans, sample["bem"])
    assert (count > 0) == refused
    lines = _run(_bem_args(sample, sample["meas"], tmp_path / "x-fwd.fif", "--meg",
                           trans=trans), 1 if refused else 0)
    if refused:
        assert f"{count} of 306 MEG sensors" in lines[0]
    else:
        assert lines == []


@pytest.mark.parametrize("scale, unit", [(100, "centimetres"), (1000, "millimetres")])
def test_eeg_positions_in_wrong_unit(sample, tmp_path, scale, unit):
    """Electrode positions scaled as if cm or mm had been stored as metres."""
    def scaled(ch):
        return np.r_[ch.loc[:6] * scale, ch.loc[6:]] if ch.kind == ChannelKind.EEG else None

    meas = _changed(sample["info"], tmp_path, "scaled_raw.fif", scaled)
    for args in (_bem_args(sample, meas, tmp_path / "x-fwd.fif"),
                 _sphere_args(sample, meas, tmp_path / "x-fwd.fif")):
        (line,) = _run(args, 1)
        assert str(meas) in line and f"look like {unit} stored as metres" in line


def test_eeg_off_the_scalp_warns(sample, tmp_path):
    """The mgh70 montage on the sample head: computed, with the worst electrode named."""
    mne = pytest.importorskip("mne")
    meas = case_file("mgh70_eeg_raw.fif")
    lines = _run(_bem_args(sample, meas, tmp_path / "x-fwd.fif"), 0)
    scalp = mne.read_bem_surfaces(sample["bem"])[0]
    head_mri = read_head_mri_transform(sample["trans"]).towards(Frame.HEAD, Frame.MRI)
    info = read_meas_info(meas)
    # 70 electrodes and their common reference.
    rr = head_mri.apply(np.array([ch.loc[:3] for ch in info.channels]
                                 + [info.channels[0].loc[3:6]]))
    dist = point_triangle_distances(rr, scalp["rr"], scalp["tris"]).min(axis=1)
    (warning,) = lines
    worst = info.channels[int(np.argmax(dist))].name
    assert warning.startswith(f"{(dist > 0.010).sum()} of 71 EEG electrodes of {meas} lie "
                              "more than 10 mm from the scalp")
    assert f"(farthest: {worst}, {dist.max() * 1000:.1f} mm)" in warning
    assert "head<->MRI transform" in warning


def test_meg_inside_the_sphere(sample, tmp_path):
    """--eegrad 150: coils 106-148 mm from the origin lie up to 44 mm inside."""
    fwd = tmp_path / "x-fwd.fif"
    (line,) = _run(_sphere_args(sample, sample["meas"], fwd, "--meg", "--eegrad", "150"), 1)
    assert "306 of 306 MEG sensors" in line and "150 mm head sphere" in line
    lines = _run(_sphere_args(sample, sample["meas"], fwd, "--meg", "--eegrad", "150",
                              "--allowinside"), 0)
    assert any("306 of 306 MEG sensors" in ln for ln in lines)
    # A grazing sphere (a few coils less than 20 mm inside) only warns.
    lines = _run(_sphere_args(sample, sample["meas"], fwd, "--meg", "--eegrad", "110"), 0)
    assert len(lines) == 1 and "MEG sensors" in lines[0]


def test_all_zero_eeg_is_an_error(sample, tmp_path):
    """Lengths in metres: every source outside the 0.09 mm sphere, EEG all zero."""
    fwd = tmp_path / "x-fwd.fif"
    result = CliRunner().invoke(forward_solution, [str(a) for a in _sphere_args(
        sample, sample["meas"], fwd, "--eeg", "--origin", "0:0:0.04", "--eegrad", "0.09")])
    assert result.exit_code == 1 and not fwd.exists()
    lines = result.stderr.splitlines()
    assert "--origin 0:0:0.04: lengths are in mm; did you mean 0:0:40?" in lines
    assert "--eegrad 0.09: lengths are in mm; did you mean 90?" in lines
    assert "all-zero forward solution" in lines[-1]


def test_check_gains_refuses_nan_and_zero_rows():
    gain = np.ones((3, 6))
    check_gains(["a", "b", "c"], gain, "MEG")
    gain[1, 2] = np.nan
    with pytest.raises(InputError, match="of b is not finite"):
        check_gains(["a", "b", "c"], gain, "MEG")
    gain[1] = 1
    gain[2] = 0
    with pytest.raises(InputError, match="of c is zero for every source"):
        check_gains(["a", "b", "c"], gain, "EEG")


def test_check_positions_advice():
    """The advice depends on whether the modalities were chosen."""
    with pytest.raises(InputError, match="channel type"):
        check_positions([], [_eeg("E1", np.nan)], "f.fif", modalities_given=False)


def _eeg(name, value):
    from mne_cli.objects import Channel

    return Channel(1, 1, ChannelKind.EEG, 1.0, 1.0, 1, np.full(12, value), 107, 0, name)


# --------------------------------------------------------- 7. what was left out

def test_left_out_channels_are_counted(sample, tmp_path):
    args = _bem_args(sample, sample["meas"], tmp_path / "x-fwd.fif", "--meg")
    args.remove("-q")
    result = CliRunner().invoke(forward_solution, [str(a) for a in args])
    assert result.exit_code == 0, result.stderr
    assert "Not computed: 60 EEG (not asked for), 9 stimulus, 1 EOG channels" in result.stderr


# ------------------------------------------- transforms and options (fresh-eyes sweep)

def test_non_rigid_device_head_transform(sample, tmp_path):
    """A scaled device->head rotation would shrink every MEG row without a word."""
    matrix = sample["info"].dev_head_t.matrix.copy()
    matrix[:3, :3] *= 2
    meas = tmp_path / "scaled-dev-head_raw.fif"
    write_meas_info(meas, dataclasses.replace(
        sample["info"], dev_head_t=dataclasses.replace(sample["info"].dev_head_t,
                                                       matrix=matrix)))
    (line,) = _run(_sphere_args(sample, meas, tmp_path / "x-fwd.fif", "--meg"), 1)
    assert str(meas) in line and "device->head transform is not a rigid rotation" in line


@pytest.mark.parametrize("damage, says", [("scaled", "not a rigid rotation"),
                                          ("millimetres", "written in mm instead of m")])
def test_damaged_head_mri_transform(sample, tmp_path, damage, says):
    t = read_head_mri_transform(sample["trans"]).towards(Frame.HEAD, Frame.MRI)
    matrix = t.matrix.copy()
    if damage == "scaled":
        matrix[:3, :3] *= 1.1
    else:
        matrix[:3, 3] *= 1000
    trans = tmp_path / f"{damage}-trans.fif"
    write_trans(trans, Transform(Frame.HEAD, Frame.MRI, matrix))
    for args in (_bem_args(sample, sample["meas"], tmp_path / "x-fwd.fif", trans=trans),
                 _sphere_args(sample, sample["meas"], tmp_path / "x-fwd.fif", trans=trans)):
        (line,) = _run(args, 1)
        assert str(trans) in line and says in line


def test_position_problems_are_named(sample, tmp_path):
    """A NaN reference and a damaged coil frame are named as such."""
    def damage(ch):
        loc = ch.loc.copy()
        if ch.name == "EEG 001":
            loc[3:6] = np.nan
            return loc
        if ch.name == "MEG 0142":
            loc[3:6] *= 1.5
            return loc
        return None

    meas = _changed(sample["info"], tmp_path, "damaged_raw.fif", damage)
    (line,) = _run(_sphere_args(sample, meas, tmp_path / "x-fwd.fif", "--eeg"), 1)
    assert "1 of 60 EEG channels" in line and "EEG 001: no reference-electrode position" in line
    (line,) = _run(_sphere_args(sample, meas, tmp_path / "x-fwd.fif", "--meg"), 1)
    assert "MEG 0142: a coil orientation that is not orthonormal" in line


def test_coarse_bem_gives_no_false_alarm(sample, tmp_path):
    """The clean sample recording on MNE's own ico-2 BEM: computed without a warning."""
    from .conftest import testing_file

    bem = testing_file("subjects/sample/bem/sample-320-320-320-bem-sol.fif")
    args = _bem_args(sample, sample["meas"], tmp_path / "x-fwd.fif")
    args[args.index("--bem") + 1] = bem
    assert _run(args, 0) == []


@pytest.mark.parametrize("option, value", [
    ("--origin", "nan:0:0"), ("--origin", "0:inf:0"), ("--origin", "0:0:500"),
    ("--eegrad", "0"), ("--eegrad", "-90"), ("--eegrad", "nan"), ("--eegrad", "inf"),
    ("--mindist", "-5"), ("--mindist", "nan")])
def test_impossible_option_values(sample, tmp_path, option, value):
    result = CliRunner().invoke(forward_solution, [str(a) for a in _sphere_args(
        sample, sample["meas"], tmp_path / "x-fwd.fif", option, value)])
    assert result.exit_code == 2
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error: ")]
    assert len(errors) == 1 and option in errors[0] and value in errors[0]


def test_options_the_head_model_ignores_are_named(sample, tmp_path):
    lines = _run(_sphere_args(sample, sample["meas"], tmp_path / "x-fwd.fif", "--meg",
                              "--mindist", "5"), 0)
    assert lines == ["--mindist applies only with a BEM (--bem); ignored"]
    lines = _run(_bem_args(sample, sample["meas"], tmp_path / "x-fwd.fif", "--meg",
                           "--eegrad", "85", "--origin", "0:0:45"), 0)
    assert lines == ["--origin, --eegrad apply only with the sphere model (no --bem); ignored"]
