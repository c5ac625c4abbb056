"""volume_source_space --mri with MRI volumes in any voxel order, shape and voxel size.

The grid lives in the subject's surface RAS (the frame of the BEM), which is
the tkregister RAS of the conformed LIA volume. ``read_mri_header`` gives the
header's own transforms exactly as nibabel (and MNE-Python) compute them, and
``vox_surf_t`` / ``surf_ras_t``: the tkregister RAS of the volume re-ordered
to LIA. A permuted or flipped copy of a volume must therefore give the same
source space as the original: the same scanner RAS positions and an
interpolator onto the same anatomical voxels.

Tolerances: header transforms 1e-9 relative (float64 arithmetic on the same
float32 header fields); positions and transforms read back from a FIF file
5e-8 m (float32 storage: one ulp of 0.25 m is 3e-8 m); interpolator weights
1e-6 (float32 storage of weights <= 1).
"""

from __future__ import annotations

import nibabel
import numpy as np
import pytest
import scipy.sparse
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform

from mne_cli.cli.volume_source_space import main
from mne_cli.geometry.icosahedron import icosahedron
from mne_cli.io.mri import read_mri_header
from mne_cli.io.source_space import read_source_spaces
from mne_cli.io.surface import write_freesurfer_surface

from .conftest import case_file, testing_file

DIMS = (40, 50, 30)
VOXEL = (0.9, 1.2, 2.0)  # mm
C_RAS = (4.0, -12.0, 21.0)  # mm
BEM = "subjects/sample/bem/sample-1280-bem.fif"
T1 = "subjects/sample/mri/T1.mgz"
FLOAT32_M = 5e-8


def lia_image():
    """A conformed-orientation (LIA) volume, non-cubic, anisotropic voxels."""
    rot = np.array([[-1.0, 0, 0], [0, 0, 1], [0, -1, 0]]) * VOXEL
    affine = np.eye(4)
    affine[:3, :3] = rot
    affine[:3, 3] = np.asarray(C_RAS) - rot @ (np.asarray(DIMS) / 2)
    data = np.random.default_rng(0).integers(1, 255, DIMS).astype(np.uint8)
    return nibabel.MGHImage(data, affine)


def reoriented(img, codes):
    """The same voxels in another order (exact permutation and flips)."""
    return img.as_reoriented(ornt_transform(io_orientation(img.affine), axcodes2ornt(codes)))


def oblique(img):
    """The volume turned 20 degrees about x and 10 degrees about z (scanner RAS)."""
    a, b = np.deg2rad(20.0), np.deg2rad(10.0)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rz = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
    turn = np.eye(4)
    turn[:3, :3] = rz @ rx
    return nibabel.MGHImage(np.asarray(img.dataobj), turn @ img.affine)


VARIANTS = {
    "lia": lambda img: img,
    "ras": lambda img: reoriented(img, "RAS"),
    "psl": lambda img: reoriented(img, "PSL"),  # permuted and flipped
    "oblique": oblique,
    "cropped": lambda img: img.slicer[5:33, 7:40, 3:25],
}
REORDERED = ["lia", "ras", "psl"]


@pytest.fixture(scope="module")
def volumes(tmp_path_factory):
    """Every variant written as .mgz; name -> path."""
    folder = tmp_path_factory.mktemp("mri")
    base = lia_image()
    paths = {}
    for name, make in VARIANTS.items():
        paths[name] = folder / f"{name}.mgz"
        nibabel.save(make(base), str(paths[name]))
    return paths


def assert_matrix(ours, reference, rtol):
    """Matrices equal to ``rtol`` of the reference's largest entry."""
    reference = np.asarray(reference, np.float64)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=rtol * np.abs(reference).max())


def voxel_map(path, base_path):
    """Integer (4, 4) map from voxels of ``path`` to the same scanner position in
    ``base_path``, from nibabel's vox2ras of both; checked against the images."""
    img, base = nibabel.load(str(path)), nibabel.load(str(base_path))
    vox2vox = np.linalg.inv(base.header.get_vox2ras()) @ img.header.get_vox2ras()
    rounded = np.round(vox2vox)
    np.testing.assert_allclose(vox2vox, rounded, rtol=0, atol=1e-3)
    return rounded


def flat_map(shape, vox2vox, base_shape):
    """For every voxel of ``shape`` (x fastest) the flat index of its base voxel."""
    ijk = np.indices(shape).reshape(3, -1, order="F")
    base = (vox2vox[:3, :3] @ ijk + vox2vox[:3, 3:]).astype(np.int64)
    assert (base >= 0).all() and (base < np.array(base_shape)[:, None]).all()
    return np.ravel_multi_index(tuple(base), base_shape, order="F")


# --- the header -----------------------------------------------------------------------

@pytest.mark.parametrize("name", VARIANTS)
def test_header_transforms_are_nibabels(volumes, name):
    """vox_ras_t, vox_mri_t and mri_ras_t are nibabel's vox2ras, vox2ras-tkr and
    vox2ras @ inv(vox2ras-tkr), in metres, for every orientation and shape."""
    header = nibabel.load(str(volumes[name])).header
    vox2ras = np.array(header.get_vox2ras(), np.float64)
    vox2tkr = np.array(header.get_vox2ras_tkr(), np.float64)
    mri2ras = vox2ras @ np.linalg.inv(vox2tkr)
    to_m = np.diag([1e-3, 1e-3, 1e-3, 1.0])
    ours = read_mri_header(volumes[name])
    assert ours.dims == tuple(header.get_data_shape())
    assert_matrix(ours.vox_ras_t.matrix, to_m @ vox2ras, 1e-9)
    assert_matrix(ours.vox_mri_t.matrix, to_m @ vox2tkr, 1e-9)
    mri2ras[:3, 3] *= 1e-3
    assert_matrix(ours.mri_ras_t.matrix, mri2ras, 1e-9)
    assert_matrix(ours.vox_mri_t.then(ours.mri_ras_t).matrix, ours.vox_ras_t.matrix, 1e-9)


@pytest.mark.parametrize("name", VARIANTS)
def test_surface_ras_follows_the_anatomy(volumes, name):
    """vox_surf_t of a re-ordered copy is the original's vox2ras-tkr at the same
    voxel and surf_ras_t the original's MRI -> RAS; an LIA volume (cropped
    too) keeps its own vox2ras-tkr; an oblique one is scanner RAS shifted."""
    ours = read_mri_header(volumes[name])
    assert_matrix(ours.vox_surf_t.then(ours.surf_ras_t).matrix, ours.vox_ras_t.matrix, 1e-9)
    if name in REORDERED:
        base = read_mri_header(volumes["lia"])
        vox2vox = voxel_map(volumes[name], volumes["lia"])
        assert_matrix(ours.vox_surf_t.matrix, base.vox_mri_t.matrix @ vox2vox, 1e-9)
        # Each file stores c_ras as float32 mm: one ulp of 21 mm is 1.9e-9 m.
        np.testing.assert_allclose(ours.surf_ras_t.matrix, base.mri_ras_t.matrix,
                                   rtol=0, atol=1e-8)
        data = np.asarray(nibabel.load(str(volumes[name])).dataobj).ravel(order="F")
        base_data = np.asarray(nibabel.load(str(volumes["lia"])).dataobj).ravel(order="F")
        index = flat_map(ours.dims, vox2vox, base.dims)
        np.testing.assert_array_equal(data, base_data[index])
    elif name == "oblique":
        # Surface RAS = scanner RAS less the centre voxel's position: the
        # turn stays in voxel -> MRI and MRI -> RAS is a translation.
        turned = ours.vox_ras_t.matrix.copy()
        centre = turned @ np.r_[np.asarray(ours.dims) / 2, 1.0]
        turned[:3, 3] -= centre[:3]
        assert_matrix(ours.vox_surf_t.matrix, turned, 1e-9)
        np.testing.assert_allclose(ours.surf_ras_t.matrix[:3, :3], np.eye(3), atol=1e-12)
    else:
        np.testing.assert_array_equal(ours.vox_surf_t.matrix, ours.vox_mri_t.matrix)


# --- source spaces on the synthetic volumes -------------------------------------------

@pytest.fixture(scope="module")
def grids(tmp_path_factory, volumes):
    """volume_source_space --surf ellipsoid --grid 6 --mri <variant>; name -> file."""
    from click.testing import CliRunner

    folder = tmp_path_factory.mktemp("src")
    rr, tris = icosahedron(3)
    surf = folder / "ellipsoid.surf"
    # Around the LIA volume's centre (surface RAS origin), larger than the volume.
    write_freesurfer_surface(surf, rr * np.array([0.03, 0.04, 0.035]) + [0.002, -0.003, 0.001],
                             tris)
    out = {}
    for name, path in volumes.items():
        out[name] = folder / f"{name}-src.fif"
        result = CliRunner().invoke(main, ["--surf", str(surf), "--grid", "6", "--mri", str(path),
                                           "--src", str(out[name]), "--quiet"])
        assert result.exit_code == 0, result.output
    return out


def full_rows(interp):
    """Rows whose corner weights sum to 1: all eight grid corners present."""
    return np.flatnonzero(np.abs(np.asarray(interp.sum(axis=1)).ravel() - 1.0) < 1e-6)


@pytest.mark.parametrize("name", VARIANTS)
def test_interpolator_reproduces_voxel_positions(grids, volumes, name):
    """Trilinear weights reproduce linear functions: for a voxel with all eight
    corners, sum(w * grid position) is the voxel's surface RAS position, and
    through surf_ras_t its scanner position from nibabel's vox2ras."""
    (space,) = read_source_spaces(grids[name])
    mri = space.mri
    header = nibabel.load(str(volumes[name])).header
    dims = tuple(int(d) for d in header.get_data_shape())
    assert (mri.width, mri.height, mri.depth) == dims
    assert mri.interpolator.shape == (int(np.prod(dims)), len(space.rr))
    rows = full_rows(mri.interpolator)
    assert len(rows) > 100
    ijk = np.column_stack(np.unravel_index(rows, dims, order="F")).astype(np.float64)
    at = mri.interpolator[rows] @ space.rr
    expected_scanner = ijk @ header.get_vox2ras()[:3, :3].T / 1e3 + header.get_vox2ras()[:3, 3] / 1e3
    np.testing.assert_allclose(mri.mri_ras_t.apply(at), expected_scanner, rtol=0, atol=FLOAT32_M)
    np.testing.assert_allclose(mri.vox_mri_t.apply(ijk), at, rtol=0, atol=FLOAT32_M)


@pytest.mark.parametrize("name", ["ras", "psl"])
def test_reordered_volume_gives_the_same_source_space(grids, volumes, name):
    """A re-ordered copy: same scanner positions, interpolator onto the same voxels."""
    (base,), (ours,) = read_source_spaces(grids["lia"]), read_source_spaces(grids[name])
    np.testing.assert_array_equal(ours.inuse, base.inuse)
    used = ours.inuse.astype(bool)
    np.testing.assert_allclose(ours.mri.mri_ras_t.apply(ours.rr[used]),
                               base.mri.mri_ras_t.apply(base.rr[used]), rtol=0, atol=FLOAT32_M)
    check_same_voxels(ours, base, voxel_map(volumes[name], volumes["lia"]))


def check_same_voxels(ours, base, vox2vox):
    """Rows of ``ours`` equal the rows of the same anatomical voxels in ``base``
    for every in-use grid point (unused columns can differ by float round-off:
    a row with only unused corners is emptied, and a 1e-16 weight on a used
    corner keeps it)."""
    index = flat_map((ours.mri.width, ours.mri.height, ours.mri.depth), vox2vox,
                     (base.mri.width, base.mri.height, base.mri.depth))
    used = np.flatnonzero(ours.inuse)
    a = scipy.sparse.csr_matrix(ours.mri.interpolator)[:, used]
    b = scipy.sparse.csr_matrix(base.mri.interpolator)[index][:, used]
    assert a.nnz > 0 and abs(a - b).max() < 1e-6


# --- the shared case: the sample T1.mgz in RAS voxel order ----------------------------

@pytest.fixture(scope="module")
def sample_case(tmp_path_factory):
    """The README command (--grid 8) with T1.mgz and with ras_cubic.mgz."""
    from click.testing import CliRunner

    ras, t1, bem = case_file("ras_cubic.mgz"), testing_file(T1), testing_file(BEM)
    folder = tmp_path_factory.mktemp("case")
    out = {}
    for name, mri in (("t1", t1), ("ras", ras)):
        out[name] = folder / f"{name}-vol-src.fif"
        result = CliRunner().invoke(main, ["--bem", str(bem), "--grid", "8", "--mri", str(mri),
                                           "--src", str(out[name]), "--quiet"])
        assert result.exit_code == 0, result.output
    return {"t1": t1, "ras": ras, "bem": bem, "src": out}


def test_ras_cubic_sources_at_t1_positions(sample_case):
    """Scanner positions of the in-use sources agree with T1.mgz's, and every
    in-use grid point interpolates onto the same anatomical voxels."""
    (t1,), (ras,) = (read_source_spaces(sample_case["src"][k]) for k in ("t1", "ras"))
    np.testing.assert_array_equal(ras.inuse, t1.inuse)
    used = ras.inuse.astype(bool)
    scanner = ras.mri.mri_ras_t.apply(ras.rr[used])
    np.testing.assert_allclose(scanner, t1.mri.mri_ras_t.apply(t1.rr[used]), rtol=0,
                               atol=FLOAT32_M)
    assert ras.mri.file_name == str(sample_case["ras"])
    assert (ras.mri.width, ras.mri.height, ras.mri.depth) == (86, 86, 86)
    check_same_voxels(ras, t1, voxel_map(sample_case["ras"], sample_case["t1"]))


def test_ras_cubic_readme_source(sample_case):
    """The cases README's source, grid point p = (56, -40, 40) mm, lands at T1.mgz's
    scanner position p + c_ras(T1) = (50.7, -31.0, 12.7) mm.

    The old code put it at (-204, -31, -242) mm. The README's expected (-58, -31,
    -64) mm is vox2ras @ inv(vox2ras-tkr) of ras_cubic.mgz applied to p
    (MNE-Python's reading): ras_cubic's tkregister frame has LIA axes over RAS
    voxels, so it mirrors x and z, and that point holds the anatomy of the other
    hemisphere, 122 mm away.
    """
    (ras,) = read_source_spaces(sample_case["src"]["ras"])
    p = np.array([56.0, -40.0, 40.0])
    k = np.flatnonzero(np.all(np.abs(ras.rr - p / 1e3) < 1e-6, axis=1))
    assert len(k) == 1
    t1 = nibabel.load(str(sample_case["t1"])).header
    mri2ras = t1.get_vox2ras() @ np.linalg.inv(t1.get_vox2ras_tkr())
    position = ras.mri.mri_ras_t.apply(ras.rr[k])[0] * 1e3
    np.testing.assert_allclose(position, mri2ras[:3, :3] @ p + mri2ras[:3, 3], rtol=0,
                               atol=FLOAT32_M * 1e3)
    np.testing.assert_allclose(position, [50.73, -30.96, 12.71], rtol=0, atol=0.01)
    cubic = nibabel.load(str(sample_case["ras"])).header
    mirrored = cubic.get_vox2ras() @ np.linalg.inv(cubic.get_vox2ras_tkr())
    np.testing.assert_allclose(mirrored[:3, :3] @ p + mirrored[:3, 3], [-58.27, -30.96, -64.29],
                               rtol=0, atol=0.01)


def test_ras_cubic_against_mne_python(sample_case):
    """MNE-Python 1.13 with T1.mgz gives our ras_cubic.mgz result (positions,
    interpolator on the same voxels). With ras_cubic.mgz it uses the volume's
    own vox2ras-tkr as the MRI frame (our header's vox_mri_t / mri_ras_t): the
    same grid then maps to a rotated anatomy, over 100 mm from T1's."""
    mne = pytest.importorskip("mne")
    (ours,) = read_source_spaces(sample_case["src"]["ras"])
    used = ours.inuse.astype(bool)
    scanner = ours.mri.mri_ras_t.apply(ours.rr[used])
    theirs = {}
    for key in ("t1", "ras"):
        theirs[key] = mne.setup_volume_source_space(pos=8.0, bem=str(sample_case["bem"]),
                                                    mri=str(sample_case[key]), verbose=False)[0]
        np.testing.assert_array_equal(theirs[key]["inuse"].astype(bool), used)
    t1 = theirs["t1"]
    np.testing.assert_allclose(scanner, mne.transforms.apply_trans(t1["mri_ras_t"], t1["rr"][used]),
                               rtol=0, atol=FLOAT32_M)
    vox2vox = voxel_map(sample_case["ras"], sample_case["t1"])
    index = flat_map((86, 86, 86), vox2vox, (86, 86, 86))
    cols = np.flatnonzero(used)
    a = scipy.sparse.csr_matrix(ours.mri.interpolator)[:, cols]
    b = scipy.sparse.csr_matrix(t1["interpolator"])[index][:, cols]
    assert a.nnz > 0 and abs(a - b).max() < 1e-6

    header = read_mri_header(sample_case["ras"])
    mne_ras = theirs["ras"]
    np.testing.assert_allclose(mne_ras["vox_mri_t"]["trans"], header.vox_mri_t.matrix, rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(mne_ras["mri_ras_t"]["trans"], header.mri_ras_t.matrix, rtol=0,
                               atol=1e-6)
    rotated = mne.transforms.apply_trans(mne_ras["mri_ras_t"], mne_ras["rr"][used])
    assert np.linalg.norm(rotated - scanner, axis=1).max() > 0.1
