"""BEM geometry and solution files against MNE-Python's readers."""

from __future__ import annotations

import numpy as np
import pytest

from mne_cli.errors import FifError
from mne_cli.io.bem import read_bem_solution, read_bem_surfaces, write_bem_solution, write_bem_surfaces
from mne_cli.objects import BemSolution, BemSurface

from .conftest import testing_file

mne = pytest.importorskip("mne")

BEM_FILES = ["sample-320-bem.fif", "sample-320-320-320-bem.fif", "sample-1280-bem.fif",
             "sample-1280-1280-1280-bem.fif", "sample-head.fif"]
SOL_FILES = ["sample-320-bem-sol.fif", "sample-320-320-320-bem-sol.fif", "sample-1280-bem-sol.fif"]


def _assert_surfaces_equal(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a["id"] == b["id"] and a["coord_frame"] == b["coord_frame"]
        assert a["sigma"] == b["sigma"]
        # float32 storage on both sides: exact
        np.testing.assert_array_equal(a["rr"], b["rr"])
        np.testing.assert_array_equal(a["tris"], b["tris"])
        np.testing.assert_array_equal(a["nn"], b["nn"])


@pytest.mark.parametrize("name", BEM_FILES + SOL_FILES)
def test_bem_surfaces_roundtrip(tmp_path, name):
    """Read an MNE-C/MNE file, write it back, MNE-Python reads equal arrays."""
    original = testing_file(f"subjects/sample/bem/{name}")
    surfaces = read_bem_surfaces(original)
    # our reader agrees with MNE-Python on the original
    for ours, theirs in zip(surfaces, mne.read_bem_surfaces(original, patch_stats=False)):
        np.testing.assert_array_equal(ours.rr, theirs["rr"])
        np.testing.assert_array_equal(ours.tris, theirs["tris"])
        assert ours.id == theirs["id"]
    out = tmp_path / "out-bem.fif"
    write_bem_surfaces(out, surfaces)
    _assert_surfaces_equal(mne.read_bem_surfaces(out), mne.read_bem_surfaces(original))


@pytest.mark.parametrize("name", SOL_FILES)
def test_bem_solution_roundtrip(tmp_path, name):
    original = testing_file(f"subjects/sample/bem/{name}")
    sol = read_bem_solution(original)
    reference = mne.read_bem_solution(original)
    np.testing.assert_array_equal(sol.solution, reference["solution"])  # float32 on disk
    out = tmp_path / "out-bem-sol.fif"
    write_bem_solution(out, sol, command_line="prepare_bem_model --bem x")
    again = mne.read_bem_solution(out)
    np.testing.assert_array_equal(again["solution"], reference["solution"])
    _assert_surfaces_equal(again["surfs"], reference["surfs"])


def test_synthetic_bem_written_by_mne_reads_back(tmp_path):
    """A 3-layer sphere model written by MNE-Python reads equal through ours."""
    surfs = mne.make_bem_model("sample", ico=2, conductivity=(0.3, 0.006, 0.3),
                               subjects_dir=testing_file("subjects"))
    path = tmp_path / "syn-bem.fif"
    mne.write_bem_surfaces(path, surfs)
    ours = read_bem_surfaces(path)
    assert [s.id for s in ours] == [s["id"] for s in surfs]
    for a, b in zip(ours, surfs):
        np.testing.assert_allclose(a.rr, b["rr"], rtol=0, atol=1e-7)  # float32 of |r| < 0.2 m
        np.testing.assert_array_equal(a.tris, b["tris"])
        assert a.sigma == pytest.approx(b["sigma"], rel=1e-7)  # float32 sigma


def test_solution_size_mismatch(tmp_path):
    rr = np.eye(3)
    surf = BemSurface(1, 0.3, np.vstack([rr, -rr[:1]]), np.array([[0, 1, 2], [0, 2, 3]]), np.eye(4, 3))
    path = tmp_path / "bad-bem-sol.fif"
    write_bem_solution(path, BemSolution([surf], approx=2, solution=np.zeros((3, 3))))
    with pytest.raises(FifError, match=r"bad-bem-sol.fif: Expected a 4 x 4 solution matrix instead of a 3 x 3 one"):
        read_bem_solution(path)
