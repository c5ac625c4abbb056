"""Self-intersecting surfaces: the grid + exact-test finder and the checks that use it.

The finder (mne_cli.geometry.intersection) is compared with a brute-force
all-pairs reference written independently (plane distances and barycentric
coordinates instead of triple-product signs). surf2bem --check/--checkmore,
prepare_bem_model and mne_setup_forward_model must refuse the shared case
``inner_skull_fold.surf`` (the sample inner skull with vertex 1054 pushed
170 mm down through its bottom) in one stderr line, and pass every real
BEM surface of the shared data.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mne_cli.geometry.icosahedron import icosahedron
from mne_cli.geometry.intersection import (
    _candidate_pairs,
    most_crossed_vertex,
    self_intersections,
)
from mne_cli.io.bem import read_bem_surfaces
from mne_cli.io.surface import (
    read_freesurfer_surface,
    read_tri,
    write_freesurfer_surface,
)

from .conftest import DATA_ROOT, case_file, testing_file

RADIUS = 0.08  # m
# The shared case: vertex 1054 of the sample inner skull moved from z = 104.8 mm to -65.2 mm.
FOLD_VERTEX = 1054
FOLD_AT = "(1.0, 5.4, -65.2) mm"


def _sphere(grade: int, radius: float = RADIUS, centre=(0.0, 0.0, 0.0)):
    rr, tris = icosahedron(grade)
    return rr * radius + np.asarray(centre), tris


def _pushed_through(grade: int = 3, vertex: int = 100, factor: float = -1.3,
                    offset_mm: float = 1.5):
    """A sphere with ``vertex`` moved to ``factor`` times its position plus a sideways offset.

    The offset keeps the spike off the antipodal vertex (an icosphere is
    symmetric through its centre), so it crosses the far side inside triangles.
    """
    rr, tris = _sphere(grade)
    p = rr[vertex]
    side = np.cross(p, [0.3, 0.5, 0.8])
    rr[vertex] = factor * p + side / np.linalg.norm(side) * offset_mm / 1000
    return rr, tris


def _flat_subdivision(rr, tris):
    """Every triangle split in four at its (unprojected) edge midpoints: coplanar children."""
    n = len(rr)
    a, b, c = tris.T
    edges = np.sort(np.concatenate([np.stack(e, 1) for e in ((a, b), (b, c), (c, a))]), axis=1)
    codes, inverse = np.unique(edges[:, 0] * n + edges[:, 1], return_inverse=True)
    mids = rr[np.stack([codes // n, codes % n], 1)].mean(axis=1)
    ab, bc, ca = (n + inverse).reshape(3, -1)
    children = [(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)]
    return np.vstack([rr, mids]), np.concatenate([np.stack(t, 1) for t in children])


def _reference(rr, tris) -> set[tuple[int, int]]:
    """All pairs i < j that cross, by brute force: every edge against every triangle.

    Same definition as the finder (pairs sharing an edge are neighbours; for
    pairs sharing one vertex only the edges opposite it are tried), computed
    differently: signed distances to the unit-normal plane, the crossing
    point, and its barycentric coordinates, all strictly inside.
    """
    found = set()
    i_all, j_all = np.triu_indices(len(tris), 1)
    for start in range(0, len(i_all), 200_000):
        i, j = i_all[start:start + 200_000], j_all[start:start + 200_000]
        ti, tj = tris[i], tris[j]
        same = ti[:, :, None] == tj[:, None, :]
        ok = same.sum(axis=(1, 2)) <= 1
        hit = np.zeros(len(i), bool)
        for x_idx, y_idx, x_shared in ((ti, tj, same.any(axis=2)), (tj, ti, same.any(axis=1))):
            x, y = rr[x_idx], rr[y_idx]
            normal = np.cross(y[:, 1] - y[:, 0], y[:, 2] - y[:, 0])
            normal /= np.linalg.norm(normal, axis=1, keepdims=True)
            dist = np.einsum("kvi,ki->kv", x - y[:, None, 0], normal)
            for e in range(3):
                f = (e + 1) % 3
                usable = ok & ~x_shared[:, e] & ~x_shared[:, f] & (dist[:, e] * dist[:, f] < 0)
                t = dist[:, e] / np.where(usable, dist[:, e] - dist[:, f], 1.0)
                point = x[:, e] + t[:, None] * (x[:, f] - x[:, e])
                v0, v1, v2 = y[:, 1] - y[:, 0], y[:, 2] - y[:, 0], point - y[:, 0]
                d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
                d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
                det = d00 * d11 - d01 ** 2
                u = (d11 * d20 - d01 * d21) / det
                w = (d00 * d21 - d01 * d20) / det
                hit |= usable & (u > 0) & (w > 0) & (u + w < 1)
        found.update(zip(i[hit].tolist(), j[hit].tolist()))
    return found


def _as_set(pairs) -> set[tuple[int, int]]:
    return set(map(tuple, np.asarray(pairs).tolist()))


# ---- the finder on synthetic meshes ----------------------------------------------------------

def test_vertex_pushed_through_is_found_and_located():
    """Every crossing pair holds one triangle of the pushed vertex, which is reported."""
    rr, tris = _pushed_through()
    pairs = self_intersections(rr, tris)
    assert len(pairs) >= 5
    assert pairs.dtype == np.int64 and (pairs[:, 0] < pairs[:, 1]).all()
    assert _as_set(pairs) == _reference(rr, tris)
    has_vertex = (tris == 100).any(axis=1)
    assert (has_vertex[pairs].sum(axis=1) == 1).all()
    # All five or six triangles of the spike cross the far side.
    assert set(pairs.ravel()[has_vertex[pairs.ravel()]]) == set(np.nonzero(has_vertex)[0])
    assert most_crossed_vertex(tris, pairs) == 100


@pytest.mark.parametrize("factor", [0.2, -0.99], ids=["deep-dent", "near-miss"])
def test_folded_but_not_crossing_is_clean(factor):
    """A vertex pushed deep inside, or to 0.8 mm short of the far side, crosses nothing."""
    rr, tris = _pushed_through(factor=factor, offset_mm=0.0)
    assert len(self_intersections(rr, tris)) == 0


def test_clean_sphere_and_coplanar_children():
    """An icosphere, and one whose triangles are split flat into coplanar fours, are clean."""
    rr, tris = _sphere(3)
    assert len(self_intersections(rr, tris)) == 0
    flat_rr, flat_tris = _flat_subdivision(rr, tris)
    assert len(self_intersections(flat_rr, flat_tris)) == 0


def test_nested_spheres_do_not_cross():
    """Two closed spheres, one inside the other, in one mesh or apart: nothing crosses."""
    outer = _sphere(3)
    inner = _sphere(2, 0.07, (0.003, -0.002, 0.004))
    for rr, tris in (outer, inner):
        assert len(self_intersections(rr, tris)) == 0
    both_rr = np.vstack([outer[0], inner[0]])
    both_tris = np.vstack([outer[1], inner[1] + len(outer[0])])
    assert len(self_intersections(both_rr, both_tris)) == 0
    # Moved so that they overlap, the same two spheres cross along a circle.
    inner_rr = inner[0] + [0.03, 0.0, 0.0]
    pairs = self_intersections(np.vstack([outer[0], inner_rr]), both_tris)
    assert len(pairs) > 20
    assert ((pairs[:, 0] < len(outer[1])) & (pairs[:, 1] >= len(outer[1]))).all()


@pytest.mark.parametrize("grade, scatter, seed", [(2, 0.15, 0), (2, 0.3, 1), (3, 0.06, 2)])
def test_grid_equals_brute_force(grade, scatter, seed):
    """On a randomly crumpled icosphere the grid finds exactly the brute-force pairs."""
    rr, tris = _sphere(grade, 1.0)
    rr = rr + np.random.default_rng(seed).normal(scale=scatter, size=rr.shape)
    pairs = self_intersections(rr, tris)
    expected = _reference(rr, tris)
    assert len(expected) > 20  # the crumpling must make crossings to compare
    assert _as_set(pairs) == expected
    # Both kinds of pair occur: disjoint triangles, and triangles sharing a vertex.
    shared = (tris[pairs[:, 0], :, None] == tris[pairs[:, 1], None, :]).sum(axis=(1, 2))
    assert set(shared.tolist()) == {0, 1}
    # The test is scale-free: the same pairs in mm.
    np.testing.assert_array_equal(self_intersections(rr * 1000, tris), pairs)


def test_candidates_are_not_all_pairs():
    """On an ico-5 sphere (20480 triangles) the grid offers a few dozen candidates per triangle."""
    rr, tris = _sphere(5)
    corners = rr[tris]
    first, second = _candidate_pairs(corners.min(axis=1), corners.max(axis=1))
    assert len(first) < 40 * len(tris)
    assert (first < second).all()
    assert len(np.unique(first * len(tris) + second)) == len(first)  # each pair once
    assert len(self_intersections(rr, tris)) == 0
    # One vertex thrown 1e30 m away (a damaged file): its six triangles are compared by
    # bounding box, and the others still spread over the grid.
    rr[5] = [1e30, 0.0, 0.0]
    corners = rr[tris]
    first, _ = _candidate_pairs(corners.min(axis=1), corners.max(axis=1))
    assert len(first) < 40 * len(tris)


def test_long_triangles_and_tiny_meshes():
    """Triangles much longer than the rest still find their partners; < 2 triangles: none."""
    # A spike 280 mm long among 11 mm triangles: its six triangles cover thousands of grid
    # cells each, so they take the bounding-box path.
    rr, tris = _pushed_through(grade=3, factor=-2.5)
    pairs = self_intersections(rr, tris)
    assert _as_set(pairs) == _reference(rr, tris) and len(pairs) >= 5
    assert self_intersections(rr, tris[:1]).shape == (0, 2)
    # Triangles with a NaN corner are left out; the rest are still tested.
    rr[0] = np.nan
    with_nan = self_intersections(rr, tris)
    assert len(with_nan) and not (tris[with_nan] == 0).any()
    assert self_intersections(np.zeros((0, 3)), np.zeros((0, 3), int)).shape == (0, 2)


# ---- the commands on the shared case ---------------------------------------------------------

def _refused(result, command: str, *fragments) -> str:
    """Exit 1, exactly one stderr line '<command>: ...' with the fragments, no traceback."""
    report = f"exit {result.exit_code}\nstderr: {result.stderr!r}"
    assert result.exit_code == 1, report
    assert isinstance(result.exception, SystemExit), report
    assert "Traceback" not in result.output, report
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, report
    assert lines[0].startswith(f"{command}: "), report
    for fragment in fragments:
        assert fragment in lines[0], report
    return lines[0]


@pytest.mark.parametrize("flag", ["--check", "--checkmore"])
def test_surf2bem_refuses_the_fold(runner, tmp_path, flag):
    from mne_cli.cli.surf2bem import main

    fold = case_file("inner_skull_fold.surf")
    out = tmp_path / "fold-bem.fif"
    result = runner.invoke(main, ["--surf", str(fold), "--id", "1", "--sigma", "0.3", flag,
                                  "--fif", str(out), "--quiet"])
    _refused(result, "surf2bem", "Surface inner skull (inner_skull_fold.surf) intersects "
             "itself", "12 pairs of its triangles cross", f"vertex {FOLD_VERTEX}, at {FOLD_AT}")
    assert list(tmp_path.iterdir()) == []


def test_surf2bem_reports_pushed_vertex(runner, tmp_path):
    """The synthetic spike: the pushed vertex and its position (as stored) are named."""
    from mne_cli.cli.surf2bem import main

    rr, tris = _pushed_through()
    path = tmp_path / "spike.surf"
    write_freesurfer_surface(path, rr, tris)
    stored, _ = read_freesurfer_surface(path)
    at = "({:.1f}, {:.1f}, {:.1f}) mm".format(*(stored[100] * 1000))
    out = tmp_path / "spike-bem.fif"
    out.write_bytes(b"an earlier file")
    result = runner.invoke(main, ["--surf", str(path), "--id", "1", "--sigma", "0.3", "--check",
                                  "--fif", str(out), "--quiet"])
    _refused(result, "surf2bem", "spike.surf", "intersects itself", f"vertex 100, at {at}")
    assert out.read_bytes() == b"an earlier file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spike-bem.fif", "spike.surf"]
    # Without --check there are no geometry checks, as before.
    result = runner.invoke(main, ["--surf", str(path), "--id", "1", "--fif", str(out),
                                  "--quiet"])
    assert result.exit_code == 0, result.output


def test_surf2bem_accepts_a_deep_dent(runner, tmp_path):
    from mne_cli.cli.surf2bem import main

    rr, tris = _pushed_through(factor=0.2, offset_mm=0.0)
    write_freesurfer_surface(tmp_path / "dent.surf", rr, tris)
    result = runner.invoke(main, ["--surf", str(tmp_path / "dent.surf"), "--id", "1",
                                  "--check", "--quiet"])
    assert result.exit_code == 0, result.output


def test_prepare_bem_model_refuses_the_fold(runner, tmp_path):
    from mne_cli.cli.prepare_bem_model import main as prepare_bem_model
    from mne_cli.cli.surf2bem import main as surf2bem

    fold = case_file("inner_skull_fold.surf")
    bem = tmp_path / "fold-bem.fif"
    made = runner.invoke(surf2bem, ["--surf", str(fold), "--id", "1", "--sigma", "0.3",
                                    "--fif", str(bem), "--quiet"])
    assert made.exit_code == 0, made.output  # no checks without --check
    result = runner.invoke(prepare_bem_model, ["--bem", str(bem), "--quiet"])
    _refused(result, "prepare_bem_model", f"{bem}: Surface inner skull (fold-bem.fif) "
             "intersects itself", f"vertex {FOLD_VERTEX}, at {FOLD_AT}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fold-bem.fif"]


@pytest.mark.parametrize("extra", [[], ["--homog"]], ids=["three-layer", "homog"])
def test_setup_forward_model_refuses_the_fold(runner, tmp_path, extra):
    from mne_cli.cli.setup_forward_model import main

    fold = case_file("inner_skull_fold.surf")
    bem = tmp_path / "subjects" / "sample" / "bem"
    bem.mkdir(parents=True)
    for name in ("outer_skin", "outer_skull"):
        shutil.copy(testing_file(f"subjects/sample/bem/{name}.surf"), bem)
    shutil.copy(fold, bem / "inner_skull.surf")
    result = runner.invoke(main, ["--subject", "sample", "--surf", *extra, "--quiet"],
                           env={"SUBJECTS_DIR": str(tmp_path / "subjects")})
    _refused(result, "mne_setup_forward_model", "Surface inner skull (inner_skull.surf) "
             "intersects itself", f"vertex {FOLD_VERTEX}, at {FOLD_AT}")
    assert sorted(p.name for p in bem.iterdir()) == ["inner_skull.surf", "outer_skin.surf",
                                                     "outer_skull.surf"]


# ---- every real surface of the shared data is clean ------------------------------------------

def _real_surface_files() -> list[str]:
    if not DATA_ROOT.exists():
        return []
    files = [*DATA_ROOT.glob("**/bem/*.surf"), *DATA_ROOT.glob("**/bem/*.tri"),
             *DATA_ROOT.glob("**/*-bem.fif"), *DATA_ROOT.glob("**/*-bem-sol.fif")]
    return sorted(str(p.relative_to(DATA_ROOT)) for p in files)


REAL_FILES = _real_surface_files()


@pytest.mark.parametrize("relative", REAL_FILES or ["(no shared data)"])
def test_real_surfaces_are_clean(relative):
    """Watershed surfaces (.surf, .tri) and every surface of the BEM files: no crossings."""
    path = DATA_ROOT / relative
    if not path.exists():
        pytest.skip(f"shared data not found under {DATA_ROOT}")
    if path.suffix == ".surf":
        meshes = [read_freesurfer_surface(path)]
    elif path.suffix == ".tri":
        meshes = [read_tri(path)]
    else:
        meshes = [(s.rr, s.tris) for s in read_bem_surfaces(path)]
    for rr, tris in meshes:
        assert self_intersections(rr, tris).shape == (0, 2), relative


def test_real_surfaces_found():
    """The shared data holds the sample watershed surfaces and BEM files this test reads."""
    testing_file("subjects/sample/bem/inner_skull.surf")
    names = {p.rsplit("/", 1)[-1] for p in REAL_FILES}
    assert {"inner_skull.surf", "outer_skull.surf", "outer_skin.surf", "inner_skull.tri",
            "sample-1280-1280-1280-bem.fif", "sample-320-bem-sol.fif"} <= names
