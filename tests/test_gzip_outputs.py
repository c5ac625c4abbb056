"""Outputs named ``*.fif.gz`` are gzip-compressed, as MNE-Python writes and reads them.

Every command with a FIF output runs twice on the bundled demo subject
(share/demo, small grades), once to ``x.fif`` and once to ``x.fif.gz``: the
compressed file is a gzip stream, MNE-Python and mne_cli read it, and it
holds the same tags as the plain file (only the file's own ids and the
command line, which names the output, differ). Compressed files are also
read as inputs, and a failed write leaves nothing behind.
"""

from __future__ import annotations

import errno
import gzip
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mne_cli.cli import (
    average_forward_solutions,
    do_forward_solution,
    forward_solution,
    make_source_space,
    prepare_bem_model,
    setup_source_space,
    surf2bem,
    volume_source_space,
)
from mne_cli.fiff import Kind, open_fif
from mne_cli.fiff.write import FifWriter
from mne_cli.io.bem import read_bem_solution, read_bem_surfaces
from mne_cli.io.forward import read_forward
from mne_cli.io.source_space import read_source_spaces

from .conftest import REPO, invoke_ok

mne = pytest.importorskip("mne")

DEMO = REPO / "share" / "demo"
SUBJECTS = DEMO / "subjects"
BEM_SURF = SUBJECTS / "demo" / "bem"
RUN1, RUN2 = DEMO / "demo_run1_raw.fif", DEMO / "demo_run2_raw.fif"
TRANS = DEMO / "demo-trans.fif"

#: Tags that differ between two runs writing the same content: the file's own
#: ids (creation time) and the command line (it names the output).
_OWN = {Kind.FILE_ID, Kind.BLOCK_ID, Kind.MNE_ENV_COMMAND_LINE}


def _runner() -> CliRunner:
    return CliRunner(env={"SUBJECTS_DIR": str(SUBJECTS), "SUBJECT": "demo"})


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Plain inputs for the later commands: a 3-layer ico-2 BEM and its
    solution, 2 x 162 cortical sources, two forward solutions."""
    out = tmp_path_factory.mktemp("gzip_inputs")
    runner = _runner()
    files = {k: out / n for k, n in (("bem", "demo-bem.fif"), ("sol", "demo-bem-sol.fif"),
                                      ("src", "demo-src.fif"), ("fwd1", "run1-fwd.fif"),
                                      ("fwd2", "run2-fwd.fif"))}
    invoke_ok(runner, surf2bem.main, _surf2bem_args(files["bem"]))
    invoke_ok(runner, prepare_bem_model.main, ["--bem", files["bem"], "--sol", files["sol"]])
    invoke_ok(runner, make_source_space.main, ["--ico", 2, "--src", files["src"]])
    for run, key in ((RUN1, "fwd1"), (RUN2, "fwd2")):
        invoke_ok(runner, forward_solution.main, _forward_args(files, run, files[key]))
    return files


def _surf2bem_args(out) -> list:
    args = []
    for name, surf_id, sigma in (("outer_skin", 4, 0.3), ("outer_skull", 3, 0.006),
                                 ("inner_skull", 1, 0.3)):
        args += ["--surf", BEM_SURF / f"{name}.surf", "--id", surf_id, "--sigma", sigma,
                 "--ico", 2]
    return [*args, "--fif", out]


def _forward_args(files, meas, out) -> list:
    return ["--src", files["src"], "--meas", meas, "--mri", TRANS, "--bem", files["sol"],
            "--meg", "--eeg", "--mindist", 5, "--fwd", out]


# (command, arguments for inputs and output, what the output is)
CASES = {
    "surf2bem": (surf2bem, lambda f, out: _surf2bem_args(out), "bem"),
    "prepare_bem_model": (prepare_bem_model, lambda f, out: ["--bem", f["bem"], "--sol", out],
                          "sol"),
    "make_source_space": (make_source_space, lambda f, out: ["--ico", 2, "--src", out], "src"),
    "volume_source_space": (volume_source_space,
                            lambda f, out: ["--bem", f["bem"], "--grid", 20, "--src", out], "src"),
    "forward_solution": (forward_solution, lambda f, out: _forward_args(f, RUN1, out), "fwd"),
    "average_forward_solutions": (
        average_forward_solutions,
        lambda f, out: ["--fwd", f"{f['fwd1']}:2", "--fwd", f"{f['fwd2']}:1", "--out", out],
        "fwd"),
    "mne_setup_source_space": (setup_source_space, lambda f, out: ["--ico", 2, "--src", out],
                               "src"),
    "mne_do_forward_solution": (
        do_forward_solution,
        lambda f, out: ["--meas", RUN1, "--src", f["src"], "--bem", f["sol"], "--mri", TRANS,
                        "--megonly", "--fwd", out],
        "fwd"),
}


def _tags(path) -> list[tuple]:
    """(kind, type, payload) of every tag in file order; None for the run's own tags."""
    fif = open_fif(path)
    return [(t.kind, t.type,
             None if t.kind in _OWN else bytes(fif.data[t.data_pos:t.data_pos + t.size]))
            for t in fif.tags]


def _read_with_mne(path, what):
    """MNE-Python's reader for the kind of file, and one array to compare."""
    if what == "bem":
        return np.concatenate([s["rr"] for s in mne.read_bem_surfaces(path, verbose=False)])
    if what == "sol":
        return mne.read_bem_solution(path, verbose=False)["solution"]
    if what == "src":
        return np.concatenate([s["rr"][s["vertno"]]
                               for s in mne.read_source_spaces(path, verbose=False)])
    return mne.read_forward_solution(path, verbose=False)["sol"]["data"]


def _read_with_mne_cli(path, what):
    if what == "bem":
        return np.concatenate([s.rr for s in read_bem_surfaces(path)])
    if what == "sol":
        return read_bem_solution(path).solution
    if what == "src":
        return np.concatenate([s.rr[s.inuse.astype(bool)] for s in read_source_spaces(path)])
    fwd = read_forward(path)
    return np.vstack([b.sol for b in (fwd.meg, fwd.eeg) if b is not None])


@pytest.mark.parametrize("name", list(CASES))
def test_gz_output_equals_plain_output(name, inputs, tmp_path):
    """The .fif.gz output is gzip, reads in MNE-Python and mne_cli, and holds
    the plain output's tags."""
    command, args, what = CASES[name]
    runner = _runner()
    plain, packed = tmp_path / f"out-{what}.fif", tmp_path / f"out-{what}.fif.gz"
    for out in (plain, packed):
        invoke_ok(runner, command.main, args(inputs, out))
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert plain.read_bytes()[:2] != b"\x1f\x8b"
    with gzip.open(packed) as fid:  # a complete stream (CRC and length checked)
        fid.read()
    assert _tags(packed) == _tags(plain)
    expected = _read_with_mne(plain, what)
    np.testing.assert_array_equal(_read_with_mne(packed, what), expected)
    np.testing.assert_array_equal(_read_with_mne_cli(packed, what), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([plain.name, packed.name])


def test_gz_header_names_the_uncompressed_file(inputs, tmp_path):
    """The gzip header records the output's name without .gz (as gzip and
    MNE-Python do), not the temporary file's."""
    out = tmp_path / "named-bem.fif.gz"
    invoke_ok(_runner(), surf2bem.main, _surf2bem_args(out))
    header = out.read_bytes()[:64]
    assert header[3] & 0x08  # FNAME flag
    assert header[10:].split(b"\0")[0] == b"named-bem.fif"


def test_gz_inputs_give_the_same_results(inputs, tmp_path):
    """A chain run on .fif.gz files computes what the plain chain computes."""
    runner = _runner()
    packed = {k: tmp_path / (p.name + ".gz") for k, p in inputs.items()}
    invoke_ok(runner, surf2bem.main, _surf2bem_args(packed["bem"]))
    invoke_ok(runner, prepare_bem_model.main, ["--bem", packed["bem"], "--sol", packed["sol"]])
    invoke_ok(runner, make_source_space.main, ["--ico", 2, "--src", packed["src"]])
    for run, key in ((RUN1, "fwd1"), (RUN2, "fwd2")):
        invoke_ok(runner, forward_solution.main, _forward_args(packed, run, packed[key]))
    average = tmp_path / "avg-fwd.fif.gz"
    invoke_ok(runner, average_forward_solutions.main,
              ["--fwd", f"{packed['fwd1']}:2", "--fwd", f"{packed['fwd2']}:1", "--out", average])
    for key in ("fwd1", "fwd2"):
        np.testing.assert_array_equal(_read_with_mne_cli(packed[key], "fwd"),
                                      _read_with_mne_cli(inputs[key], "fwd"))
    assert mne.read_forward_solution(average, verbose=False)["nsource"] == 2 * 162


@pytest.mark.parametrize("earlier", [False, True], ids=["new", "earlier-file"])
def test_failed_gz_write_leaves_nothing(inputs, tmp_path, monkeypatch, earlier):
    """A write that fails halfway (disk full) leaves no file, no temporary file,
    and an earlier file at the name as it was."""
    out = tmp_path / "full-fwd.fif.gz"
    if earlier:
        out.write_bytes(b"earlier output")
    original = FifWriter.write_matrix

    def write_then_fail(self, kind, array, element_type=None):
        original(self, kind, array, element_type)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FifWriter, "write_matrix", write_then_fail)
    result = _runner().invoke(forward_solution.main,
                              [str(a) for a in _forward_args(inputs, RUN1, out)] + ["--quiet"])
    assert result.exit_code == 1
    assert "full-fwd.fif.gz" in result.output and "No space left" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ([out.name] if earlier else [])
    if earlier:
        assert out.read_bytes() == b"earlier output"
