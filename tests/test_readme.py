"""The README's recipes run as printed: the many-subjects Makefile on two copies
of the bundled demo subject, with make -j2."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "share" / "demo"
BIN = Path(sys.executable).parent


def _block(language: str) -> str:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, f"expected one {language} block in README.md"
    return blocks[0]


@pytest.mark.slow
def test_many_subjects_makefile(tmp_path):
    """forwards.mk builds source space, BEM and forward of two subjects in parallel."""
    mne = pytest.importorskip("mne")
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    (tmp_path / "forwards.mk").write_text(_block("make"))
    subjects, meg = tmp_path / "subjects", tmp_path / "meg"
    for name in ("s01", "s02"):
        for folder, pattern in (("surf", "*"), ("bem", "*.surf")):
            target = subjects / name / folder
            target.mkdir(parents=True)
            for path in (DEMO / "subjects" / "demo" / folder).glob(pattern):
                shutil.copy(path, target / path.name)
        (meg / name).mkdir(parents=True)
        shutil.copy(DEMO / "demo_run1_raw.fif", meg / name / f"{name}_raw.fif")
        shutil.copy(DEMO / "demo-trans.fif", meg / name / f"{name}_raw-trans.fif")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(
        ["make", "-f", "forwards.mk", "-j2", f"SUBJECTS_DIR={subjects}", "SUBJECTS=s01 s02",
         f"MEG={meg}", "SRC_OPTS=--ico 3", "SPACING=ico-3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    for name in ("s01", "s02"):
        fwd = mne.read_forward_solution(meg / name / f"{name}-meg-ico-3-fwd.fif", verbose=False)
        assert fwd["info"]["nchan"] == 306 and fwd["nsource"] == 2 * 642
        assert np.isfinite(fwd["sol"]["data"]).all()
        assert (subjects / name / "bem" / f"{name}-5120-bem-sol.fif").is_file()
    # Nothing is left to do: a second run is a no-op.
    again = subprocess.run(["make", "-f", "forwards.mk", "-q", f"SUBJECTS_DIR={subjects}",
                            "SUBJECTS=s01 s02", f"MEG={meg}", "SRC_OPTS=--ico 3",
                            "SPACING=ico-3"], cwd=tmp_path, env=env, check=False)
    assert again.returncode == 0


@pytest.mark.slow
def test_python_api_example(tmp_path):
    """The Python API example runs as printed in share/demo and prints what its comment says."""
    mne = pytest.importorskip("mne")
    work = tmp_path / "demo"
    shutil.copytree(DEMO, work)
    code = _block("python")
    result = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    promised = re.search(r"print\(.*\)\s+# (.*)$", code, flags=re.MULTILINE).group(1)
    assert result.stdout.strip() == promised
    fwd = mne.read_forward_solution(work / "demo-ico-3-fwd.fif", verbose=False)
    assert np.isfinite(fwd["sol"]["data"]).all()
