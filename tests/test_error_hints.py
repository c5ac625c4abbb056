"""Errors that point at the real mistake (issue 14, item 7).

A FreeSurfer surface given as ``--bem``, a FIF transform given as
``--trans``, a value written after an on/off switch, a single-dash long
option and a dash pasted from a document each get a message that names what
was meant (or, for ``--trans``, simply work).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from click.testing import CliRunner

from mne_cli.io.forward import read_forward

from .conftest import testing_file


def _main(command: str):
    return importlib.import_module(f"mne_cli.cli.{command.removeprefix('mne_')}").main


def _error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines()
             if ln.strip() and not ln.startswith(("Usage: ", "Try '"))]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command, args, expected", [
    ("forward_solution", ["--src", "s.fif", "--meas", "m.fif", "--notrans", "--fwd", "x.fif",
                          "--mricoord", "file"],
     "(--mricoord is a switch and takes no value: drop 'file' after it.)"),
    ("make_source_space", ["-spacing", "7", "--src", "x-src.fif"],
     "long options take two dashes: did you mean --spacing?"),
    ("mne_do_forward_solution", ["\u2013overwrite", "--meas", "m.fif"],
     "did you mean --overwrite?"),
    ("surf2bem", ["\u2014check", "--surf", "x.surf"], "did you mean --check?"),
    ("volume_source_space", ["--grid=5", "-mindist", "5", "--src", "x-src.fif"],
     "did you mean --mindist?"),
    ("forward_solution", ["-spacing", "7", "--src", "s.fif"],
     "No such option -spacing: forward_solution has no --spacing either (see --help)"),
])
def test_usage_hints(command, args, expected):
    result = CliRunner().invoke(_main(command), args)
    assert result.exit_code == 2
    line = _error_line(result)
    assert line.startswith("Error: ") and line.endswith(expected), line


def test_short_options_still_work():
    """-v, -q and -h are real short options, not mistyped long ones."""
    result = CliRunner().invoke(_main("make_source_space"), ["-h"])
    assert result.exit_code == 0 and "--spacing" in result.output


@pytest.mark.parametrize("surface", ["inner_skull.surf", "inner_skull.tri"])
def test_surface_given_as_bem(sample_forward_inputs, tmp_path, surface):
    path = testing_file(f"subjects/sample/bem/{surface}")
    result = CliRunner().invoke(_main("forward_solution"), [
        "--src", str(sample_forward_inputs["cortex"]), "--meas",
        str(sample_forward_inputs["meas"]), "--notrans", "--fwd", str(tmp_path / "x-fwd.fif"),
        "--bem", str(path), "-q"])
    line = _error_line(result)
    assert result.exit_code == 1 and str(path) in line and "not a BEM model" in line
    assert "surf2bem" in line and "prepare_bem_model" in line
    assert ("a FreeSurfer surface" if surface.endswith(".surf") else ".tri surface") in line


@pytest.mark.parametrize("command, args", [
    ("prepare_bem_model", ["--bem", "{surface}", "--sol", "{out}"]),
    ("volume_source_space", ["--bem", "{surface}", "--grid", "10", "--src", "{out}"]),
])
def test_surface_given_where_a_bem_is_read(tmp_path, command, args):
    """Every reader of BEM files says that a surface is not a BEM model."""
    path = testing_file("subjects/sample/bem/inner_skull.surf")
    values = {"surface": str(path), "out": str(tmp_path / "x-out.fif")}
    result = CliRunner().invoke(_main(command), [a.format(**values) for a in args] + ["-q"])
    line = _error_line(result)
    assert result.exit_code == 1 and str(path) in line and "a FreeSurfer surface" in line
    assert "surf2bem" in line


@pytest.mark.parametrize("command, args, option", [
    ("forward_solution", ["--src", "{src}", "--meas", "{meas}", "--notrans", "--fwd", "{meas}"],
     "--fwd"),
    ("forward_solution", ["--src", "{src}", "--meas", "{meas}", "--notrans", "--fwd", "{src}"],
     "--fwd"),
    ("surf2bem", ["--surf", "{surface}", "--id", "1", "--sigma", "0.3", "--fif", "{surface}"],
     "--fif"),
    ("volume_source_space", ["--surf", "{surface}", "--src", "{surface}"], "--src"),
    ("make_source_space", ["--surf", "{surface}", "--ico", "3", "--src", "{surface}"], "--src"),
])
def test_output_that_is_an_input_is_refused(tmp_path, command, args, option):
    """Writing over an input would destroy the recording or surface itself."""
    import shutil

    files = {}
    for key, name in (("surface", "subjects/sample/bem/inner_skull.surf"),
                      ("meas", "SSS/sample_audvis_trunc_raw_sss.fif"),
                      ("src", "subjects/fsaverage/bem/fsaverage-vol7-nointerp-src.fif.gz")):
        files[key] = tmp_path / testing_file(name).name
        shutil.copy(testing_file(name), files[key])
    before = {key: path.read_bytes() for key, path in files.items()}
    result = CliRunner().invoke(_main(command), [a.format(**files) for a in args] + ["-q"])
    line = _error_line(result)
    assert result.exit_code == 1 and line.startswith(f"{command}: {option} ")
    assert "this is also an input" in line
    assert {key: path.read_bytes() for key, path in files.items()} == before


def test_duplicate_surface_ids_are_refused(tmp_path):
    bem = testing_file("subjects/sample/bem")
    result = CliRunner().invoke(_main("surf2bem"), [
        "--surf", str(bem / "inner_skull.surf"), "--id", "1", "--sigma", "0.3",
        "--surf", str(bem / "outer_skull.surf"), "--id", "1", "--sigma", "0.3",
        "--fif", str(tmp_path / "dup-bem.fif"), "-q"])
    line = _error_line(result)
    assert result.exit_code == 1 and "--id 1 is given to inner_skull.surf too" in line


def test_fif_transform_given_as_trans(sample_forward_inputs, tmp_path):
    """--trans x-trans.fif gives the same forward solution as --mri x-trans.fif."""
    out = {}
    for flag in ("--mri", "--trans"):
        out[flag] = tmp_path / f"{flag[2:]}-fwd.fif"
        result = CliRunner().invoke(_main("forward_solution"), [
            "--src", str(sample_forward_inputs["cortex"]), "--meas",
            str(sample_forward_inputs["meas"]), flag, str(sample_forward_inputs["trans"]),
            "--meg", "--fwd", str(out[flag]), "-q"])
        assert result.exit_code == 0, result.stderr
    a, b = (read_forward(out[f]) for f in ("--mri", "--trans"))
    np.testing.assert_array_equal(a.meg.sol, b.meg.sol)
    np.testing.assert_array_equal(a.mri_head_t.matrix, b.mri_head_t.matrix)


@pytest.mark.parametrize("noswap, wound, fix", [
    (False, "outward", "add --noswap"),     # already counterclockwise, then swapped
    (True, "inward", "run without --noswap"),
])
def test_setup_forward_model_swap_hint_fits_the_command(tmp_path, noswap, wound, fix):
    """Inward triangles: the hint names mne_setup_forward_model's option, not surf2bem's."""
    from mne_cli.geometry.icosahedron import icosahedron
    from mne_cli.io.surface import write_tri

    rr, tris = icosahedron(3)
    if wound == "inward":
        tris = tris[:, [0, 2, 1]]
    bem = tmp_path / "subj" / "bem"
    bem.mkdir(parents=True)
    write_tri(bem / "inner_skull.tri", rr * 0.08, tris)
    args = ["--subject", "subj", "--homog", "--nosol"] + (["--noswap"] if noswap else [])
    result = CliRunner().invoke(_main("mne_setup_forward_model"), args + ["-q"],
                                env={"SUBJECTS_DIR": str(tmp_path)})
    line = _error_line(result)
    assert result.exit_code == 1 and "wound inward" in line and line.endswith(fix + (
        " (these .tri triangles are already counterclockwise)" if not noswap else ""))
    assert "--swap after --tri" not in line
