"""Measurement info (``--meas``) reading and writing against MNE-Python.

Tolerances: channel locations, calibrations, transforms and dig points are
float32 on disk and both readers widen the same bytes to float64, so they
are compared exactly. Where MNE-Python calibrates compensation data in
float64 we repeat its arithmetic on our stored data (exact) and also check
our own calibration from the channel list (rtol 1e-12: the same products in
another order, a few ulps at most).
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from mne_cli.errors import FifError, InputError
from mne_cli.fiff import Block, Frame, Kind, Type, fif_writer, open_fif
from mne_cli.io.meas import (
    read_meas_info,
    split_name_list,
    write_bads,
    write_channels,
    write_comps,
    write_meas_info,
)
from mne_cli.objects import Channel, CompensationMatrix, DigPoint, FileId, MeasInfo, Transform

from .conftest import testing_file

mne = pytest.importorskip("mne")

MEAS_FILES = [
    "SSS/sample_audvis_trunc_raw_sss.fif",
    "CTF/somMDYO-18av.ds_raw.fif",
    "CTF/testdata_ctf_short_discontinuous.ds_raw.fif",
    "misc/neuromag122_test_file-raw.fif",
]


# --- comparison helpers --------------------------------------------------------

def _assert_trans_equal(ours, theirs):
    """Our Transform (or None) against an MNE-Python Transform (or None)."""
    if theirs is None:
        assert ours is None
        return
    assert ours is not None
    assert (ours.from_frame, ours.to_frame) == (theirs["from"], theirs["to"])
    # both from the same float32 struct (or np.linalg.inv of it): exact
    np.testing.assert_array_equal(ours.matrix, theirs["trans"])


def _assert_channels_match(ours: list[Channel], theirs: list[dict]):
    assert [c.name for c in ours] == [c["ch_name"] for c in theirs]
    for a, b in zip(ours, theirs):
        assert (a.scanno, a.logno, a.kind, a.coil_type, a.unit, a.unit_mul) == (
            b["scanno"], b["logno"], b["kind"], b["coil_type"], b["unit"], b["unit_mul"]), a.name
        # float32 on disk, widened identically: exact
        assert a.range == b["range"] and a.cal == b["cal"], a.name
        np.testing.assert_array_equal(a.loc, b["loc"], err_msg=a.name)


def _assert_dig_match(ours: list[DigPoint], theirs):
    theirs = theirs or []
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert (a.kind, a.ident, a.coord_frame) == (b["kind"], b["ident"], b["coord_frame"])
        np.testing.assert_array_equal(a.r, b["r"])  # float32 on disk: exact


def _assert_comps_match(ours: list[CompensationMatrix], theirs: list[dict], channels):
    assert len(ours) == len(theirs)
    cals = {c.name: c.range * c.cal for c in channels}
    for a, b in zip(ours, theirs):
        assert a.kind == b["ctfkind"] and a.grade == b["kind"]
        assert a.calibrated == b["save_calibrated"]
        assert a.row_names == b["data"]["row_names"] and a.col_names == b["data"]["col_names"]
        assert a.data.shape == (b["data"]["nrow"], b["data"]["ncol"])
        if a.calibrated:
            np.testing.assert_array_equal(a.data, b["data"]["data"])  # float32 on disk: exact
            continue
        # MNE-Python calibrates in memory: repeat its float64 products on our data (exact)
        expected = b["rowcals"][:, None] * a.data * b["colcals"][None, :]
        np.testing.assert_array_equal(expected, b["data"]["data"])
        # and our own calibration from the channel list (SPEC 9.8): same products
        # in another order, rtol 1e-12
        rows = np.array([cals[n] for n in a.row_names])
        cols = np.array([cals[n] for n in a.col_names])
        np.testing.assert_allclose(a.data * rows[:, None] / cols[None, :], b["data"]["data"],
                                   rtol=1e-12, atol=0)


def _assert_matches_mne(ours: MeasInfo, info):
    """Every MeasInfo field against what mne.io.read_info gives."""
    _assert_channels_match(ours.channels, info["chs"])
    _assert_trans_equal(ours.dev_head_t, info["dev_head_t"])
    _assert_trans_equal(ours.ctf_head_t, info["ctf_head_t"])
    assert ours.bads == info["bads"]
    _assert_comps_match(ours.comps, info["comps"], ours.channels)
    _assert_dig_match(ours.dig, info["dig"])
    assert ours.sfreq == info["sfreq"]
    # MNE-Python fills absent filter settings with 0 and sfreq / 2
    if ours.highpass is not None:
        assert ours.highpass == info["highpass"]
    if ours.lowpass is not None:
        assert ours.lowpass == info["lowpass"]
    assert ours.description == info["description"]
    assert ours.meas_id is not None
    theirs_id = info["meas_id"]
    assert (ours.meas_id.version, list(ours.meas_id.machid), ours.meas_id.secs,
            ours.meas_id.usecs) == (theirs_id["version"], list(theirs_id["machid"]),
                                    theirs_id["secs"], theirs_id["usecs"])
    if ours.meas_date is not None:
        secs, usecs = ours.meas_date
        stamp = (datetime.datetime.fromtimestamp(secs, datetime.timezone.utc)
                 + datetime.timedelta(microseconds=usecs))
        assert stamp == info["meas_date"]


def _assert_infos_equal(a, b):
    """Two MNE-Python infos agree on everything MeasInfo carries."""
    assert a["ch_names"] == b["ch_names"]
    for ca, cb in zip(a["chs"], b["chs"]):
        for key in ("scanno", "logno", "kind", "coil_type", "unit", "unit_mul", "range", "cal",
                    "coord_frame"):
            assert ca[key] == cb[key], (ca["ch_name"], key)
        np.testing.assert_array_equal(ca["loc"], cb["loc"])  # both float32 from disk: exact
    for key in ("dev_head_t", "ctf_head_t", "dev_ctf_t"):
        assert (a[key] is None) == (b[key] is None), key
        if a[key] is not None:
            assert (a[key]["from"], a[key]["to"]) == (b[key]["from"], b[key]["to"])
            np.testing.assert_array_equal(a[key]["trans"], b[key]["trans"])
    assert a["bads"] == b["bads"]
    assert len(a["comps"]) == len(b["comps"])
    for ca, cb in zip(a["comps"], b["comps"]):
        assert (ca["ctfkind"], ca["kind"], ca["save_calibrated"]) == (
            cb["ctfkind"], cb["kind"], cb["save_calibrated"])
        assert ca["data"]["row_names"] == cb["data"]["row_names"]
        assert ca["data"]["col_names"] == cb["data"]["col_names"]
        np.testing.assert_array_equal(ca["data"]["data"], cb["data"]["data"])
        np.testing.assert_array_equal(ca["rowcals"], cb["rowcals"])
        np.testing.assert_array_equal(ca["colcals"], cb["colcals"])
    assert len(a["dig"] or []) == len(b["dig"] or [])
    for da, db in zip(a["dig"] or [], b["dig"] or []):
        assert (da["kind"], da["ident"], da["coord_frame"]) == (db["kind"], db["ident"],
                                                                db["coord_frame"])
        np.testing.assert_array_equal(da["r"], db["r"])
    for key in ("sfreq", "highpass", "lowpass", "description", "meas_date"):
        assert a[key] == b[key], key
    for key in ("version", "secs", "usecs"):
        assert a["meas_id"][key] == b["meas_id"][key]
    np.testing.assert_array_equal(a["meas_id"]["machid"], b["meas_id"]["machid"])


def _assert_meas_equal(a: MeasInfo, b: MeasInfo):
    """Two MeasInfo objects hold equal values (arrays exactly)."""
    assert len(a.channels) == len(b.channels)
    for ca, cb in zip(a.channels, b.channels):
        assert (ca.scanno, ca.logno, ca.kind, ca.range, ca.cal, ca.coil_type, ca.unit,
                ca.unit_mul, ca.name) == (cb.scanno, cb.logno, cb.kind, cb.range, cb.cal,
                                          cb.coil_type, cb.unit, cb.unit_mul, cb.name)
        np.testing.assert_array_equal(ca.loc, cb.loc)
    for ta, tb in ((a.dev_head_t, b.dev_head_t), (a.ctf_head_t, b.ctf_head_t)):
        assert (ta is None) == (tb is None)
        if ta is not None:
            assert (ta.from_frame, ta.to_frame) == (tb.from_frame, tb.to_frame)
            np.testing.assert_array_equal(ta.matrix, tb.matrix)
    assert a.bads == b.bads
    assert len(a.comps) == len(b.comps)
    for ca, cb in zip(a.comps, b.comps):
        assert (ca.kind, ca.calibrated, ca.row_names, ca.col_names) == (
            cb.kind, cb.calibrated, cb.row_names, cb.col_names)
        np.testing.assert_array_equal(ca.data, cb.data)
    assert len(a.dig) == len(b.dig)
    for da, db in zip(a.dig, b.dig):
        assert (da.kind, da.ident, da.coord_frame) == (db.kind, db.ident, db.coord_frame)
        np.testing.assert_array_equal(da.r, db.r)
    assert (a.sfreq, a.highpass, a.lowpass, a.meas_id, a.meas_date, a.description) == (
        b.sfreq, b.highpass, b.lowpass, b.meas_id, b.meas_date, b.description)


# --- real measurement files ------------------------------------------------------

@pytest.mark.parametrize("relative", MEAS_FILES)
def test_read_matches_mne(relative):
    """Our reader agrees with mne.io.read_info on every field of a real file."""
    path = testing_file(relative)
    ours = read_meas_info(path)
    _assert_matches_mne(ours, mne.io.read_info(path, verbose=False))


@pytest.mark.parametrize("relative", MEAS_FILES)
def test_write_read_back(tmp_path, relative):
    """Written back, MNE-Python reads what it reads from the original; so do we."""
    path = testing_file(relative)
    ours = read_meas_info(path)
    out = tmp_path / "copy_raw.fif"
    write_meas_info(out, ours)
    _assert_infos_equal(mne.io.read_info(out, verbose=False),
                        mne.io.read_info(path, verbose=False))
    _assert_meas_equal(read_meas_info(out), ours)


def test_expected_contents_of_reference_files():
    """Facts about the reference files the other tests rely on."""
    sss = read_meas_info(testing_file("SSS/sample_audvis_trunc_raw_sss.fif"))
    assert len(sss.channels) == 376 and len(sss.dig) == 146 and sss.ctf_head_t is None
    assert [c.kind for c in sss.channels].count(1) == 306
    assert [c.kind for c in sss.channels].count(2) == 60
    ctf = read_meas_info(testing_file("CTF/testdata_ctf_short_discontinuous.ds_raw.fif"))
    assert [c.grade for c in ctf.comps] == [1, 2, 0x47324F49, 3, 0x47334F49]
    assert not any(c.calibrated for c in ctf.comps)
    # this file's device->head transform lives only inside FIFFB_HPI_RESULT
    meas_info = open_fif(testing_file("CTF/testdata_ctf_short_discontinuous.ds_raw.fif")
                         ).root.find_blocks(Block.MEAS_INFO)[0]
    assert not meas_info.has(Kind.COORD_TRANS)
    assert ctf.dev_head_t is not None and ctf.ctf_head_t is not None
    n122 = read_meas_info(testing_file("misc/neuromag122_test_file-raw.fif"))
    assert n122.dev_head_t is None and n122.dig == []


# --- synthetic files -------------------------------------------------------------

def _mne_info():
    """An MNE-Python info with MEG, EEG and stim channels, dig, dev_head_t and bads."""
    rng = np.random.default_rng(0)
    names = ["MEG 0111", "MEG 0112", "MEG 0113", "EEG 001", "EEG 002", "STI 014"]
    info = mne.create_info(names, 1000.0, ["mag", "grad", "grad", "eeg", "eeg", "stim"])
    with info._unlock():
        for ch in info["chs"][:3]:
            ch["loc"] = rng.normal(size=12)
        info["dev_head_t"] = mne.transforms.Transform(
            "meg", "head", mne.transforms.rotation(0.1, -0.2, 0.3)
            @ mne.transforms.translation(0.001, -0.02, 0.05))
        info["highpass"] = 0.5
        info["lowpass"] = 40.0
        info["description"] = "synthetic"
    montage = mne.channels.make_dig_montage(
        ch_pos={"EEG 001": [0.05, 0.0, 0.08], "EEG 002": [-0.05, 0.01, 0.07]},
        nasion=[0.0, 0.1, 0.0], lpa=[-0.08, 0.0, 0.0], rpa=[0.08, 0.0, 0.0],
        hsp=rng.normal(scale=0.05, size=(4, 3)), coord_frame="head")
    info.set_montage(montage)
    info["bads"] = ["MEG 0112", "EEG 002"]
    return info


def test_synthetic_mne_written_info(tmp_path):
    """An info written by MNE-Python is read as MNE-Python reads it back."""
    info = _mne_info()
    path = tmp_path / "synthetic-info.fif"
    mne.io.write_info(path, info)
    ours = read_meas_info(path)
    _assert_matches_mne(ours, mne.io.read_info(path, verbose=False))
    # against the in-memory original: float64 values rounded to float32 on disk
    f32 = np.float32
    for a, b in zip(ours.channels, info["chs"]):
        np.testing.assert_array_equal(a.loc, b["loc"].astype(f32))
    np.testing.assert_array_equal(ours.dev_head_t.matrix[:3],
                                  info["dev_head_t"]["trans"][:3].astype(f32))
    assert ours.bads == ["MEG 0112", "EEG 002"]
    assert ours.sfreq == 1000.0 and ours.highpass == 0.5 and ours.lowpass == 40.0
    assert ours.description == "synthetic" and len(ours.dig) == 3 + 2 + 4


def test_synthetic_raw_saved_by_mne(tmp_path):
    """A RawArray saved by MNE-Python: our reader agrees with read_info."""
    info = _mne_info()
    raw = mne.io.RawArray(np.zeros((len(info["ch_names"]), 10)), info, verbose=False)
    path = tmp_path / "synthetic_raw.fif"
    raw.save(path, verbose=False)
    _assert_matches_mne(read_meas_info(path), mne.io.read_info(path, verbose=False))


def _channel(scanno, name, kind=1, coil=3012):
    loc = np.arange(12, dtype=float) / 100 + scanno
    return Channel(scanno=scanno, logno=scanno, kind=kind, range=1.0, cal=1.0, coil_type=coil,
                   loc=loc, unit=112, unit_mul=0, name=name)


def _write_raw_info(path, channels, nchan=None, coord_trans=(), hpi_trans=()):
    with fif_writer(path) as w:
        with w.block(Block.MEAS):
            with w.block(Block.MEAS_INFO):
                for t in coord_trans:
                    w.write_transform(t)
                if nchan is not None:
                    w.write_int(Kind.NCHAN, nchan)
                w.write_float(Kind.SFREQ, 100.0)
                for ch in channels:
                    w.write(Kind.CH_INFO, Type.CH_INFO, ch)
                if hpi_trans:
                    with w.block(Block.HPI_RESULT):
                        for t in hpi_trans:
                            w.write_transform(t)


def test_channels_placed_by_scan_number(tmp_path):
    """CH_INFO tags stored out of order land at scanno - 1."""
    path = tmp_path / "shuffled_raw.fif"
    _write_raw_info(path, [_channel(2, "B"), _channel(3, "C"), _channel(1, "A")], nchan=3)
    assert [c.name for c in read_meas_info(path).channels] == ["A", "B", "C"]


@pytest.mark.parametrize("channels, nchan, message", [
    ([_channel(1, "A"), _channel(2, "B")], None, "Could not find the channel information."),
    ([], 2, "Could not find the channel information."),
    ([_channel(1, "A"), _channel(3, "C")], 2, "FIFF_CH_INFO : scan # out of range"),
    ([_channel(1, "A"), _channel(3, "C")], 3, "Some of the channel information was missing"),
], ids=["no-nchan", "no-ch-info", "scanno-out-of-range", "missing-position"])
def test_channel_errors(tmp_path, channels, nchan, message):
    """Incomplete channel information fails with MNE-C's message and the file name."""
    path = tmp_path / "broken_raw.fif"
    _write_raw_info(path, channels, nchan=nchan)
    with pytest.raises(FifError) as err:
        read_meas_info(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_no_measurement_info(tmp_path):
    """A FIF file without measurement information fails naming the file."""
    path = tmp_path / "empty.fif"
    with fif_writer(path) as w:
        with w.block(Block.MNE):
            w.write_int(Kind.MNE_COORD_FRAME, Frame.MRI)
    with pytest.raises(FifError, match="Could not find the measurement information") as err:
        read_meas_info(path)
    assert str(path) in str(err.value)


def test_head_device_transform_inverted(tmp_path):
    """A head->device transform in the info block is returned inverted."""
    # float32-representable entries, so that storage does not round them
    matrix = np.array([[0.0, -1.0, 0.0, 0.015625], [1.0, 0.0, 0.0, -0.03125],
                       [0.0, 0.0, 1.0, 0.0625], [0.0, 0.0, 0.0, 1.0]])
    path = tmp_path / "babymeg_raw.fif"
    _write_raw_info(path, [_channel(1, "A")], nchan=1,
                    coord_trans=[Transform(Frame.HEAD, Frame.DEVICE, matrix)])
    dev_head_t = read_meas_info(path).dev_head_t
    assert (dev_head_t.from_frame, dev_head_t.to_frame) == (Frame.DEVICE, Frame.HEAD)
    # np.linalg.inv of the same exactly stored matrix on both sides: exact
    np.testing.assert_array_equal(dev_head_t.matrix, np.linalg.inv(matrix))
    # MNE-Python agrees (it inverts with np.linalg.inv too: exact)
    _assert_trans_equal(dev_head_t, mne.io.read_info(path, verbose=False)["dev_head_t"])


def test_transform_fallback_to_hpi_result(tmp_path):
    """Without a transform in the info block, the HPI result block's one is used."""
    matrix = np.eye(4)
    matrix[:3, 3] = [0.0, 0.015625, 0.0625]  # float32-representable: stored exactly
    path = tmp_path / "hpi_raw.fif"
    _write_raw_info(path, [_channel(1, "A")], nchan=1,
                    hpi_trans=[Transform(Frame.DEVICE, Frame.HEAD, matrix)])
    info = read_meas_info(path)
    np.testing.assert_array_equal(info.dev_head_t.matrix, matrix)
    assert info.ctf_head_t is None


def test_parent_meas_block_preferred(tmp_path):
    """A forward-style FIFFB_MNE_PARENT_MEAS_FILE block wins over FIFFB_MEAS_INFO."""
    meas_id = FileId(65540, (1, 2), 1234, 567)
    trans = Transform(Frame.DEVICE, Frame.HEAD, np.eye(4))
    comp = CompensationMatrix(0x47314252, True, ["A"], ["R"], np.array([[0.25]]))
    path = tmp_path / "fwd-like.fif"
    with fif_writer(path) as w:
        with w.block(Block.MNE):
            with w.block(Block.MNE_PARENT_MEAS_FILE):
                w.write_string(Kind.MNE_FILE_NAME, "raw.fif")
                w.write_id(Kind.PARENT_BLOCK_ID, meas_id)
                w.write_transform(trans)
                w.write_int(Kind.NCHAN, 2)
                write_channels(w, [_channel(7, "A"), _channel(9, "R", kind=301, coil=5001)])
                write_bads(w, ["R"])
                write_comps(w, [comp])
        with w.block(Block.MEAS):
            with w.block(Block.MEAS_INFO):
                w.write_int(Kind.NCHAN, 1)
                w.write(Kind.CH_INFO, Type.CH_INFO, _channel(1, "OTHER"))
    info = read_meas_info(path)
    assert [c.name for c in info.channels] == ["A", "R"]
    assert [c.scanno for c in info.channels] == [1, 2]  # renumbered by write_channels
    assert info.meas_id == meas_id and info.bads == ["R"]
    np.testing.assert_array_equal(info.dev_head_t.matrix, np.eye(4))
    assert len(info.comps) == 1 and info.comps[0].calibrated and info.comps[0].grade == 1
    np.testing.assert_array_equal(info.comps[0].data, [[0.25]])  # exact in float32
    assert info.sfreq is None and info.dig == []


def test_dig_coord_frame_round_trip(tmp_path):
    """Dig points in a non-head frame keep their frame through write and read."""
    dig = [DigPoint(1, 1, np.array([0.0, 0.1, 0.0]), Frame.MRI),
           DigPoint(4, 1, np.array([0.01, 0.02, 0.03]), Frame.MRI)]
    info = MeasInfo([_channel(1, "A")], sfreq=250.0, dig=dig)
    path = tmp_path / "dig_raw.fif"
    write_meas_info(path, info)
    back = read_meas_info(path)
    assert [d.coord_frame for d in back.dig] == [Frame.MRI, Frame.MRI]
    # 0.1, 0.01 ... are not float32 numbers: equal after rounding to float32
    np.testing.assert_array_equal(back.dig[1].r, dig[1].r.astype(np.float32))
    assert [d["coord_frame"] for d in mne.io.read_info(path, verbose=False)["dig"]] == [
        Frame.MRI, Frame.MRI]


def test_dig_mixed_frames_refused(tmp_path):
    """One isotrak block holds one frame: mixed frames are refused, no file left."""
    dig = [DigPoint(1, 1, np.zeros(3), Frame.MRI), DigPoint(1, 2, np.zeros(3), Frame.HEAD)]
    path = tmp_path / "mixed_raw.fif"
    with pytest.raises(InputError, match="several coordinate frames"):
        write_meas_info(path, MeasInfo([_channel(1, "A")], sfreq=1.0, dig=dig))
    assert not path.exists()


def test_name_list_colon_escape():
    """'{COLON}' in a stored name list stands for ':'."""
    assert split_name_list("A:B{COLON}1:C") == ["A", "B:1", "C"]
    assert split_name_list("") == [] and split_name_list(None) == []


def test_fiducials_roundtrip(tmp_path):
    """sample-fiducials.fif (MRI-frame fiducials) reads and writes back equal."""
    from mne_cli.io.meas import read_fiducials, write_fiducials

    original = testing_file("subjects/sample/bem/sample-fiducials.fif")
    theirs, their_frame = mne.io.read_fiducials(original)
    ours = read_fiducials(original)
    assert [(p.kind, p.ident, p.coord_frame) for p in ours] == \
        [(p["kind"], p["ident"], their_frame) for p in theirs]
    out = tmp_path / "out-fiducials.fif"
    write_fiducials(out, ours)
    again, again_frame = mne.io.read_fiducials(out)
    assert again_frame == their_frame
    for a, b in zip(again, theirs):
        np.testing.assert_array_equal(a["r"], b["r"])  # float32 on both sides: exact
