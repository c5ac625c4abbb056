"""The bundled demo subject (share/demo) and its Makefile; no shared data needed.

Three groups:

- the bundled files read back with mne_cli's readers, with nibabel and with
  MNE-Python, and have the geometry the demo promises (nested shells,
  cortex clear of the inner skull, electrodes on the scalp, sensors
  outside it);
- ``make -C <copy of share/demo>`` runs the whole chain with the console
  scripts of this interpreter's environment, and every forward solution it
  writes reads in MNE-Python (the slow test, about 15 s);
- the run-1 forward solutions agree with ``mne.make_forward_solution`` on the
  same inputs.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys

import nibabel.freesurfer
import numpy as np
import pytest

from mne_cli.fiff.constants import ChannelKind, Frame
from mne_cli.geometry.inside import inside_surface
from mne_cli.geometry.solid_angle import solid_angle_sums
from mne_cli.geometry.surface import distance_to_surface, vertex_normals
from mne_cli.io.meas import read_meas_info
from mne_cli.io.surface import read_freesurfer_surface
from mne_cli.io.transform import read_trans

from .conftest import REPO

mne = pytest.importorskip("mne")

DEMO = REPO / "share" / "demo"
SUBJECT = DEMO / "subjects" / "demo"
RUNS = (DEMO / "demo_run1_raw.fif", DEMO / "demo_run2_raw.fif")
TRANS = DEMO / "demo-trans.fif"
BEM_NAMES = ("inner_skull", "outer_skull", "outer_skin")
N_MEG, N_EEG = 306, 60
TOLERANCE = 1e-4  # relative Frobenius difference from MNE-Python per channel type


# --- helpers -----------------------------------------------------------------

def _bem(name: str) -> tuple[np.ndarray, np.ndarray]:
    return read_freesurfer_surface(SUBJECT / "bem" / f"{name}.surf")


def _moved(rr, tris, outward_m):
    """The surface with every vertex moved along its unit normal (an offset surface)."""
    return rr + outward_m * vertex_normals(rr, tris), tris


def _head_to_mri(points):
    return read_trans(TRANS).towards(Frame.HEAD, Frame.MRI).apply(points)


def _rotation_degrees(matrix) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(matrix[:3, :3]) - 1) / 2, -1, 1))))


# --- the bundled files -------------------------------------------------------

@pytest.mark.parametrize("name, nvert", [(f"bem/{n}.surf", 2562) for n in BEM_NAMES]
                         + [(f"surf/{h}.{s}", 10242) for h in ("lh", "rh")
                            for s in ("white", "sphere")])
def test_surfaces_read_back_with_nibabel(name, nvert):
    """Each surface is an icosahedron (grade 4 head, grade 5 cortex) in mm on disk."""
    rr, tris = read_freesurfer_surface(SUBJECT / name)
    rr_mm, tris_nib = nibabel.freesurfer.read_geometry(str(SUBJECT / name))
    assert rr.shape == (nvert, 3) and len(tris) == 2 * nvert - 4
    np.testing.assert_array_equal(tris, tris_nib)
    np.testing.assert_allclose(rr * 1000, rr_mm, rtol=1e-6)
    if name.endswith("sphere"):
        np.testing.assert_allclose(np.linalg.norm(rr, axis=1), 0.1, rtol=1e-6)


def test_bem_shells_are_nested_outward_and_apart():
    """Outward triangles, each shell inside the next, 4-8 mm between them."""
    shells = [_bem(n) for n in BEM_NAMES]
    centre = shells[0][0].mean(axis=0)
    for rr, tris in shells:
        np.testing.assert_allclose(solid_angle_sums(centre[None], rr, tris), 4 * np.pi)
    for (inner, _), (outer_rr, outer_tris) in itertools.pairwise(shells):
        assert inside_surface(inner, outer_rr, outer_tris).all()
        gaps = distance_to_surface(inner, outer_rr, outer_tris)
        assert 0.004 < gaps.min() and gaps.max() < 0.008
    radius = np.linalg.norm(shells[0][0] - centre, axis=1)
    assert 0.070 < radius.mean() < 0.085  # an adult-size inner skull


def test_mne_accepts_the_bem_surfaces(tmp_path):
    """MNE-Python's own checks (closed, nested, thick enough) pass on the head."""
    model = mne.make_bem_model("demo", ico=3, subjects_dir=DEMO / "subjects", verbose=False)
    assert [s["ntri"] for s in model] == [1280] * 3


def test_cortex_is_inside_the_inner_skull_with_clearance():
    """Both hemispheres > 8 mm inside the inner skull and > 2 mm apart."""
    inner = _bem("inner_skull")
    lh = read_freesurfer_surface(SUBJECT / "surf" / "lh.white")[0]
    rh, rh_tris = read_freesurfer_surface(SUBJECT / "surf" / "rh.white")
    for rr in (lh, rh):
        assert inside_surface(rr, *_moved(*inner, -0.008)).all()
    assert lh[:, 0].mean() < -0.025 and rh[:, 0].mean() > 0.025
    assert not inside_surface(lh, *_moved(rh, rh_tris, 0.002)).any()


def test_mne_sets_up_an_ico3_source_space():
    """The ?h.sphere files are exact icosahedra: MNE-Python's ico-3 uses 642 vertices each."""
    src = mne.setup_source_space("demo", spacing="ico3", subjects_dir=DEMO / "subjects",
                                 add_dist=False, verbose=False)
    assert [s["nuse"] for s in src] == [642, 642]


def test_trans_reads_in_mne_cli_and_mne():
    """head -> MRI, a small rotation and a translation of a few cm."""
    ours = read_trans(TRANS)
    theirs = mne.read_trans(TRANS)
    assert (ours.from_frame, ours.to_frame) == (Frame.HEAD, Frame.MRI)
    assert (theirs["from"], theirs["to"]) == (Frame.HEAD, Frame.MRI)
    np.testing.assert_allclose(ours.matrix, theirs["trans"], atol=1e-7)
    assert 0.5 < _rotation_degrees(ours.matrix) < 10
    assert 0.01 < np.linalg.norm(ours.matrix[:3, 3]) < 0.06


@pytest.mark.parametrize("path", RUNS, ids=("run1", "run2"))
def test_measurement_reads_in_mne_cli_and_mne(path):
    """306 Vectorview-style MEG + 60 EEG channels, as mne_cli and MNE-Python see them."""
    info = read_meas_info(path)
    meg = [ch for ch in info.channels if ch.kind == ChannelKind.MEG]
    eeg = [ch for ch in info.channels if ch.kind == ChannelKind.EEG]
    assert (len(meg), len(eeg), len(info.channels)) == (N_MEG, N_EEG, N_MEG + N_EEG)
    assert sorted({ch.coil_type for ch in meg}) == [3012, 3013, 3024]
    assert all(ch.coil_type == 1 and ch.unit == 107 for ch in eeg)
    assert all(ch.unit == (112 if ch.coil_type == 3024 else 201) for ch in meg)
    assert info.sfreq == 1000.0 and info.dev_head_t is not None

    theirs = mne.io.read_info(path, verbose=False)
    assert theirs["ch_names"] == [ch.name for ch in info.channels]
    assert len(mne.pick_types(theirs, meg="grad")) == 204
    assert len(mne.pick_types(theirs, meg="mag")) == 102
    assert len(mne.pick_types(theirs, meg=False, eeg=True)) == N_EEG
    np.testing.assert_allclose(theirs["dev_head_t"]["trans"], info.dev_head_t.matrix)
    kinds = [d["kind"] for d in theirs["dig"]]
    assert kinds.count(mne.io.constants.FIFF.FIFFV_POINT_CARDINAL) == 3
    assert kinds.count(mne.io.constants.FIFF.FIFFV_POINT_EEG) == N_EEG + 1


def test_sensor_triplets_have_vectorview_frames():
    """Per location: one magnetometer and two planar gradiometers at the same
    place, the second gradiometer's frame turned 90 degrees about the normal."""
    meg = [ch for ch in read_meas_info(RUNS[0]).channels if ch.kind == ChannelKind.MEG]
    for grad1, grad2, mag in zip(meg[0::3], meg[1::3], meg[2::3]):
        assert (grad1.coil_type, grad2.coil_type, mag.coil_type) == (3012, 3013, 3024)
        assert grad1.name[:-1] == grad2.name[:-1] == mag.name[:-1]
        assert (grad1.name[-1], grad2.name[-1], mag.name[-1]) == ("2", "3", "1")
        frame = grad1.loc[3:].reshape(3, 3)
        np.testing.assert_allclose(frame @ frame.T, np.eye(3), atol=1e-6)
        np.testing.assert_allclose(grad2.loc[:3], grad1.loc[:3])
        np.testing.assert_allclose(grad2.loc[3:6], grad1.loc[6:9], atol=1e-7)
        np.testing.assert_allclose(grad2.loc[6:9], -grad1.loc[3:6], atol=1e-7)
        np.testing.assert_allclose(grad2.loc[9:], grad1.loc[9:], atol=1e-7)
        np.testing.assert_allclose(mag.loc, grad1.loc, atol=1e-7)
        assert np.dot(grad1.loc[9:], grad1.loc[:3]) > 0  # normal points out of the helmet


def test_runs_differ_in_head_position_only():
    """Same channels; device -> head a few mm and degrees apart."""
    one, two = (read_meas_info(p) for p in RUNS)
    assert [ch.name for ch in one.channels] == [ch.name for ch in two.channels]
    np.testing.assert_array_equal([ch.loc for ch in one.channels],
                                  [ch.loc for ch in two.channels])
    change = two.dev_head_t.matrix @ np.linalg.inv(one.dev_head_t.matrix)
    assert 1 < _rotation_degrees(change) < 10
    centre = np.array([0.0, 0.0, 0.0, 1.0])  # the device origin, in the head frame
    moved = np.linalg.norm((two.dev_head_t.matrix - one.dev_head_t.matrix) @ centre)
    assert 0.002 < moved < 0.02


def test_electrodes_and_fiducials_lie_on_the_scalp():
    """EEG positions, the reference and the digitised points, taken to MRI
    coordinates with demo-trans.fif, are on the scalp mesh."""
    info = read_meas_info(RUNS[0])
    eeg = np.array([ch.loc[:6] for ch in info.channels if ch.kind == ChannelKind.EEG])
    np.testing.assert_allclose(eeg[:, 3:], eeg[:1, 3:].repeat(len(eeg), axis=0))
    dig = np.array([d.r for d in info.dig if d.kind in (1, 2, 3, 4)])
    assert all(d.coord_frame == Frame.HEAD for d in info.dig)
    points = _head_to_mri(np.vstack([eeg[:, :3], eeg[:1, 3:], dig]))
    assert distance_to_surface(points, *_bem("outer_skin")).max() < 1e-5
    fid = {d.ident: d.r for d in info.dig if d.kind == 1}
    np.testing.assert_allclose(fid[1][1:], 0, atol=1e-7)  # LPA, RPA on the x axis
    np.testing.assert_allclose(fid[3][1:], 0, atol=1e-7)
    np.testing.assert_allclose(fid[2][[0, 2]], 0, atol=1e-7)  # nasion on the y axis


@pytest.mark.parametrize("path", RUNS, ids=("run1", "run2"))
def test_meg_sensors_are_well_outside_the_scalp(path):
    info = read_meas_info(path)
    r0 = np.array([ch.loc[:3] for ch in info.channels if ch.kind == ChannelKind.MEG])
    points = _head_to_mri(info.dev_head_t.apply(r0))
    scalp = _bem("outer_skin")
    assert not inside_surface(points, *scalp).any()
    gaps = distance_to_surface(points, *scalp)
    assert gaps.min() > 0.012 and np.median(gaps) < 0.035


# --- the Makefile ------------------------------------------------------------

FORWARDS = {  # output -> number of sources
    "run1-bem-fwd.fif": 1284, "run2-bem-fwd.fif": 1284, "run1-sphere-fwd.fif": 1284,
    "run1-vol-bem-fwd.fif": None, "avg-bem-fwd.fif": 1284,
}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A copy of share/demo after ``make -C`` (without out/), and make's result."""
    if shutil.which("make") is None:
        pytest.skip("GNU make is not installed")
    copy = tmp_path_factory.mktemp("demo") / "demo"
    shutil.copytree(DEMO, copy, ignore=shutil.ignore_patterns("out", "__pycache__"))
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("SUBJECTS_DIR", None)
    env.pop("MAKEFLAGS", None)
    result = subprocess.run(["make", "-C", str(copy)], env=env, capture_output=True,
                            text=True, timeout=600, check=False)
    return copy, result


def _gain(path):
    fwd = mne.read_forward_solution(path, verbose=False)
    return fwd, fwd["sol"]["data"]


@pytest.mark.slow
def test_make_runs_the_whole_chain(made):
    """make exits 0; every forward reads in MNE-Python with 306 MEG + 60 EEG
    channels; the average is the 2:1 weighted mean of the two runs."""
    copy, result = made
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = copy / "out"
    for name, nsource in FORWARDS.items():
        fwd, gain = _gain(out / name)
        info = fwd["info"]
        assert len(mne.pick_types(info, meg=True, eeg=False)) == N_MEG, name
        assert len(mne.pick_types(info, meg=False, eeg=True)) == N_EEG, name
        assert gain.shape == (N_MEG + N_EEG, 3 * fwd["nsource"]), name
        assert np.isfinite(gain).all(), name
        if nsource is not None:
            assert fwd["nsource"] == nsource, name
    assert _gain(out / "run1-vol-bem-fwd.fif")[0]["nsource"] > 1000

    run1, run2, avg = (_gain(out / f"{n}-bem-fwd.fif")[1] for n in ("run1", "run2", "avg"))
    expected = (2 * run1.astype(np.float64) + run2) / 3
    scale = np.abs(expected).max(axis=1, keepdims=True)  # per channel: float32 storage
    assert np.isclose(avg, expected, rtol=1e-5, atol=1e-6 * scale).all()
    # MEG moves with the head, EEG (head frame) does not
    meg = slice(0, N_MEG)
    assert np.linalg.norm(run1[meg] - run2[meg]) > 0.01 * np.linalg.norm(run1[meg])
    np.testing.assert_allclose(run1[N_MEG:], run2[N_MEG:], rtol=1e-6, atol=0)


def _relative_errors(ours, ref, columns=None) -> dict[str, float]:
    assert ours["sol"]["row_names"] == ref["sol"]["row_names"]
    errors = {}
    for kind, picks in (("grad", mne.pick_types(ref["info"], meg="grad")),
                        ("mag", mne.pick_types(ref["info"], meg="mag")),
                        ("eeg", mne.pick_types(ref["info"], meg=False, eeg=True))):
        a, b = ours["sol"]["data"][picks], ref["sol"]["data"][picks]
        if columns is not None:
            a = a[:, columns]
        errors[kind] = float(np.linalg.norm(a - b) / np.linalg.norm(b))
    return errors


@pytest.mark.slow
def test_bem_forward_matches_mne(made):
    """run1-bem-fwd.fif equals mne.make_forward_solution on the same inputs."""
    copy, result = made
    assert result.returncode == 0, result.stderr[-3000:]
    out = copy / "out"
    ours = mne.read_forward_solution(out / "run1-bem-fwd.fif", verbose=False)
    ref = mne.make_forward_solution(copy / "demo_run1_raw.fif", copy / "demo-trans.fif",
                                    out / "demo-ico-3-src.fif",
                                    out / "demo-1280-1280-1280-bem-sol.fif",
                                    mindist=5, verbose=False)
    assert ours["nsource"] == ref["nsource"]
    errors = _relative_errors(ours, ref)
    assert max(errors.values()) < TOLERANCE, errors


@pytest.mark.slow
def test_sphere_forward_matches_mne(made):
    """run1-sphere-fwd.fif equals MNE-Python's sphere model on the sources both keep
    (MNE-Python drops sources outside the brain sphere, MNE-C keeps them)."""
    copy, result = made
    assert result.returncode == 0, result.stderr[-3000:]
    out = copy / "out"
    ours = mne.read_forward_solution(out / "run1-sphere-fwd.fif", verbose=False)
    sphere = mne.make_sphere_model(r0=(0.0, 0.003, 0.042), head_radius=0.097, verbose=False)
    ref = mne.make_forward_solution(copy / "demo_run1_raw.fif", copy / "demo-trans.fif",
                                    out / "demo-ico-3-src.fif", sphere, verbose=False)
    keep = np.concatenate([np.isin(a["vertno"], b["vertno"])
                           for a, b in zip(ours["src"], ref["src"])])
    assert keep.sum() == ref["nsource"] and keep.mean() > 0.9
    errors = _relative_errors(ours, ref, np.repeat(keep, 3))
    assert max(errors.values()) < TOLERANCE, errors
