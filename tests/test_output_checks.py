"""An output that cannot be written is refused before any work (issue 14, item 4).

A missing or read-only output folder used to be found after the computation
(38 s of BEM solve). Every command now checks the output's folder first: it
must exist and take a new file (probed with a temporary file, so it holds for
root and read-only mounts too). mne_do_forward_solution makes --destdir, as
MNE-C's script did.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from .conftest import testing_file

DEMO = Path(__file__).resolve().parents[1] / "share" / "demo"


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder that exists but takes no new file, for root too (/sys) or by mode."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    try:
        tempfile.TemporaryFile(dir="/sys").close()
    except OSError:
        return Path("/sys")
    pytest.skip("running as root with a writable /sys: no unwritable folder to test with")


def _main(command: str):
    return importlib.import_module(f"mne_cli.cli.{command.removeprefix('mne_')}").main


def _commands(out: str):
    bem3 = str(testing_file("subjects/sample/bem/sample-1280-1280-1280-bem.fif"))
    demo_lh = str(DEMO / "subjects" / "demo" / "surf" / "lh.white")
    return {
        "prepare_bem_model": ["--bem", bem3, "--sol", out],
        "surf2bem": ["--surf", str(testing_file("subjects/sample/bem/inner_skull.surf")),
                     "--id", "1", "--sigma", "0.3", "--fif", out],
        "volume_source_space": ["--grid", "10", "--src", out],
        "make_source_space": ["--surf", demo_lh, "--ico", "3", "--src", out],
        "forward_solution": ["--src", "s.fif", "--meas", "m.fif", "--notrans", "--fwd", out],
        "average_forward_solutions": ["--fwd", "a-fwd.fif", "--out", out],
        "list_coil_def": ["--out", out],
    }


@pytest.mark.parametrize("command", sorted(_commands("x")))
@pytest.mark.parametrize("where", ["missing", "read-only"])
def test_unwritable_output_is_refused_first(command, where, tmp_path):
    folder = (tmp_path / "no" / "such" / "folder" if where == "missing"
              else _unwritable_folder(tmp_path))
    out = str(folder / "result.fif")
    result = CliRunner().invoke(_main(command), _commands(out)[command])
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    # Nothing was computed (no log line) before the one error line.
    assert result.exit_code == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{command}: ") and str(folder) in lines[0]
    assert ("does not exist" if where == "missing" else "cannot write in") in lines[0]


def test_do_forward_solution_makes_destdir(sample_forward_inputs, tmp_path):
    destdir = tmp_path / "out" / "run 1"
    result = CliRunner().invoke(_main("mne_do_forward_solution"), [
        "--meas", str(sample_forward_inputs["meas"]), "--src",
        str(sample_forward_inputs["cortex"]), "--mri", str(sample_forward_inputs["trans"]),
        "--bem", str(sample_forward_inputs["sol"]), "--destdir", str(destdir), "--megonly",
        "-q"])
    assert result.exit_code == 0, result.stderr
    assert len(list(destdir.glob("*-meg-*fwd.fif"))) == 1, list(destdir.iterdir())
