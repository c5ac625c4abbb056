"""volume_source_space: grids, interpolators and discrete spaces against MNE-Python.

Every file written here is read back with ``mne.read_source_spaces`` and
compared with ``mne.setup_volume_source_space`` on the same inputs: points
to 1e-6 m (float32 storage), in-use flags exactly, interpolator weights to
1e-6 with the same sparsity pattern.

Neighbour tables are compared with a table built here from point
coordinates (SPEC 6.3 step 7, slot 17 quirk included), not with MNE-Python's:
MNE-Python 1.13 tests the *positions* in its flattened table against the
in-use list instead of the entries (``np.isin(checks, vertno)`` in
``_make_volume_source_space``), so it keeps only slot 0, even when that
neighbour is unused (its own fsaverage-vol7 file shows the same). Where an
MNE-Python entry names a used point it must equal ours.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from mne_cli.cli.volume_source_space import main
from mne_cli.geometry.icosahedron import icosahedron
from mne_cli.geometry.inside import inside_surface
from mne_cli.geometry.solid_angle import solid_angle_sums
from mne_cli.io.bem import write_bem_surfaces
from mne_cli.io.source_space import read_source_spaces
from mne_cli.io.surface import read_freesurfer_surface, write_freesurfer_surface
from mne_cli.objects import BemSurface

from .conftest import REFCASE, testing_file

mne = pytest.importorskip("mne")

INNER_SKULL = "subjects/sample/bem/inner_skull.surf"
# Slots of SPEC 6.3 step 7 as grid steps (dx, dy, dz); slot 17 is handled apart.
SLOTS = [(0, 0, -1), (1, 0, 0), (0, 1, 0), (-1, 0, 0), (0, -1, 0), (0, 0, 1),
         (1, 0, -1), (1, 1, -1), (0, 1, -1), (-1, 1, -1), (-1, 0, -1), (-1, -1, -1),
         (0, -1, -1), (1, -1, -1), (1, 1, 0), (-1, 1, 0), (-1, -1, 0), None,
         (1, 0, 1), (1, 1, 1), (0, 1, 1), (-1, 1, 1), (-1, 0, 1), (-1, -1, 1), (0, -1, 1),
         (1, -1, 1)]


def ellipsoid(centre, axes=(0.07, 0.08, 0.075), grade=4):
    """An outward ico mesh on an ellipsoid (m)."""
    rr, tris = icosahedron(grade)
    return rr * np.asarray(axes) + np.asarray(centre), tris


@pytest.fixture(scope="module")
def synthetic_surf(tmp_path_factory):
    """An inner-skull-like ellipsoid off the grid axes, as a FreeSurfer file."""
    path = tmp_path_factory.mktemp("surf") / "ellipsoid.surf"
    write_freesurfer_surface(path, *ellipsoid((0.003, -0.011, 0.041)))
    return path


def run(runner, *args):
    result = runner.invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def mne_grid(**kwargs):
    return mne.setup_volume_source_space(verbose=False, **kwargs)[0]


def reference_neighbors(rr, inuse, grid):
    """SPEC 6.3 step 7 from coordinates: dict look-ups, no index arithmetic."""
    ijk = np.round(rr / grid).astype(int)
    index = {tuple(v): k for k, v in enumerate(ijk)}
    lo, hi = ijk.min(axis=0), ijk.max(axis=0)
    nrow, nplane = hi[0] - lo[0] + 1, (hi[0] - lo[0] + 1) * (hi[1] - lo[1] + 1)
    table = np.full((len(rr), 26), -1)
    for k in np.flatnonzero(inuse):
        for slot, step in enumerate(SLOTS):
            if step is None:  # checks x+1, y-1 only; the index also steps z-1
                if (ijk[k] + (1, -1, 0) <= hi).all() and (ijk[k] + (1, -1, 0) >= lo).all():
                    j = k + 1 - nrow - nplane
                    table[k, slot] = j if j < 0 or inuse[j] else -1
                continue
            j = index.get(tuple(ijk[k] + step))
            if j is not None and inuse[j]:
                table[k, slot] = j
    return table


def check_against_mne(path, theirs, grid):
    """Our file (read by MNE-Python) equals MNE-Python's grid ``theirs``."""
    (ours,) = mne.read_source_spaces(str(path), verbose=False)
    assert ours["type"] == "vol" and ours["coord_frame"] == mne.io.constants.FIFF.FIFFV_COORD_MRI
    assert ours["np"] == theirs["np"]
    np.testing.assert_allclose(ours["rr"], theirs["rr"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ours["inuse"].astype(bool), theirs["inuse"].astype(bool))
    assert ours["nuse"] == theirs["nuse"] > 0
    np.testing.assert_array_equal(ours["nn"], np.tile([0.0, 0.0, 1.0], (ours["np"], 1)))
    np.testing.assert_array_equal(ours["shape"], theirs["shape"])
    np.testing.assert_allclose(ours["src_mri_t"]["trans"], theirs["src_mri_t"]["trans"],
                               rtol=0, atol=1e-7)
    neigh = np.asarray(ours["neighbor_vert"])
    np.testing.assert_array_equal(neigh, reference_neighbors(theirs["rr"], theirs["inuse"], grid))
    theirs_neigh = np.asarray(theirs["neighbor_vert"])
    named_used = theirs_neigh >= 0
    named_used[named_used] = theirs["inuse"][theirs_neigh[named_used]].astype(bool)
    np.testing.assert_array_equal(neigh[named_used], theirs_neigh[named_used])
    return ours


# --- grids bounded by surfaces -------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("grid, mindist", [(7, 5), (5, 5)])
def test_sample_inner_skull_matches_mne(runner, tmp_path, grid, mindist):
    """--surf inner_skull.surf: same points, flags and neighbours as MNE-Python."""
    surf = testing_file(INNER_SKULL)
    out = tmp_path / "vol-src.fif"
    result = run(runner, "--surf", surf, "--grid", grid, "--mindist", mindist, "--src", out)
    theirs = mne_grid(pos=float(grid), surface=str(surf), mindist=float(mindist))
    check_against_mne(out, theirs, grid / 1000)
    assert f"{theirs['nuse']} points after omitting" in result.stderr


def test_bem_inner_skull_matches_mne(runner, tmp_path):
    """--bem: the inner skull (id 1) of a genuine MNE-C BEM file bounds the grid."""
    bem = testing_file("subjects/sample/bem/sample-1280-bem.fif")
    out = tmp_path / "vol-src.fif"
    run(runner, "--bem", bem, "--grid", 6, "--mindist", 4, "--exclude", 10, "--src", out)
    theirs = mne_grid(pos=6.0, bem=str(bem), mindist=4.0, exclude=10.0)
    check_against_mne(out, theirs, 0.006)


@pytest.mark.slow
@pytest.mark.parametrize("centre", [(0.003, -0.011, 0.041), (0.0, 0.0, 0.0)],
                         ids=["off-axis", "centred"])
def test_synthetic_surface_matches_mne(runner, tmp_path, centre):
    """Ellipsoid ico-4 meshes; the centred one has grid rows through mesh edges and
    vertices on grid points (the ray test's fall-backs)."""
    surf = tmp_path / "ellipsoid.surf"
    write_freesurfer_surface(surf, *ellipsoid(centre))
    out = tmp_path / "vol-src.fif"
    run(runner, "--surf", surf, "--grid", 5, "--mindist", 3, "--src", out)
    theirs = mne_grid(pos=5.0, surface=str(surf), mindist=3.0)
    check_against_mne(out, theirs, 0.005)


def test_synthetic_bem_form(runner, tmp_path, synthetic_surf):
    """--bem with an mne_cli-written BEM equals --surf with the same surface."""
    rr, tris = read_freesurfer_surface(synthetic_surf)
    bem = tmp_path / "x-bem.fif"
    write_bem_surfaces(bem, [BemSurface(1, 0.3, rr, tris, rr / np.linalg.norm(rr, axis=1)[:, None])])
    a, b = tmp_path / "a-src.fif", tmp_path / "b-src.fif"
    run(runner, "--bem", bem, "--grid", 8, "--src", a)
    run(runner, "--surf", synthetic_surf, "--grid", 8, "--src", b)
    (sa,), (sb,) = read_source_spaces(a), read_source_spaces(b)
    np.testing.assert_array_equal(sa.inuse, sb.inuse)
    np.testing.assert_allclose(sa.rr, sb.rr, rtol=0, atol=1e-9)


# --- spheres -------------------------------------------------------------------------

@pytest.mark.parametrize("args, sphere, mm", [
    ([], (0.0, 0.0, 0.0, 0.09), {"pos": 5.0, "mindist": 5.0}),
    (["--origin", "1:-12:40", "--rad", "70", "--grid", "6", "--mindist", "3", "--exclude", "20"],
     (0.001, -0.012, 0.04, 0.07), {"pos": 6.0, "mindist": 3.0, "exclude": 20.0}),
], ids=["defaults", "shifted"])
def test_sphere_matches_mne(runner, tmp_path, args, sphere, mm):
    """No --surf/--bem: MNE-Python's exact sphere (distances to the centre)."""
    out = tmp_path / "sphere-src.fif"
    run(runner, *args, "--src", out)
    check_against_mne(out, mne_grid(sphere=sphere, **mm), mm["pos"] / 1000)


# --- MRI interpolator ----------------------------------------------------------------

def write_mgz(path, dims, voxel, c_ras):
    """A conformed-orientation (LIA) MGZ volume; MNE-Python assumes that orientation."""
    nibabel = pytest.importorskip("nibabel")
    rot = np.array([[-1.0, 0, 0], [0, 0, 1], [0, -1, 0]]) * voxel
    affine = np.eye(4)
    affine[:3, :3] = rot
    affine[:3, 3] = np.asarray(c_ras) - rot @ (np.asarray(dims) / 2)
    data = np.zeros(dims, np.uint8)
    nibabel.save(nibabel.MGHImage(data, affine), str(path))
    return path


def check_interpolator(path, theirs):
    (ours,) = mne.read_source_spaces(str(path), verbose=False)
    # Compared with sorted columns: MNE keeps corner order, our writer sorts each row.
    a, b = (scipy.sparse.csr_matrix(s["interpolator"]).sorted_indices() for s in (ours, theirs))
    assert a.shape == b.shape and a.nnz == b.nnz > 0
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-6)
    for key in ("vox_mri_t", "mri_ras_t"):
        np.testing.assert_allclose(ours[key]["trans"], theirs[key]["trans"], rtol=0, atol=1e-6)
    assert (ours["mri_width"], ours["mri_height"], ours["mri_depth"]) == (
        theirs["mri_width"], theirs["mri_height"], theirs["mri_depth"])
    return ours


def test_synthetic_mri_interpolator_matches_mne(runner, tmp_path, synthetic_surf):
    """A small MGZ partly outside the grid: equal weights (1e-6) and sparsity.

    Height equals depth because MNE-Python 1.13 takes the depth from the
    height (``mri_depth=dims[1]`` in ``_get_mri_info_data``).
    """
    mri = write_mgz(tmp_path / "T1.mgz", (40, 34, 34), 4.0, (5.0, -20.0, 30.0))
    out = tmp_path / "vol-src.fif"
    run(runner, "--surf", synthetic_surf, "--grid", 7, "--mri", mri, "--src", out)
    theirs = mne_grid(pos=7.0, surface=str(synthetic_surf), mindist=5.0, mri=str(mri))
    ours = check_interpolator(out, theirs)
    np.testing.assert_array_equal(ours["inuse"], theirs["inuse"])
    # Rows whose corners are all unused are empty; the others sum to <= 1.
    sums = np.asarray(ours["interpolator"].sum(axis=1)).ravel()
    assert sums.max() <= 1 + 1e-6 and np.count_nonzero(sums) < len(sums)


@pytest.mark.slow
def test_refcase_t1_interpolator_matches_mne(runner, tmp_path):
    """The sample T1 (86^3 voxels of 3 mm) with a 7 mm grid in the inner skull."""
    mri = REFCASE / "subjects" / "sample" / "mri" / "T1.mgz"
    if not mri.exists():
        pytest.skip(f"{mri} not found")
    surf = testing_file(INNER_SKULL)
    out = tmp_path / "vol-src.fif"
    run(runner, "--surf", surf, "--grid", 7, "--mri", mri, "--src", out)
    theirs = mne_grid(pos=7.0, surface=str(surf), mindist=5.0, mri=str(mri))
    check_interpolator(out, theirs)
    check_against_mne(out, theirs, 0.007)


# --- discrete source spaces ----------------------------------------------------------

POS_MM = np.array([[10.0, 20.0, 30.0, 0.0, 0.0, 2.0],
                   [-5.5, 0.25, 41.0, 1.0, 1.0, 0.0],
                   [0.0, -33.0, 12.5, 0.0, 0.0, 1.0]])


def write_pos(path, rows, three_columns=()):
    lines = ["# x y z nx ny nz"]
    for k, row in enumerate(rows):
        lines.append(" ".join(f"{v:.9g}" for v in (row[:3] if k in three_columns else row)))
    path.write_text("\n".join(lines) + "\n\n")
    return path


@pytest.mark.parametrize("meters", [False, True])
@pytest.mark.parametrize("head", [False, True])
def test_discrete_space_matches_mne(runner, tmp_path, meters, head):
    """--pos (mm or --meters; MRI or --head): positions, unit normals, all in use."""
    scale = 1e-3 if meters else 1.0
    rows = np.column_stack([POS_MM[:, :3] * scale, POS_MM[:, 3:]])
    pos = write_pos(tmp_path / "points.txt", rows, three_columns=(2,))
    out = tmp_path / "pos-src.fif"
    run(runner, "--pos", pos, "--src", out, *(["--meters"] if meters else []),
        *(["--head"] if head else []))
    (ours,) = mne.read_source_spaces(str(out), verbose=False)
    nn = POS_MM[:, 3:].copy()
    nn[2] = (0, 0, 1)
    theirs = mne.setup_volume_source_space(pos={"rr": POS_MM[:, :3] / 1000, "nn": nn},
                                           verbose=False)[0]
    assert ours["type"] == theirs["type"] == "discrete"
    np.testing.assert_allclose(ours["rr"], theirs["rr"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["nn"], theirs["nn"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ours["inuse"], theirs["inuse"])
    frame = mne.io.constants.FIFF.FIFFV_COORD_HEAD if head else theirs["coord_frame"]
    assert ours["coord_frame"] == frame


# --- the inside test -----------------------------------------------------------------

def test_inside_agrees_with_solid_angles():
    """Ray crossings and solid angles classify the same points, on and off grid rows."""
    rng = np.random.default_rng(0)
    rr, tris = ellipsoid((0.0, 0.0, 0.0), grade=3)
    points = np.concatenate([
        rng.uniform(-0.09, 0.09, (400, 3)),
        rr[:50] * (1 + rng.choice([-1, 1], (50, 1)) * 1e-4),  # just inside / outside
        np.round(rng.uniform(-0.08, 0.08, (200, 3)) / 0.005) * 0.005,  # grid, rows on edges
    ])
    expected = np.abs(solid_angle_sums(points, rr, tris) / (4 * np.pi) - 1) <= 1e-5
    np.testing.assert_array_equal(inside_surface(points, rr, tris), expected)
    # Inward winding: solid angle -4 pi, nothing is inside (SPEC section 4).
    assert not inside_surface(points, rr, tris[:, ::-1]).any()
    # An open mesh goes to solid angles.
    keep = np.ones(len(tris), bool)
    keep[0] = False
    expected = np.abs(solid_angle_sums(points, rr, tris[keep]) / (4 * np.pi) - 1) <= 1e-5
    np.testing.assert_array_equal(inside_surface(points, rr, tris[keep]), expected)


def test_our_reader_round_trips_the_grid(runner, tmp_path, synthetic_surf):
    """Neighbours, grid transform and the 353 block come back through mne_cli's io."""
    out = tmp_path / "vol-src.fif"
    run(runner, "--surf", synthetic_surf, "--grid", 8, "--src", out)
    (space,) = read_source_spaces(out)
    assert space.type == 2 and len(space.neighbors) == len(space.rr)
    assert all(len(n) == 26 for n in space.neighbors)
    assert space.mri.interpolator.nnz == 0
    assert space.mri.interpolator.shape == (int(np.prod(space.voxel_dims)), len(space.rr))
    np.testing.assert_allclose(space.src_mri_t.apply(np.zeros((1, 3)))[0], space.rr[0], atol=1e-9)


# --- errors --------------------------------------------------------------------------

def one_line_error(result, code, *fragments):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.output
    assert any(all(f in line for f in fragments) for line in lines), result.stderr
    if code == 1:
        assert len(lines) == 1 or lines[-1].startswith("volume_source_space: ")


def test_missing_surface_file(runner, tmp_path):
    missing = tmp_path / "nothing.surf"
    result = runner.invoke(main, ["--surf", str(missing), "--src", str(tmp_path / "x-src.fif")])
    one_line_error(result, 1, str(missing))
    assert not (tmp_path / "x-src.fif").exists()


def test_missing_mri_file(runner, tmp_path, synthetic_surf):
    missing = tmp_path / "T1.mgz"
    result = runner.invoke(main, ["--surf", str(synthetic_surf), "--mri", str(missing),
                                  "--src", str(tmp_path / "x-src.fif")])
    one_line_error(result, 1, str(missing))


def test_bem_without_inner_skull(runner, tmp_path):
    rr, tris = ellipsoid((0, 0, 0), grade=2)
    bem = tmp_path / "scalp-bem.fif"
    write_bem_surfaces(bem, [BemSurface(4, 0.3, rr, tris, rr / np.linalg.norm(rr, axis=1)[:, None])])
    result = runner.invoke(main, ["--bem", str(bem), "--src", str(tmp_path / "x-src.fif")])
    one_line_error(result, 1, str(bem), "inner skull")


@pytest.mark.parametrize("argv, fragment", [
    (["--surf", "a.surf", "--bem", "b-bem.fif", "--src", "x-src.fif"], "--surf and --bem"),
    (["--grid", "7"], "--src"),
    (["--grid", "0", "--src", "x-src.fif"], "--grid"),
])
def test_usage_errors(runner, argv, fragment):
    one_line_error(runner.invoke(main, argv), 2, fragment)


@pytest.mark.parametrize("content, fragment", [
    ("1 2 3\n4 5\n", "line 2 has 2 values"),
    ("1 2 3\n4 5 six\n", "line 2 is not numeric"),
    ("# header\n1 2 3 0 0 0\n", "line 2 has a zero-length normal"),
    ("# nothing\n", "no source positions"),
])
def test_bad_pos_file(runner, tmp_path, content, fragment):
    pos = tmp_path / "points.txt"
    pos.write_text(content)
    result = runner.invoke(main, ["--pos", str(pos), "--src", str(tmp_path / "x-src.fif")])
    one_line_error(result, 1, str(pos), fragment)
    assert not (tmp_path / "x-src.fif").exists()
