"""average_forward_solutions: weighted averages of forward solutions (SPEC 11).

Two kinds of inputs:

* synthetic forward solutions built from mne_cli's own objects and written by
  ``write_forward`` (run everywhere, cover the CLI logic and every check);
* forward solutions computed and written by MNE-Python (sphere model, a small
  discrete source space, the sample measurement with the head moved a little
  per run), averaged by us and compared with MNE-Python's
  ``average_forward_solutions`` (skip without mne or the shared data).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mne_cli.cli.average_forward_solutions import main
from mne_cli.errors import InputError
from mne_cli.fiff.constants import (
    ChannelKind,
    Frame,
    Method,
    SourceOri,
    SourceSpaceType,
)
from mne_cli.forward.average import average_forwards, parse_weighted_name
from mne_cli.io.forward import read_forward, write_forward
from mne_cli.objects import Channel, Forward, ForwardBlock, SourceSpace, Transform

from .conftest import testing_file

PROG = "average_forward_solutions"


# --- synthetic inputs -----------------------------------------------------------

MEG_NAMES = ["MEG 0112", "MEG 0113", "MEG 0111", "MEG 0122"]
EEG_NAMES = ["EEG 001", "EEG 002", "EEG 003"]
INUSE = np.array([1, 1, 0, 1, 1, 1, 0, 1])


def _channel(i: int, name: str, kind: int) -> Channel:
    meg = kind == ChannelKind.MEG
    loc = np.zeros(12)
    loc[:3] = [0.01 * i, 0.02, 0.1]
    if meg:
        loc[3:] = np.eye(3).ravel()
    return Channel(scanno=i + 1, logno=i + 1, kind=kind, range=1.0, cal=1.0,
                   coil_type=3012 if meg else 1, loc=loc, unit=201 if meg else 107,
                   unit_mul=0, name=name)


def _synthetic(seed: int, meg=MEG_NAMES, eeg=EEG_NAMES, inuse=INUSE,
               ori=SourceOri.FREE, frame=Frame.HEAD, grad=False) -> Forward:
    """A small forward solution with random gain matrices (discrete space)."""
    rng = np.random.default_rng(seed)
    geo = np.random.default_rng(0)  # same source positions in every file
    nn = geo.normal(size=(len(inuse), 3))
    space = SourceSpace(type=SourceSpaceType.DISCRETE, rr=geo.uniform(-0.05, 0.05, (len(inuse), 3)),
                        nn=nn / np.linalg.norm(nn, axis=1, keepdims=True),
                        inuse=np.asarray(inuse), coord_frame=Frame.MRI)
    ncomp = int(np.count_nonzero(inuse)) * (3 if ori == SourceOri.FREE else 1)
    channels = ([_channel(i, n, ChannelKind.MEG) for i, n in enumerate(meg or [])]
                + [_channel(i, n, ChannelKind.EEG) for i, n in enumerate(eeg or [])])

    def block(method, names):
        if not names:
            return None
        sol_grad = rng.normal(size=(len(names), 3 * ncomp)) if grad else None
        return ForwardBlock(method, list(names), rng.normal(size=(len(names), ncomp)), sol_grad)

    shift = np.eye(4)
    shift[:3, 3] = [0.0, 0.001 * seed, 0.04]
    return Forward(source_spaces=[space], coord_frame=frame, source_ori=ori,
                   mri_head_t=Transform(Frame.MRI, Frame.HEAD, np.eye(4)), channels=channels,
                   meg=block(Method.MEG, meg), eeg=block(Method.EEG, eeg),
                   dev_head_t=Transform(Frame.DEVICE, Frame.HEAD, shift),
                   meas_file=f"run{seed}_raw.fif")


def _write(tmp_path, name, fwd):
    path = tmp_path / name
    write_forward(path, fwd)
    return path


def _run(runner, *args):
    return runner.invoke(main, [str(a) for a in args])


def _assert_failed(result, *phrases, code=1):
    """Exit ``code``, no traceback; for runtime errors (1) the message is the
    last stderr line, the only one naming the program (progress lines go
    before it; with --quiet it is the only line)."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    if code == 1:
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith(f"{PROG}: "), result.stderr
        assert sum(line.startswith(f"{PROG}: ") for line in lines) == 1, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, (phrase, result.stderr)


# --- weights ----------------------------------------------------------------------

@pytest.mark.parametrize("arg,expected", [
    ("a-fwd.fif:2", ("a-fwd.fif", 2.0)),
    ("a-fwd.fif", ("a-fwd.fif", 1.0)),
    ("a-fwd.fif:0.25", ("a-fwd.fif", 0.25)),
    ("a-fwd.fif:.5", ("a-fwd.fif", 0.5)),
    ("a-fwd.fif:3e-1", ("a-fwd.fif", 0.3)),
    ("a-fwd.fif:-1", ("a-fwd.fif", -1.0)),
    ("C:/data/x-fwd.fif", ("C:/data/x-fwd.fif", 1.0)),
    ("a:b-fwd.fif", ("a:b-fwd.fif", 1.0)),
    ("a:b-fwd.fif:4", ("a:b-fwd.fif", 4.0)),
    ("run:nan", ("run:nan", 1.0)),
    ("run:1_0", ("run:1_0", 1.0)),
], ids=lambda v: v if isinstance(v, str) else None)
def test_parse_weighted_name(arg, expected):
    assert parse_weighted_name(arg) == expected


@pytest.mark.parametrize("arg", ["", ":2"])
def test_parse_weighted_name_without_file(arg):
    with pytest.raises(InputError, match="names no file"):
        parse_weighted_name(arg)


@pytest.mark.parametrize("weights,message", [([1.0, -1.0], "is -1"), ([0.0, 0.0], "all "),
                                             ([1.0, np.inf], "is inf")])
def test_bad_weights(weights, message):
    fwds = [_synthetic(1), _synthetic(2)]
    with pytest.raises(InputError, match=message):
        average_forwards(fwds, weights, ["a-fwd.fif", "b-fwd.fif"])


def test_core_weighted_sum_and_copy():
    """sol (and sol_grad) = sum w_i G_i with w = weights / sum; the rest from input 1."""
    a, b, c = (_synthetic(s, grad=True) for s in (1, 2, 3))
    ave = average_forwards([a, b, c], [2, 3, 5])
    for attr in ("meg", "eeg"):
        x, y, z = (getattr(f, attr) for f in (a, b, c))
        # float64 arithmetic on float64 inputs: only rounding differences
        np.testing.assert_allclose(getattr(ave, attr).sol, 0.2 * x.sol + 0.3 * y.sol + 0.5 * z.sol,
                                   rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(getattr(ave, attr).sol_grad,
                                   0.2 * x.sol_grad + 0.3 * y.sol_grad + 0.5 * z.sol_grad,
                                   rtol=1e-14, atol=1e-14)
    assert ave.dev_head_t is a.dev_head_t and ave.meas_file == a.meas_file
    assert ave.source_spaces is a.source_spaces and ave.channels is a.channels
    assert a.meg.sol is not ave.meg.sol  # inputs untouched


# --- CLI on synthetic inputs -------------------------------------------------------

def test_cli_weights_2_and_3(tmp_path, runner):
    a, b = _synthetic(1), _synthetic(2)
    pa, pb = _write(tmp_path, "a-fwd.fif", a), _write(tmp_path, "b-fwd.fif", b)
    out = tmp_path / "ave-fwd.fif"
    result = _run(runner, "--fwd", f"{pa}:2", "--fwd", f"{pb}:3", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"Read {pa} (weight 0.4)" in result.stderr
    assert f"Read {pb} (weight 0.6)" in result.stderr
    ra, rb, ave = read_forward(pa), read_forward(pb), read_forward(out)
    for attr in ("meg", "eeg"):
        expected = 0.4 * getattr(ra, attr).sol + 0.6 * getattr(rb, attr).sol
        # stored as float32: relative 2**-24 per element, plus cancellation in the sum
        np.testing.assert_allclose(getattr(ave, attr).sol, expected, rtol=1e-6, atol=1e-6)
        assert getattr(ave, attr).ch_names == getattr(ra, attr).ch_names
    np.testing.assert_array_equal(ave.dev_head_t.matrix, ra.dev_head_t.matrix)
    assert ave.meas_file == "run1_raw.fif"
    np.testing.assert_array_equal(ave.source_spaces[0].inuse, INUSE)
    assert ave.meg.sol_grad is None


def test_cli_default_weight_and_colon_in_name(tmp_path, runner, monkeypatch):
    """Names with ':' and no weight: weight 1 each; a zero weight drops an input."""
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "run:1-fwd.fif", _synthetic(1))
    _write(tmp_path, "run:2-fwd.fif", _synthetic(2))
    _write(tmp_path, "c-fwd.fif", _synthetic(3))
    result = _run(runner, "--fwd", "run:1-fwd.fif", "--fwd", "run:2-fwd.fif",
                  "--fwd", "c-fwd.fif:0", "--out", "ave-fwd.fif")
    assert result.exit_code == 0, result.output
    assert "Read run:1-fwd.fif (weight 0.5)" in result.stderr
    assert "Read c-fwd.fif (weight 0)" in result.stderr
    r1, r2 = read_forward("run:1-fwd.fif"), read_forward("run:2-fwd.fif")
    ave = read_forward("ave-fwd.fif")
    np.testing.assert_allclose(ave.eeg.sol, 0.5 * (r1.eeg.sol + r2.eeg.sol), rtol=1e-6, atol=1e-6)


def test_cli_single_input_is_a_copy(tmp_path, runner):
    pa = _write(tmp_path, "a-fwd.fif", _synthetic(1, grad=True))
    out = tmp_path / "ave-fwd.fif"
    assert _run(runner, "--fwd", f"{pa}:7", "--out", out).exit_code == 0
    ra, ave = read_forward(pa), read_forward(out)
    # float32 -> float64 -> x 1.0 -> float32: exact
    np.testing.assert_array_equal(ave.meg.sol, ra.meg.sol)
    np.testing.assert_array_equal(ave.eeg.sol_grad, ra.eeg.sol_grad)


def test_cli_gradients(tmp_path, runner):
    """Gradient matrices are averaged when all inputs have them, else dropped with a warning."""
    pa = _write(tmp_path, "a-fwd.fif", _synthetic(1, grad=True))
    pb = _write(tmp_path, "b-fwd.fif", _synthetic(2, grad=True))
    pc = _write(tmp_path, "c-fwd.fif", _synthetic(3))
    out = tmp_path / "ave-fwd.fif"
    assert _run(runner, "--fwd", pa, "--fwd", f"{pb}:3", "--out", out).exit_code == 0
    ra, rb, ave = read_forward(pa), read_forward(pb), read_forward(out)
    np.testing.assert_allclose(ave.meg.sol_grad, 0.25 * ra.meg.sol_grad + 0.75 * rb.meg.sol_grad,
                               rtol=1e-6, atol=1e-6)
    result = _run(runner, "--fwd", pa, "--fwd", pc, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"{pc} has no MEG gradient matrix" in result.stderr
    ave = read_forward(out)
    assert ave.meg.sol_grad is None and ave.eeg.sol_grad is None


MISMATCHES = {
    "channel-name": ({"eeg": ["EEG 001", "EEG 009", "EEG 003"]},
                     ["differ in their EEG channels", "EEG channel 2 is EEG 002 in",
                      "but EEG 009 in"]),
    "channel-order": ({"meg": MEG_NAMES[::-1]}, ["differ in their MEG channels"]),
    "channel-count": ({"eeg": EEG_NAMES[:2]},
                      ["differ in their EEG channels", "has 3 and", "EEG 003 in",
                       "but absent in"]),
    "parts": ({"eeg": None}, ["differ in their parts", "has MEG and EEG and", "MEG only"]),
    "source-count": ({"inuse": [1, 1, 0, 1, 1, 1, 0, 0]},
                     ["differ in the number of sources of source space 1", "6 in", "5 in"]),
    "source-vertices": ({"inuse": [1, 1, 1, 1, 1, 1, 0, 0]},
                        ["differ in the sources in use in source space 1",
                         "source 3 is vertex 3 in", "but vertex 2 in"]),
    "orientation": ({"ori": SourceOri.FIXED},
                    ["differ in source orientation", "has free and", "fixed orientation"]),
    "frame": ({"frame": Frame.MRI}, ["differ in coordinate frame", "is in head and",
                                      "in MRI coordinates"]),
}


@pytest.mark.parametrize("change", list(MISMATCHES), ids=list(MISMATCHES))
def test_cli_mismatch(tmp_path, runner, change):
    """Incompatible inputs: exit 1, one line naming both files and the difference;
    an earlier output file stays as it was."""
    changes, phrases = MISMATCHES[change]
    pa = _write(tmp_path, "x-fwd.fif", _synthetic(1))
    pb = _write(tmp_path, "y-fwd.fif", _synthetic(2, **changes))
    out = tmp_path / "ave-fwd.fif"
    out.write_bytes(b"earlier output")
    result = _run(runner, "--quiet", "--fwd", f"{pa}:2", "--fwd", f"{pb}:3", "--out", out)
    _assert_failed(result, f"{pa} and {pb} differ", *phrases)
    assert len(result.stderr.strip().splitlines()) == 1
    assert out.read_bytes() == b"earlier output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ave-fwd.fif", "x-fwd.fif", "y-fwd.fif"]


@pytest.mark.parametrize("weights,phrase", [(("2", "-1"), "is -1; weights must be zero or positive"),
                                            (("0", "0"), "all forward-solution weights are zero")])
def test_cli_bad_weights(tmp_path, runner, weights, phrase):
    pa = _write(tmp_path, "a-fwd.fif", _synthetic(1))
    pb = _write(tmp_path, "b-fwd.fif", _synthetic(2))
    out = tmp_path / "ave-fwd.fif"
    result = _run(runner, "--fwd", f"{pa}:{weights[0]}", "--fwd", f"{pb}:{weights[1]}",
                  "--out", out)
    _assert_failed(result, phrase)
    assert not out.exists()


def test_cli_missing_input(tmp_path, runner):
    pa = _write(tmp_path, "a-fwd.fif", _synthetic(1))
    missing = tmp_path / "nope-fwd.fif"
    out = tmp_path / "ave-fwd.fif"
    _assert_failed(_run(runner, "--fwd", pa, "--fwd", f"{missing}:2", "--out", out), str(missing))
    assert not out.exists()


def test_cli_refuses_out_equal_to_input(tmp_path, runner, monkeypatch):
    pa = _write(tmp_path, "a-fwd.fif", _synthetic(1))
    pb = _write(tmp_path, "b-fwd.fif", _synthetic(2))
    before = pb.read_bytes()
    monkeypatch.chdir(tmp_path)
    result = _run(runner, "--fwd", f"{pa}:2", "--fwd", "./b-fwd.fif:3", "--out", pb)
    _assert_failed(result, "--out names the input", code=2)
    assert pb.read_bytes() == before


# --- against MNE-Python ----------------------------------------------------------

@pytest.fixture(scope="module")
def mne_runs(tmp_path_factory):
    """Three MNE-Python forward solutions (MEG + EEG, free orientation) whose
    device -> head transforms and sphere origins differ by a few millimetres
    (and degrees)."""
    mne = pytest.importorskip("mne")
    info = mne.io.read_info(testing_file("SSS/sample_audvis_trunc_raw_sss.fif"), verbose=False)
    rng = np.random.default_rng(7)
    nn = rng.normal(size=(12, 3))
    src = mne.setup_volume_source_space(
        pos={"rr": rng.uniform(-0.03, 0.03, (12, 3)) + [0.0, 0.0, 0.04],
                 "nn": nn / np.linalg.norm(nn, axis=1, keepdims=True)}, verbose=False)
    folder = tmp_path_factory.mktemp("mne_runs")
    paths = []
    for k, (shift, angle) in enumerate([(0.0, 0.0), (0.004, 0.05), (-0.003, -0.08)]):
        run = copy.deepcopy(info)
        c, s = np.cos(angle), np.sin(angle)
        move = np.array([[c, -s, 0, shift], [s, c, 0, -shift], [0, 0, 1, 0.5 * shift],
                         [0, 0, 0, 1]])
        run["dev_head_t"]["trans"][:] = move @ run["dev_head_t"]["trans"]
        # the EEG electrodes are fixed to the head: vary the sphere a little
        # so that the EEG parts differ too
        sphere = mne.make_sphere_model((0.0, shift, 0.04), 0.09, verbose=False)
        fwd = mne.make_forward_solution(run, None, src, sphere, verbose=False)
        path = folder / f"run{k + 1}-fwd.fif"
        mne.write_forward_solution(path, fwd, overwrite=True, verbose=False)
        paths.append(path)
    return mne, paths


@pytest.mark.parametrize("weights", [(2.0, 3.0), (2.0, 3.0, None)], ids=["2-3", "2-3-default"])
def test_agrees_with_mne_python(tmp_path, runner, mne_runs, weights):
    """Our average read by MNE-Python equals mne.average_forward_solutions to
    float32 resolution, per channel type."""
    mne, paths = mne_runs
    args = []
    for path, w in zip(paths, weights):
        args += ["--fwd", str(path) if w is None else f"{path}:{w:g}"]
    out = tmp_path / "ave-fwd.fif"
    result = _run(runner, *args, "--out", out)
    assert result.exit_code == 0, result.output
    fwds = [mne.read_forward_solution(p, verbose=False) for p in paths[:len(weights)]]
    # MNE-Python divides the weight array in place: it must be float
    theirs = mne.average_forward_solutions(fwds, weights=[1.0 if w is None else w
                                                          for w in weights])
    ours = mne.read_forward_solution(out, verbose=False)
    assert ours["sol"]["row_names"] == theirs["sol"]["row_names"]
    assert ours["info"]["ch_names"] == theirs["info"]["ch_names"]
    np.testing.assert_array_equal(ours["info"]["dev_head_t"]["trans"],
                                  fwds[0]["info"]["dev_head_t"]["trans"])
    np.testing.assert_array_equal(ours["source_rr"], theirs["source_rr"])
    assert ours["source_ori"] == theirs["source_ori"] and ours["nsource"] == theirs["nsource"]
    assert PROG in ours["info"]["command_line"]
    for kind in ("mag", "grad", "eeg"):
        picks = mne.pick_types(ours["info"], meg=kind if kind != "eeg" else False,
                               eeg=kind == "eeg")
        a, b = ours["sol"]["data"][picks], theirs["sol"]["data"][picks]
        scale = np.abs(b).max()
        # the inputs differ by percents, so a wrong weight would show
        first, second = (f["sol"]["data"][picks] for f in fwds[:2])
        assert np.abs(first - second).max() > 1e-2 * scale, kind
        # ours is stored as float32 (2**-24 relative); theirs is float64
        assert np.abs(a - b).max() <= 1e-6 * scale, kind


def test_mne_python_channel_mismatch(tmp_path, runner, mne_runs):
    """A file with fewer channels is refused, naming both files."""
    mne, paths = mne_runs
    fwd = mne.read_forward_solution(paths[1], verbose=False)
    fewer = mne.pick_channels_forward(fwd, exclude=["EEG 005"], verbose=False)
    other = tmp_path / "fewer-fwd.fif"
    mne.write_forward_solution(other, fewer, verbose=False)
    out = tmp_path / "ave-fwd.fif"
    result = _run(runner, "--fwd", paths[0], "--fwd", other, "--out", out)
    _assert_failed(result, f"{paths[0]} and {other} differ in their EEG channels",
                   "EEG channel 5 is EEG 005 in", "but EEG 006 in")
    assert not out.exists()


def test_synthetic_output_reads_in_mne_python(tmp_path, runner):
    """The averaged synthetic file is a valid forward solution for MNE-Python."""
    mne = pytest.importorskip("mne")
    pa = _write(tmp_path, "a-fwd.fif", _synthetic(1))
    pb = _write(tmp_path, "b-fwd.fif", _synthetic(2))
    out = tmp_path / "ave-fwd.fif"
    assert _run(runner, "--fwd", pa, "--fwd", f"{pb}:3", "--out", out).exit_code == 0
    theirs = mne.read_forward_solution(out, verbose=False)
    ra, rb = read_forward(pa), read_forward(pb)
    expected = np.vstack([0.25 * ra.meg.sol + 0.75 * rb.meg.sol,
                          0.25 * ra.eeg.sol + 0.75 * rb.eeg.sol])
    np.testing.assert_allclose(theirs["sol"]["data"], expected, rtol=1e-6, atol=1e-6)
    assert theirs["sol"]["row_names"] == MEG_NAMES + EEG_NAMES

