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


def testing_file(relative: str) -> Path:
    """Path of a file of the MNE testing subset, or skip the test."""
    path = TESTING / relative
    if not path.exists():
        pytest.skip(f"reference file {relative} not found under {TESTING} "
                    "(set MNE_CLI_TESTING_DATA to the shared data folder)")
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
