"""Forward-solution files against MNE-Python's reader and writer.

Forward solutions are made in the test with MNE-Python (sphere model, small
refcase source spaces, the sample measurement), written by MNE-Python, read
and re-written by us and read again by MNE-Python. Gain matrices, positions
and transforms are float32 on disk and decoded without arithmetic on both
sides, so every comparison is exact.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mne_cli.errors import FifError
from mne_cli.fiff.constants import ChannelKind, Frame, Method, SourceOri
from mne_cli.io import forward as forward_io
from mne_cli.io.forward import read_forward, write_forward
from mne_cli.io.source_space import read_source_spaces, write_source_spaces
from mne_cli.objects import ForwardBlock

from .compare import assert_mne_spaces_equal
from .conftest import REFCASE, testing_file

mne = pytest.importorskip("mne")

SUBJECTS_DIR = REFCASE / "subjects"
BADS = ["MEG 2443", "EEG 053"]


@pytest.fixture(scope="module")
def inputs():
    """Measurement info (with two bad channels), trans, sphere, source spaces."""
    if not (SUBJECTS_DIR / "sample" / "surf" / "lh.white").exists():
        pytest.skip(f"refcase subject not found under {SUBJECTS_DIR}")
    info = mne.io.read_info(testing_file("SSS/sample_audvis_trunc_raw_sss.fif"), verbose=False)
    info["bads"] = list(BADS)
    trans = testing_file("MEG/sample/sample_audvis_trunc-trans.fif")
    sphere = mne.make_sphere_model("auto", "auto", info, verbose=False)
    surf = mne.setup_source_space("sample", spacing="oct2", subjects_dir=SUBJECTS_DIR,
                                  add_dist=False, verbose=False)
    vol = mne.setup_volume_source_space("sample", pos=30.0, sphere=(0.0, 0.0, 0.04, 0.07),
                                        mri=str(SUBJECTS_DIR / "sample/mri/T1.mgz"),
                                        subjects_dir=SUBJECTS_DIR, verbose=False)
    rng = np.random.default_rng(1)
    nn = rng.normal(size=(7, 3))
    discrete = mne.setup_volume_source_space(
        pos=dict(rr=rng.uniform(-0.03, 0.03, (7, 3)) + [0.0, 0.0, 0.04],
                 nn=nn / np.linalg.norm(nn, axis=1, keepdims=True)), verbose=False)
    return dict(info=info, trans=trans, sphere=sphere,
                src=dict(surf=surf, vol=vol, discrete=discrete))


def _make(inputs, tmp_path, src="surf", meg=True, eeg=True, fixed=False):
    """A forward solution written by MNE-Python; returns its path."""
    fwd = mne.make_forward_solution(inputs["info"], inputs["trans"], inputs["src"][src],
                                    inputs["sphere"], meg=meg, eeg=eeg, verbose=False)
    if fixed:
        fwd = mne.convert_forward_solution(fwd, surf_ori=True, force_fixed=True,
                                           use_cps=False, verbose=False)
        # MNE-Python's writer stores the "original" solution; declaring the
        # fixed one original makes it write a genuine fixed-orientation file.
        fwd["_orig_sol"] = fwd["sol"]["data"]
        fwd["_orig_source_ori"] = fwd["source_ori"]
        fwd["surf_ori"] = False
    path = tmp_path / "mne-fwd.fif"
    mne.write_forward_solution(path, fwd, overwrite=True, verbose=False)
    return path


def _gain(ours):
    return np.vstack([b.sol for b in (ours.meg, ours.eeg) if b is not None])


def _assert_ours_match_mne(ours, theirs):
    """Our Forward against MNE-Python's reading of the same file."""
    np.testing.assert_array_equal(_gain(ours), theirs["sol"]["data"])
    names = [n for b in (ours.meg, ours.eeg) if b is not None for n in b.ch_names]
    assert names == theirs["sol"]["row_names"]
    assert [ch.name for ch in ours.channels] == theirs["info"]["ch_names"]
    assert ours.bads == theirs["info"]["bads"]
    assert ours.source_ori == theirs["_orig_source_ori"]
    assert ours.coord_frame == theirs["coord_frame"]
    assert sum(s.nuse for s in ours.source_spaces) == theirs["nsource"]
    np.testing.assert_array_equal(ours.mri_head_t.matrix, theirs["mri_head_t"]["trans"])
    assert (ours.mri_head_t.from_frame, ours.mri_head_t.to_frame) == (Frame.MRI, Frame.HEAD)
    if theirs["info"]["dev_head_t"] is None:
        assert ours.dev_head_t is None
    else:
        np.testing.assert_array_equal(ours.dev_head_t.matrix, theirs["info"]["dev_head_t"]["trans"])


def _assert_mne_forwards_equal(a, b):
    """Two MNE-Python readings agree on everything the file carries."""
    np.testing.assert_array_equal(a["sol"]["data"], b["sol"]["data"])
    assert a["sol"]["row_names"] == b["sol"]["row_names"]
    for key in ("source_ori", "_orig_source_ori", "coord_frame", "nsource", "nchan", "surf_ori"):
        assert a[key] == b[key], key
    for key in ("source_rr", "source_nn"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    np.testing.assert_array_equal(a["mri_head_t"]["trans"], b["mri_head_t"]["trans"])
    assert a["info"]["bads"] == b["info"]["bads"]
    if b["info"]["dev_head_t"] is None:
        assert a["info"]["dev_head_t"] is None
    else:
        np.testing.assert_array_equal(a["info"]["dev_head_t"]["trans"],
                                      b["info"]["dev_head_t"]["trans"])
    assert len(a["info"]["chs"]) == len(b["info"]["chs"])
    for x, y in zip(a["info"]["chs"], b["info"]["chs"]):
        for key in ("ch_name", "kind", "coil_type", "unit", "unit_mul", "logno", "scanno"):
            assert x[key] == y[key], key
        for key in ("loc", "cal", "range"):
            np.testing.assert_array_equal(x[key], y[key], err_msg=key)
    assert_mne_spaces_equal(a["src"], b["src"])


def _roundtrip(tmp_path, path):
    theirs = mne.read_forward_solution(path, verbose=False)
    ours = read_forward(path)
    _assert_ours_match_mne(ours, theirs)
    out = tmp_path / "ours-fwd.fif"
    write_forward(out, ours, command_line="mne_forward_solution --fwd ours-fwd.fif")
    again = mne.read_forward_solution(out, verbose=False)
    _assert_mne_forwards_equal(again, theirs)
    assert again["info"]["command_line"] == "mne_forward_solution --fwd ours-fwd.fif"
    _assert_ours_match_mne(read_forward(out), theirs)
    # the source spaces inside a forward file read like a source-space file
    _assert_spaces_equal(read_source_spaces(out), read_source_spaces(path))
    return ours


def _assert_spaces_equal(a, b):
    assert len(a) == len(b)
    for s, t in zip(a, b):
        assert (s.type, s.id, s.coord_frame) == (t.type, t.id, t.coord_frame)
        for key in ("rr", "nn", "inuse"):
            np.testing.assert_array_equal(getattr(s, key), getattr(t, key), err_msg=key)


@pytest.mark.parametrize("meg,eeg", [(True, True), (True, False), (False, True)],
                         ids=["meg-eeg", "meg", "eeg"])
def test_free_orientation_roundtrip(tmp_path, inputs, meg, eeg):
    ours = _roundtrip(tmp_path, _make(inputs, tmp_path, meg=meg, eeg=eeg))
    assert ours.source_ori == SourceOri.FREE and ours.coord_frame == Frame.HEAD
    assert (ours.meg is not None) == meg and (ours.eeg is not None) == eeg
    nsource = sum(s.nuse for s in ours.source_spaces)
    for block, kind in ((ours.meg, ChannelKind.MEG), (ours.eeg, ChannelKind.EEG)):
        if block is not None:
            assert block.sol.shape == (len(block.ch_names), 3 * nsource)
            assert block.ch_names == [ch.name for ch in ours.channels if ch.kind == kind]
    assert ours.bads == [b for b in BADS if b in {ch.name for ch in ours.channels}]


def test_fixed_orientation_roundtrip(tmp_path, inputs):
    ours = _roundtrip(tmp_path, _make(inputs, tmp_path, fixed=True))
    assert ours.source_ori == SourceOri.FIXED
    assert ours.meg.sol.shape[1] == sum(s.nuse for s in ours.source_spaces)


@pytest.mark.parametrize("src", ["vol", "discrete"])
def test_volume_and_discrete_spaces_roundtrip(tmp_path, inputs, src):
    ours = _roundtrip(tmp_path, _make(inputs, tmp_path, src=src))
    assert ours.source_spaces[0].coord_frame == Frame.MRI


def test_head_frame_source_spaces_written_in_mri_frame(tmp_path, inputs):
    """A source space held in head coordinates goes back to MRI on writing."""
    path = _make(inputs, tmp_path, eeg=False)
    fwd = read_forward(path)
    head = [dataclasses.replace(s, rr=fwd.mri_head_t.apply(s.rr),
                                nn=fwd.mri_head_t.rotate(s.nn), coord_frame=Frame.HEAD)
            for s in fwd.source_spaces]
    out = tmp_path / "head-fwd.fif"
    write_forward(out, dataclasses.replace(fwd, source_spaces=head))
    for s, t in zip(read_source_spaces(out), fwd.source_spaces):
        assert s.coord_frame == Frame.MRI
        # float64 round trip through the transform and its inverse, then
        # float32 storage: agreement to float32 resolution at 0.1 m (~1e-8 m)
        np.testing.assert_allclose(s.rr, t.rr, rtol=0, atol=1e-7)
        np.testing.assert_allclose(s.nn, t.nn, rtol=0, atol=1e-6)


def test_sol_grad_roundtrip(tmp_path, inputs):
    """Position derivatives: ours -> ours and ours -> MNE-Python's sol_grad."""
    fwd = read_forward(_make(inputs, tmp_path))
    rng = np.random.default_rng(42)
    meg = dataclasses.replace(fwd.meg, sol_grad=rng.normal(size=(fwd.meg.sol.shape[0],
                                                                3 * fwd.meg.sol.shape[1])))
    eeg = dataclasses.replace(fwd.eeg, sol_grad=rng.normal(size=(fwd.eeg.sol.shape[0],
                                                                3 * fwd.eeg.sol.shape[1])))
    with_grad = dataclasses.replace(fwd, meg=meg, eeg=eeg)
    out = tmp_path / "grad-fwd.fif"
    write_forward(out, with_grad)
    back = read_forward(out)
    # the random float64 values are stored as float32: exact after the same cast
    np.testing.assert_array_equal(back.meg.sol_grad, meg.sol_grad.astype(np.float32))
    np.testing.assert_array_equal(back.eeg.sol_grad, eeg.sol_grad.astype(np.float32))
    theirs = mne.read_forward_solution(out, verbose=False)
    expected = np.vstack([meg.sol_grad, eeg.sol_grad]).astype(np.float32)
    np.testing.assert_array_equal(theirs["sol_grad"]["data"], expected)
    np.testing.assert_array_equal(theirs["sol"]["data"], _gain(fwd))


def test_long_channel_names(tmp_path, inputs):
    """Names over 15 characters survive through MNE-Python's extended blocks."""
    fwd = read_forward(_make(inputs, tmp_path, meg=False))
    long = {ch.name: f"{ch.name}-a-very-long-name" for ch in fwd.channels[:3]}
    channels = [dataclasses.replace(ch, name=long.get(ch.name, ch.name)) for ch in fwd.channels]
    eeg = dataclasses.replace(fwd.eeg, ch_names=[long.get(n, n) for n in fwd.eeg.ch_names])
    bads = [long.get(b, b) for b in fwd.bads] + [channels[0].name]
    renamed = dataclasses.replace(fwd, channels=channels, eeg=eeg, bads=bads)
    out = tmp_path / "long-fwd.fif"
    write_forward(out, renamed)
    theirs = mne.read_forward_solution(out, verbose=False)
    assert theirs["sol"]["row_names"] == eeg.ch_names
    assert theirs["info"]["ch_names"] == [ch.name for ch in channels]
    assert theirs["info"]["bads"] == bads
    back = read_forward(out)
    assert [ch.name for ch in back.channels] == [ch.name for ch in channels]
    assert back.bads == bads and back.eeg.ch_names == eeg.ch_names


def test_source_count_mismatch(tmp_path, inputs, monkeypatch):
    """A file whose in-use sources differ from NPOINTS is refused, naming it."""
    fwd = read_forward(_make(inputs, tmp_path))
    original = forward_io.write_source_space_block

    def drop_first_source(w, space):
        inuse = space.inuse.copy()
        inuse[space.vertno[0]] = 0
        original(w, dataclasses.replace(space, inuse=inuse))

    monkeypatch.setattr(forward_io, "write_source_space_block", drop_first_source)
    out = tmp_path / "mismatch-fwd.fif"
    write_forward(out, fwd)
    with pytest.raises(FifError, match="Source spaces do not match the forward solution") as err:
        read_forward(out)
    assert str(out) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match="Source spaces do not match"):
        mne.read_forward_solution(out, verbose=False)


def test_not_a_forward_file(tmp_path, inputs):
    path = tmp_path / "only-src.fif"
    write_source_spaces(path, read_source_spaces(_make(inputs, tmp_path)))
    with pytest.raises(FifError, match="no forward solution found") as err:
        read_forward(path)
    assert str(path) in str(err.value)


def test_writer_refuses_inconsistent_forward(tmp_path, inputs):
    fwd = read_forward(_make(inputs, tmp_path))
    wrong_rows = dataclasses.replace(fwd, meg=ForwardBlock(Method.MEG, fwd.meg.ch_names[::-1],
                                                           fwd.meg.sol))
    with pytest.raises(ValueError, match="channel names"):
        write_forward(tmp_path / "x-fwd.fif", wrong_rows)
    wrong_cols = dataclasses.replace(fwd, source_ori=SourceOri.FIXED)
    with pytest.raises(ValueError, match="gain matrix"):
        write_forward(tmp_path / "y-fwd.fif", wrong_cols)
    assert not (tmp_path / "x-fwd.fif").exists() and not (tmp_path / "y-fwd.fif").exists()
