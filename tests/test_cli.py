"""Command-line conventions shared by all seventeen console scripts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import mne_cli

TOOLS = ["make_source_space", "volume_source_space", "surf2bem", "prepare_bem_model",
         "forward_solution", "average_forward_solutions", "list_coil_def"]
WRAPPERS = ["mne_setup_source_space", "mne_setup_forward_model", "mne_do_forward_solution"]
SCRIPTS = TOOLS + [f"mne_{t}" for t in TOOLS] + WRAPPERS
BIN = Path(sys.executable).parent


def _run(*args):
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_and_version(script):
    """Every console script answers --help and --version with exit status 0."""
    if not (BIN / script).exists():
        pytest.fail(f"console script {script} is not installed in {BIN}; run pip install -e .")
    helped = _run(script, "--help")
    assert helped.returncode == 0, helped.stderr
    assert "--help" in helped.stdout and "--version" in helped.stdout
    version = _run(script, "--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"{script} version {mne_cli.__version__} (mne_cli)"


@pytest.mark.parametrize("tool", [t for t in TOOLS if t != "list_coil_def"] + WRAPPERS)
def test_unknown_option_is_usage_error(tool):
    result = _run(tool, "--no-such-option")
    assert result.returncode == 2
    assert "--no-such-option" in result.stderr


def test_runtime_error_is_one_line_exit_1(tmp_path):
    """A core error becomes '<program>: <message>' on stderr, status 1, no traceback."""
    missing = tmp_path / "missing-bem.fif"
    result = _run("mne_list_coil_def", "--in", str(missing))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mne_list_coil_def: ")
    assert str(missing) in lines[0]
    assert "Traceback" not in result.stderr


def test_millimetres_become_metres():
    from mne_cli.cli.options import MM, MM_TRIPLE

    assert MM.convert("7", None, None) == pytest.approx(0.007, rel=1e-15)
    assert list(MM_TRIPLE.convert("0:0:40", None, None)) == pytest.approx([0, 0, 0.04], rel=1e-15)


@pytest.mark.parametrize("flag, logged", [([], True), (["-v"], True), (["--quiet"], False)])
def test_logging_goes_to_stderr(tmp_path, flag, logged):
    out = tmp_path / "coil_def.dat"
    result = _run("list_coil_def", "--out", str(out), *flag)
    assert result.returncode == 0 and result.stdout == ""
    assert ("Wrote 105 coil definitions" in result.stderr) == logged
