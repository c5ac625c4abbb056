"""The MNE-C convenience scripts: mne_setup_source_space, mne_setup_forward_model,
mne_do_forward_solution (SPEC 12).

The acceptance test runs a bash script written the MNE-C way on a copy of the
refcase subject and checks what MNE-Python reads and computes from the same
files. The search and naming rules are tested one by one on synthetic
folders.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mne_cli.errors import InputError
from mne_cli.forward import search as do_fwd

from .conftest import REFCASE, invoke_ok, testing_file

BIN = Path(sys.executable).parent

MNE_C_SCRIPT = """\
set -e
export SUBJECTS_DIR={subjects} SUBJECT=sample
cd {meg}
mne_setup_source_space --ico -6
mne_setup_forward_model --homog --surf --ico 4
mne_do_forward_solution --mindist 5 --spacing oct-6 --bem ${{SUBJECT}}-5120 \\
    --meas raw.fif --megonly --overwrite
"""


def _refcase_copy(root: Path) -> Path:
    """A writable copy of the refcase subject's surfaces and BEM surfaces."""
    source = REFCASE / "subjects" / "sample"
    if not (source / "surf" / "lh.white").exists():
        pytest.skip(f"refcase subject not found under {source}")
    subjects = root / "subjects"
    for folder, pattern in (("surf", "*"), ("bem", "*.surf"), ("bem", "*.tri")):
        (subjects / "sample" / folder).mkdir(parents=True, exist_ok=True)
        for path in (source / folder).glob(pattern):
            shutil.copy(path, subjects / "sample" / folder / path.name)
    return subjects


@pytest.fixture(scope="module")
def mne_c_run(tmp_path_factory):
    """The acceptance script, run once through bash with the venv's console scripts."""
    root = tmp_path_factory.mktemp("mne_c_way")
    subjects = _refcase_copy(root)
    meg = root / "meg"
    meg.mkdir()
    shutil.copy(testing_file("SSS/sample_audvis_trunc_raw_sss.fif"), meg / "raw.fif")
    shutil.copy(testing_file("MEG/sample/sample_audvis_trunc-trans.fif"), meg / "raw-trans.fif")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    script = MNE_C_SCRIPT.format(subjects=subjects, meg=meg)
    result = subprocess.run(["bash", "-c", script], check=False, env=env, capture_output=True,
                            text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    return {"subjects": subjects, "meg": meg, "stderr": result.stderr}


def test_mne_c_script_outputs_read_by_mne(mne_c_run):
    """Every file the script writes has the MNE-C name and reads in MNE-Python."""
    mne = pytest.importorskip("mne")
    bem = mne_c_run["subjects"] / "sample" / "bem"
    src = mne.read_source_spaces(bem / "sample-oct-6-src.fif", verbose=False)
    assert [s["nuse"] for s in src] == [4098, 4098]
    assert all(s["nearest"] is not None for s in src)   # patch information
    model = mne.read_bem_surfaces(bem / "sample-5120-bem.fif", verbose=False)
    assert [(s["id"], s["ntri"]) for s in model] == [(1, 5120)]
    sol = mne.read_bem_solution(bem / "sample-5120-bem-sol.fif", verbose=False)
    assert sol["solution"].shape == (2562, 2562)
    fwd = mne.read_forward_solution(mne_c_run["meg"] / "raw-meg-oct-6-fwd.fif", verbose=False)
    assert fwd["info"]["nchan"] == 306 and fwd["nsource"] > 0


@pytest.mark.slow
def test_do_forward_solution_matches_mne(mne_c_run, tmp_path, runner):
    """With --accurate (MNE-Python's only coil accuracy) the wrapper equals
    mne.make_forward_solution on the script's own files (relative 1e-6)."""
    mne = pytest.importorskip("mne")
    from mne_cli.cli.do_forward_solution import main

    bem, meg = mne_c_run["subjects"] / "sample" / "bem", mne_c_run["meg"]
    runner.env = {"SUBJECTS_DIR": str(mne_c_run["subjects"]), "SUBJECT": "sample"}
    invoke_ok(runner, main, ["--mindist", "5", "--spacing", "oct-6", "--bem", "sample-5120",
                             "--meas", meg / "raw.fif", "--megonly", "--accurate",
                             "--destdir", tmp_path])
    ours = mne.read_forward_solution(tmp_path / "raw-meg-oct-6-fwd.fif", verbose=False)
    theirs = mne.make_forward_solution(
        meg / "raw.fif", meg / "raw-trans.fif", bem / "sample-oct-6-src.fif",
        bem / "sample-5120-bem-sol.fif", meg=True, eeg=False, mindist=5.0, verbose=False)
    assert ours["nsource"] == theirs["nsource"]
    assert ours["sol"]["row_names"] == theirs["sol"]["row_names"]
    a, b = ours["sol"]["data"], theirs["sol"]["data"]
    assert np.linalg.norm(a - b) / np.linalg.norm(b) < 1e-6


def test_do_forward_solution_equals_forward_solution(mne_c_run, tmp_path, runner):
    """The script's output is forward_solution's on the files it found (identical gains)."""
    from mne_cli.cli.forward_solution import main as forward_solution
    from mne_cli.io.forward import read_forward

    bem, meg = mne_c_run["subjects"] / "sample" / "bem", mne_c_run["meg"]
    direct = tmp_path / "direct-fwd.fif"
    invoke_ok(runner, forward_solution, [
        "--src", bem / "sample-oct-6-src.fif", "--meas", meg / "raw.fif",
        "--mri", meg / "raw-trans.fif", "--bem", bem / "sample-5120", "--meg",
        "--mindist", "5", "--fwd", direct])
    a, b = read_forward(direct), read_forward(meg / "raw-meg-oct-6-fwd.fif")
    assert np.array_equal(a.meg.sol, b.meg.sol)
    assert b.eeg is None


def test_setup_source_space_equals_make_source_space(mne_c_run, tmp_path, runner):
    """The wrapper writes what make_source_space --ico -6 writes for the same subject."""
    from mne_cli.cli.make_source_space import main as make_source_space
    from mne_cli.io.source_space import read_source_spaces

    direct = tmp_path / "direct-src.fif"
    runner.env = {"SUBJECTS_DIR": str(mne_c_run["subjects"])}
    invoke_ok(runner, make_source_space, ["--subject", "sample", "--ico", "-6", "--src", direct])
    wrapped = read_source_spaces(mne_c_run["subjects"] / "sample" / "bem" / "sample-oct-6-src.fif")
    for a, b in zip(read_source_spaces(direct), wrapped, strict=True):
        assert np.array_equal(a.vertno, b.vertno) and np.array_equal(a.nearest, b.nearest)
        np.testing.assert_allclose(a.rr, b.rr, rtol=0, atol=1e-9)


def test_setup_source_space_refuses_existing_output(mne_c_run, runner):
    """Without --overwrite an existing source space stays as it was."""
    from mne_cli.cli.setup_source_space import main

    target = mne_c_run["subjects"] / "sample" / "bem" / "sample-oct-6-src.fif"
    before = target.read_bytes()
    runner.env = {"SUBJECTS_DIR": str(mne_c_run["subjects"]), "SUBJECT": "sample"}
    result = runner.invoke(main, ["--ico", "-6"])
    assert result.exit_code == 1
    assert "already exists" in result.stderr and "--overwrite" in result.stderr
    assert target.read_bytes() == before


@pytest.mark.slow
def test_setup_forward_model_three_layers_from_tri(tmp_path, runner):
    """.tri surfaces are swapped by default and named <subject>-<ntri>-<ntri>-<ntri>."""
    mne = pytest.importorskip("mne")
    from mne_cli.cli.setup_forward_model import main

    subjects = _refcase_copy(tmp_path)
    runner.env = {"SUBJECTS_DIR": str(subjects)}
    invoke_ok(runner, main, ["--subject", "sample", "--nosol", "--skullc", "0.01"])
    bem = subjects / "sample" / "bem"
    surfaces = mne.read_bem_surfaces(bem / "sample-5120-5120-5120-bem.fif", verbose=False)
    assert [s["id"] for s in surfaces] == [4, 3, 1]
    assert [s["sigma"] for s in surfaces] == pytest.approx([0.3, 0.01, 0.3], rel=1e-6)
    assert not (bem / "sample-5120-5120-5120-bem-sol.fif").exists()
    # The same surfaces through MNE-Python's reader of the .tri files (which swaps too).
    for surf, name in zip(surfaces, ["outer_skin", "outer_skull", "inner_skull"], strict=True):
        rr, tris = mne.read_surface(bem / f"{name}.surf")
        np.testing.assert_allclose(surf["rr"], rr / 1000, atol=1e-6)
        assert np.array_equal(surf["tris"], tris)


def test_setup_forward_model_missing_surface_names_file(tmp_path, runner):
    from mne_cli.cli.setup_forward_model import main

    (tmp_path / "s1" / "bem").mkdir(parents=True)
    runner.env = {"SUBJECTS_DIR": str(tmp_path)}
    result = runner.invoke(main, ["--subject", "s1", "--surf", "--homog"])
    assert result.exit_code == 1
    assert str(tmp_path / "s1" / "bem" / "inner_skull.surf") in result.stderr


# ---- the search and naming rules of mne_do_forward_solution, one by one ----------------------

@pytest.fixture
def subject_tree(tmp_path, monkeypatch):
    """An empty subject 'ss' with bem/, mri/T1-neuromag/sets and a meas folder; cwd is tmp."""
    home = tmp_path / "subjects" / "ss"
    for folder in ("bem", "mri/T1-neuromag/sets"):
        (home / folder).mkdir(parents=True)
    (tmp_path / "meg").mkdir()
    monkeypatch.setenv("SUBJECTS_DIR", str(tmp_path / "subjects"))
    monkeypatch.chdir(tmp_path)
    return home


def _touch(path: Path, age_s: float = 0.0) -> Path:
    path.write_bytes(b"x")
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_default_forward_name():
    name = do_fwd.default_forward_name
    assert name(Path("/d/sample_audvis_raw.fif"), True, True, "oct-6") == \
        "sample_audvis-meg-eeg-oct-6-fwd.fif"
    assert name(Path("run1-ave.fif"), True, False, "7") == "run1-meg-7-fwd.fif"
    assert name(Path("x.fif.gz"), False, True, "ico-4") == "x-eeg-ico-4-fwd.fif"


def test_spacing_of_source_space_names():
    assert do_fwd.spacing_of(Path("bem/sample-oct-6-src.fif"), "sample") == "oct-6"
    assert do_fwd.spacing_of(Path("sample-7-src.fif"), "sample") == "7"
    assert do_fwd.spacing_of(Path("phantom-src.fif"), "sample") == "phantom"


def test_source_space_current_directory_first(subject_tree):
    in_bem = _touch(subject_tree / "bem" / "ss-oct-6-src.fif")
    assert do_fwd.find_source_space(None, "oct-6", "ss") == in_bem
    here = _touch(Path("ss-oct-6-src.fif"))
    assert do_fwd.find_source_space(None, "oct-6", "ss") == here
    with pytest.raises(InputError, match="ss-5-src.fif"):
        do_fwd.find_source_space(None, "5", "ss")


def test_bem_by_name_or_newest(subject_tree):
    bem = subject_tree / "bem"
    _touch(bem / "ss-5120-bem.fif", age_s=100)
    _touch(bem / "ss-5120-5120-5120-bem-sol.fif", age_s=50)
    assert do_fwd.find_bem("ss-5120", "ss") == str(bem / "ss-5120")
    assert do_fwd.find_bem("ss-5120-bem.fif", "ss") == str(bem / "ss-5120-bem.fif")
    assert do_fwd.find_bem(None, "ss") == str(bem / "ss-5120-5120-5120-bem-sol.fif")
    with pytest.raises(InputError, match="not found"):
        do_fwd.find_bem("ss-1280", "ss")


def test_transform_search_order(subject_tree, tmp_path, caplog):
    meas = tmp_path / "meg" / "run_raw.fif"
    _touch(meas)
    sets = subject_tree / "mri" / "T1-neuromag" / "sets"
    cor = _touch(sets / "COR-ss.fif", age_s=10)
    with caplog.at_level(logging.WARNING, logger="mne_cli"):
        assert do_fwd.find_transform(None, None, meas, "ss") == cor
    assert "guessed the head<->MRI transform" in caplog.text and "the only COR-*" in caplog.text
    other = _touch(tmp_path / "meg" / "other-trans.fif", age_s=20)
    _touch(tmp_path / "meg" / "older-trans.fif", age_s=40)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mne_cli"):
        assert do_fwd.find_transform(None, None, meas, "ss") == other
    assert "the newest of 2 *-trans.fif files" in caplog.text and "--mri" in caplog.text
    own = _touch(tmp_path / "meg" / "run_raw-trans.fif", age_s=30)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mne_cli"):
        assert do_fwd.find_transform(None, None, meas, "ss") == own
    assert caplog.text == ""                      # the measurement's own: no guess
    assert do_fwd.find_transform("COR-ss.fif", None, meas, "ss") == cor
    text = _touch(tmp_path / "head-mri.txt")
    assert do_fwd.find_transform(None, str(text), meas, "ss") == text
    with pytest.raises(InputError, match="nothere.fif"):
        do_fwd.find_transform("nothere.fif", None, meas, "ss")


def test_no_transform_anywhere_is_one_clear_error(subject_tree, tmp_path):
    meas = _touch(tmp_path / "meg" / "run_raw.fif")
    with pytest.raises(InputError, match="give --mri or --trans"):
        do_fwd.find_transform(None, None, meas, "ss")


def test_do_forward_solution_destdir_and_overwrite(mne_c_run, tmp_path, runner):
    """--destdir receives the default name; a second run without --overwrite is refused."""
    from mne_cli.cli.do_forward_solution import main

    meg = mne_c_run["meg"]
    runner.env = {"SUBJECTS_DIR": str(mne_c_run["subjects"]), "SUBJECT": "sample"}
    args = ["--spacing", "oct-6", "--bem", "sample-5120", "--meas", str(meg / "raw.fif"),
            "--megonly", "--destdir", str(tmp_path), "--mindist", "5"]
    invoke_ok(runner, main, args)
    out = tmp_path / "raw-meg-oct-6-fwd.fif"
    before = out.read_bytes()
    result = runner.invoke(main, args)
    assert result.exit_code == 1 and "--overwrite" in result.stderr
    assert out.read_bytes() == before
