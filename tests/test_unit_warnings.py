"""Lengths that look like metres where the command line takes mm (issue 13, item 2).

Every length option of the MNE-C tools is in millimetres; a value such as
``--mindist 0.005`` was almost surely meant as 5 mm. It is used as given (it
may be meant) but gets a warning on stderr, also with ``--quiet``, that says
what was probably meant. The threshold of each option is the smallest value
that is plausible in mm (:mod:`mne_cli.cli.options`): 0.1 mm for distances
to surfaces and shifts, 1 mm for grids, spacings and radii of exclusion, 10
mm for head radii; an origin is suspect when all its coordinates are below
1 mm but not all zero.
"""

from __future__ import annotations

import importlib

import pytest
from click.testing import CliRunner

CASES = [
    ("forward_solution", ["--mindist", "0.005"], "--mindist 0.005", "5"),
    ("forward_solution", ["--eegrad", "0.09"], "--eegrad 0.09", "90"),
    ("forward_solution", ["--origin", "0:0:0.04"], "--origin 0:0:0.04", "0:0:40"),
    ("mne_do_forward_solution", ["--meas", "x.fif", "--mindist", "0.005"], "--mindist 0.005",
     "5"),
    ("volume_source_space", ["--grid", "0.005"], "--grid 0.005", "5"),
    ("volume_source_space", ["--mindist", "0.005"], "--mindist 0.005", "5"),
    ("volume_source_space", ["--exclude", "0.02"], "--exclude 0.02", "20"),
    ("volume_source_space", ["--rad", "0.09"], "--rad 0.09", "90"),
    ("volume_source_space", ["--origin", "0.001:0:0.04"], "--origin 0.001:0:0.04", "1:0:40"),
    ("make_source_space", ["--spacing", "0.007"], "--spacing 0.007", "7"),
    ("make_source_space", ["--dist", "0.007"], "--dist 0.007", "7"),
    ("mne_setup_source_space", ["--spacing", "0.005"], "--spacing 0.005", "5"),
    ("surf2bem", ["--surf", "x.surf", "--shift", "0.002"], "--shift 0.002", "2"),
    ("mne_setup_forward_model", ["--innershift", "-0.002"], "--innershift -0.002", "-2"),
]
PLAUSIBLE = [
    ("forward_solution", ["--mindist", "0.5", "--eegrad", "80", "--origin", "0:0:0"]),
    ("volume_source_space", ["--grid", "2", "--mindist", "0", "--exclude", "1.5"]),
    ("make_source_space", ["--spacing", "5"]),
    ("surf2bem", ["--surf", "x.surf", "--shift", "0.5"]),
]


def _run(command: str, args: list[str]):
    main = importlib.import_module(f"mne_cli.cli.{command.removeprefix('mne_')}").main
    # The other inputs are missing, so each command stops at once (any status).
    return CliRunner().invoke(main, args + ["--quiet"], env={"SUBJECTS_DIR": None,
                                                             "SUBJECT": None})


@pytest.mark.parametrize("command, args, given, meant", CASES,
                         ids=[f"{c[0]}{c[1][-2]}" for c in CASES])
def test_metre_like_length_warns(command, args, given, meant, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _run(command, args)
    assert f"{given}: lengths are in mm; did you mean {meant}?" in result.stderr.splitlines()
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command, args", PLAUSIBLE, ids=[p[0] for p in PLAUSIBLE])
def test_plausible_lengths_do_not_warn(command, args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "lengths are in mm" not in _run(command, args).stderr


@pytest.mark.parametrize("command, args, option", [
    ("volume_source_space", ["--rad", "inf"], "--rad"),
    ("volume_source_space", ["--grid", "nan"], "--grid"),
    ("volume_source_space", ["--origin", "nan:0:0"], "--origin"),
    ("volume_source_space", ["--mindist", "-5"], "--mindist"),
    ("volume_source_space", ["--exclude", "-5"], "--exclude"),
    ("volume_source_space", ["--exclude", "inf"], "--exclude"),
    ("make_source_space", ["--dist", "nan"], "--dist"),
    ("make_source_space", ["--dist=-inf"], "--dist"),
    ("make_source_space", ["--spacing", "-7"], "--spacing"),
    ("mne_setup_forward_model", ["--innershift", "nan"], "--innershift"),
    ("surf2bem", ["--surf", "x.surf", "--shift", "inf"], "--shift"),
])
def test_impossible_lengths_are_usage_errors(command, args, option, tmp_path, monkeypatch):
    """Non-finite lengths and negative sizes or distances: one usage error, nothing else."""
    monkeypatch.chdir(tmp_path)
    result = _run(command, args)
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines()
             if ln.strip() and not ln.startswith(("Usage: ", "Try '"))]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and option in lines[0], lines


@pytest.mark.parametrize("word", ["all", "inf", "ALL", " Inf "])
def test_dist_all_means_no_limit(word):
    """--dist takes 'all' (or 'inf') for every pair of sources: no limit, infinity in metres."""
    from mne_cli.cli.options import MM_EXCLUDE, MM_LIMIT

    assert MM_LIMIT.convert(word, None, None) == float("inf")
    assert MM_LIMIT.convert("7", None, None) == pytest.approx(0.007)
    with pytest.raises(Exception, match="not a"):
        MM_EXCLUDE.convert(word, None, None)
