"""Shared fixtures: the reference data folder and a CLI runner.

Reference data (real MNE-C / acquisition files) live outside the repository
in ``../shared/data`` beside the checkout, or wherever
``$MNE_CLI_TESTING_DATA`` points. Tests that need them skip, saying why,
when they are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]


def _data_root() -> Path:
    env = os.environ.get("MNE_CLI_TESTING_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


DATA_ROOT = _data_root()
TESTING = DATA_ROOT / "mne-testing"
REFCASE = DATA_ROOT / "refcase"
#: Failing inputs from real-world use, beside the data folder (shared/cases).
CASES = DATA_ROOT.parent / "cases"


def _shared(root: Path, relative: str, what: str) -> Path:
    path = root / relative
    if not path.exists():
        pytest.skip(f"{what} {relative} not found under {root} "
                    "(set MNE_CLI_TESTING_DATA to the shared data folder)")
    return path


def testing_file(relative: str) -> Path:
    """Path of a file of the MNE testing subset, or skip the test."""
    return _shared(TESTING, relative, "reference file")


def case_file(name: str) -> Path:
    """Path of a file of ``shared/cases`` (see its README), or skip the test."""
    return _shared(CASES, name, "case file")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke_ok(runner: CliRunner, command, args) -> object:
    """Run a command quietly through click's runner and require exit status 0."""
    result = runner.invoke(command, [str(a) for a in args] + ["--quiet"])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="session")
def sample_forward_inputs(tmp_path_factory) -> dict:
    """Inputs of the forward-solution reference tests, made once per session.

    The sample Vectorview + EEG recording (``meas``) and head->MRI transform
    (``trans``), the 3-layer ico-3 sample BEM (``bem``) solved by our
    prepare_bem_model (``sol``), and the refcase ico-4 cortex (``cortex``).
    """
    from mne_cli.cli.make_source_space import main as make_source_space
    from mne_cli.cli.prepare_bem_model import main as prepare_bem_model

    meas = testing_file("SSS/sample_audvis_trunc_raw_sss.fif")
    trans = testing_file("MEG/sample/sample_audvis_trunc-trans.fif")
    bem = testing_file("subjects/sample/bem/sample-1280-1280-1280-bem.fif")
    subjects = REFCASE / "subjects"
    if not (subjects / "sample" / "surf" / "lh.white").exists():
        pytest.skip(f"refcase subject not found under {subjects}")
    tmp = tmp_path_factory.mktemp("forward_inputs")
    runner = CliRunner(env={"SUBJECTS_DIR": str(subjects)})
    sol = tmp / "sample-1280-1280-1280-bem-sol.fif"
    invoke_ok(runner, prepare_bem_model, ["--bem", bem, "--sol", sol])
    cortex = tmp / "cortex-ico-4-src.fif"
    invoke_ok(runner, make_source_space, ["--subject", "sample", "--ico", "4", "--src", cortex])
    return {"meas": meas, "trans": trans, "bem": bem, "sol": sol, "cortex": cortex,
            "subjects": subjects}
