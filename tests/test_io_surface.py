"""Surface (.surf, .tri) and MRI-header readers."""

from __future__ import annotations

import numpy as np
import pytest

from mne_cli.errors import InputError
from mne_cli.io.mri import read_mri_header
from mne_cli.io.surface import read_freesurfer_surface, read_tri, write_freesurfer_surface, write_tri

from .conftest import testing_file

TETRA_RR = np.array([[0.0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]])  # mm
TETRA_TRIS = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])


@pytest.mark.parametrize("surface", ["inner_skull", "outer_skull", "outer_skin"])
def test_tri_equals_surf_with_swapped_winding(surface):
    """The sample .tri files hold the .surf meshes, wound the other way (SPEC 3.2)."""
    rr_tri, tris_tri = read_tri(testing_file(f"subjects/sample/bem/{surface}.tri"))
    rr_surf, tris_surf = read_freesurfer_surface(testing_file(f"subjects/sample/bem/{surface}.surf"))
    # .tri prints mm with a few decimals; the float32 .surf differs by < 1e-8 m
    np.testing.assert_allclose(rr_tri, rr_surf, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(tris_tri[:, [0, 2, 1]], tris_surf)
    assert 0.05 < np.ptp(rr_surf, axis=0).min() < 0.3  # metres, a head-sized mesh


def test_surf_matches_nibabel_in_metres(tmp_path):
    nibabel = pytest.importorskip("nibabel")
    path = tmp_path / "lh.test"
    nibabel.freesurfer.write_geometry(str(path), TETRA_RR, TETRA_TRIS)
    rr, tris = read_freesurfer_surface(path)
    np.testing.assert_array_equal(rr, TETRA_RR / 1000.0)  # float32 of small integers: exact
    np.testing.assert_array_equal(tris, TETRA_TRIS)
    write_freesurfer_surface(tmp_path / "again", rr, tris)
    np.testing.assert_allclose(nibabel.freesurfer.read_geometry(str(tmp_path / "again"))[0],
                               TETRA_RR, rtol=1e-7)


@pytest.mark.parametrize("layout", ["xyz", "kxyz", "xyzn", "kxyzn"])
def test_tri_layouts(tmp_path, layout):
    """All four vertex-line layouts of SPEC 3.2; normals are ignored."""
    lines = [str(len(TETRA_RR))]
    for k, r in enumerate(TETRA_RR, 1):
        fields = [f"{x:g}" for x in r]
        if "n" in layout:
            fields += ["0", "0", "1"]
        if layout.startswith("k"):
            fields = [str(k)] + fields
        lines.append(" ".join(fields))
    lines.append(str(len(TETRA_TRIS)))
    lines += [" ".join(str(i + 1) for i in t) for t in TETRA_TRIS]
    path = tmp_path / "s.tri"
    path.write_text("\n".join(lines) + "\n")
    rr, tris = read_tri(path)
    np.testing.assert_allclose(rr, TETRA_RR / 1000.0, rtol=1e-15)
    np.testing.assert_array_equal(tris, TETRA_TRIS)
    rr_m, _ = read_tri(path, meters=True)
    np.testing.assert_array_equal(rr_m, TETRA_RR)


def test_tri_roundtrip(tmp_path):
    write_tri(tmp_path / "s.tri", TETRA_RR / 1000.0, TETRA_TRIS)
    rr, tris = read_tri(tmp_path / "s.tri")
    np.testing.assert_allclose(rr, TETRA_RR / 1000.0, rtol=1e-12)
    np.testing.assert_array_equal(tris, TETRA_TRIS)


@pytest.mark.parametrize("text, problem", [
    ("", "ends early"),
    ("4\n0 0 0\n1 0 0\n", "ends early"),
    ("3\n0 0 0\n1 0\n0 1 0\n1\n1 2 3\n", "numbers each"),
    ("3\n0 0 0\n1 0 0\n0 1 0\n1\n1 2 9\n", "outside 1..3"),
    ("3\n0 0 0\n1 0 0\n0 x 0\n1\n1 2 3\n", "could not convert"),
])
def test_tri_malformed(tmp_path, text, problem):
    path = tmp_path / "bad.tri"
    path.write_text(text)
    with pytest.raises(InputError, match=problem) as err:
        read_tri(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("content", [b"", b"\xff\xff\xfe only a header", b"random bytes" * 10])
def test_surf_malformed(tmp_path, content):
    path = tmp_path / "lh.bad"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_freesurfer_surface(path)
    assert str(path) in str(err.value)


def test_mri_header_against_mne():
    """Voxel->MRI and MRI->RAS transforms agree with MNE-Python's reading."""
    mne = pytest.importorskip("mne")
    from mne._freesurfer import _get_mri_info_data

    path = testing_file("subjects/sample/mri/T1.mgz")
    header = read_mri_header(path)
    reference = _get_mri_info_data(str(path), data=False)
    assert header.dims == (reference["mri_width"], reference["mri_height"], reference["mri_depth"])
    np.testing.assert_allclose(header.vox_mri_t.matrix, reference["vox_mri_t"]["trans"],
                               rtol=0, atol=1e-12)
    # MNE composes two float32-derived matrices; ours is the exact c_ras
    # translation, so they agree to float32 precision of a 0.1 m offset.
    np.testing.assert_allclose(header.mri_ras_t.matrix, reference["mri_ras_t"]["trans"],
                               rtol=0, atol=1e-6)
    assert header.vox_mri_t.from_frame == mne.io.constants.FIFF.FIFFV_MNE_COORD_MRI_VOXEL


def test_mri_header_not_a_volume(tmp_path):
    path = tmp_path / "T1.mgz"
    path.write_bytes(b"nonsense")
    with pytest.raises(InputError, match="T1.mgz"):
        read_mri_header(path)
