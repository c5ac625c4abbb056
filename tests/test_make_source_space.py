"""make_source_space against mne.setup_source_space / morph_source_spaces on the same subjects."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from mne_cli.cli.make_source_space import main
from mne_cli.geometry.icosahedron import icosahedron
from mne_cli.io.source_space import read_source_spaces
from mne_cli.io.surface import write_freesurfer_surface
from mne_cli.source_space.surface import NEAREST_TIE_TOLERANCE, template_sphere

from .conftest import REFCASE

mne = pytest.importorskip("mne")


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((3, 3)))
    return q * np.sign(np.diag(r))


def _bumpy(rr_unit: np.ndarray, radius: float, centre) -> np.ndarray:
    """A folded, cortex-like deformation of a sphere (m)."""
    x, y, z = rr_unit.T
    r = radius * (1 + 0.08 * np.sin(7 * x) * np.cos(5 * y) + 0.05 * np.sin(9 * z))
    return rr_unit * r[:, np.newaxis] + np.asarray(centre)


def make_subject(subjects_dir, name: str, grade: int, seed: int, radius=0.045) -> None:
    """A subject with ?h.white (bumpy), ?h.sphere (rotated ico sphere) and ?h.sphere.reg."""
    surf = subjects_dir / name / "surf"
    surf.mkdir(parents=True)
    (subjects_dir / name / "bem").mkdir()
    unit, tris = icosahedron(grade)
    for hemi, centre, turn in (("lh", (-0.035, -0.01, 0.04), 1), ("rh", (0.035, -0.01, 0.04), 2)):
        sphere = unit @ _rotation(seed + turn).T
        write_freesurfer_surface(surf / f"{hemi}.sphere", 0.1 * sphere, tris)
        write_freesurfer_surface(surf / f"{hemi}.white", _bumpy(unit, radius, centre), tris)
        reg = sphere @ _rotation(seed + 10 * turn).T
        write_freesurfer_surface(surf / f"{hemi}.sphere.reg", 0.1 * reg, tris)


@pytest.fixture(scope="module")
def subjects_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("subjects")
    make_subject(root, "bumpy", 5, seed=3)
    make_subject(root, "other", 4, seed=11, radius=0.05)
    return root


def _compare(ours_path, theirs, dist=False):
    ours = read_source_spaces(ours_path)
    assert len(ours) == len(theirs)
    for mine, src in zip(ours, theirs):
        np.testing.assert_array_equal(mine.vertno, src["vertno"])
        np.testing.assert_allclose(mine.rr, src["rr"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(mine.nn, src["nn"], rtol=0, atol=1e-6)
        if src["use_tris"] is None:
            assert mine.use_tris is None
        else:
            np.testing.assert_array_equal(mine.use_tris, src["use_tris"])
        np.testing.assert_array_equal(mine.nearest, src["nearest"])
        np.testing.assert_allclose(mine.nearest_dist, src["nearest_dist"], rtol=0, atol=1e-6)
        assert mine.id == src["id"]
        if dist:
            full = mine.dist + mine.dist.T
            np.testing.assert_allclose(full.toarray(), src["dist"].toarray(), rtol=0, atol=1e-6)
    # MNE-Python reads our file.
    assert [len(s["vertno"]) for s in mne.read_source_spaces(str(ours_path), verbose=False)] \
        == [len(s["vertno"]) for s in theirs]


def _tied_vertices(sphere_path, template: np.ndarray) -> list[np.ndarray]:
    """For each unit template vertex, the sphere vertices within the tie tolerance of the nearest.

    Brute force over all vertices (no tree), on the sphere as MNE-Python reads it.
    """
    rr = mne.read_surface(str(sphere_path))[0]
    rr = rr / np.linalg.norm(rr, axis=1, keepdims=True)
    tied = []
    for start in range(0, len(template), 128):
        d = np.linalg.norm(template[start:start + 128, np.newaxis] - rr[np.newaxis], axis=2)
        close = d <= d.min(axis=1, keepdims=True) + NEAREST_TIE_TOLERANCE
        tied.extend(np.flatnonzero(row) for row in close)
    return tied


def _template_picks(use_tris: np.ndarray, template_tris: np.ndarray, n: int) -> np.ndarray:
    """The surface vertex chosen for each template vertex, read back from USE_TRIANGLES."""
    picks = np.full(n, -1)
    picks[template_tris] = use_tris
    assert (picks >= 0).all()
    return picks


def _tie_equivalent_reference(ours_path, theirs, sphere_dir, grade, dist_limit=None):
    """MNE-Python's source spaces, put on our vertices where the two differ only by ties.

    Where a template vertex has a unique nearest sphere vertex (no other one
    within NEAREST_TIE_TOLERANCE), our pick must equal MNE-Python's. Where it
    is tied, MNE-Python's pick must be one of the tied vertices (its tree
    library decides which) and ours the lowest-numbered (the documented rule).
    The picks are compared before any move for double occupation, which does
    not happen on these spheres; a move at a tied vertex would fail here, not
    pass unseen. Where the picks differ, the reference is MNE-Python's
    selection replaced by ours, with MNE-Python's own patch information (and
    distances) recomputed on it, so that _compare keeps its tolerances.

    Returns the reference and the number of tied template vertices.
    """
    template_rr, template_tris = template_sphere(grade)
    template = template_rr / np.linalg.norm(template_rr, axis=1, keepdims=True)
    mne_template = (mne.surface._get_ico_surface(grade) if grade > 0
                    else mne.surface._tessellate_sphere_surf(-grade))
    np.testing.assert_array_equal(mne_template["tris"], template_tris)
    mne_rr = mne_template["rr"] / np.linalg.norm(mne_template["rr"], axis=1, keepdims=True)
    # Four-decimal tables: the two templates agree to 1e-4 of the radius.
    np.testing.assert_allclose(mne_rr, template, rtol=0, atol=1e-4)
    reference = theirs.copy()
    n_tied, moved = 0, False
    for mine, src in zip(read_source_spaces(ours_path), reference):
        hemi = "lh" if src["id"] == 101 else "rh"
        tied = _tied_vertices(sphere_dir / f"{hemi}.sphere", template)
        ours = _template_picks(mine.use_tris, template_tris, len(template))
        mnes = _template_picks(src["use_tris"], template_tris, len(template))
        unique = np.array([len(t) == 1 for t in tied])
        np.testing.assert_array_equal(ours[unique], mnes[unique])
        for k in np.flatnonzero(~unique):
            assert mnes[k] in tied[k], (k, mnes[k], tied[k])
            assert ours[k] == tied[k].min(), (k, ours[k], tied[k])
        n_tied += int((~unique).sum())
        if not np.array_equal(ours, mnes):
            moved = True
            src["inuse"] = np.zeros_like(src["inuse"])
            src["inuse"][ours] = 1
            src["vertno"] = np.flatnonzero(src["inuse"])
            src["nuse"] = len(src["vertno"])
            src["use_tris"] = ours[template_tris].astype(src["use_tris"].dtype)
    if moved:
        mne.add_source_space_distances(reference, dist_limit=0, verbose=False)
        if dist_limit:
            mne.add_source_space_distances(reference, dist_limit=dist_limit, verbose=False)
    return reference, n_tied


@pytest.mark.parametrize("grade, spacing", [(4, "ico4"), (3, "ico3"), (-5, "oct5"), (-4, "oct4")])
def test_sphere_picking_equals_mne_synthetic(runner, tmp_path, monkeypatch, subjects_dir,
                                             grade, spacing):
    monkeypatch.setenv("SUBJECTS_DIR", str(subjects_dir))
    out = tmp_path / "x-src.fif"
    result = runner.invoke(main, ["--subject", "bumpy", "--ico", str(grade), "--src", str(out)])
    assert result.exit_code == 0, result.output
    theirs = mne.setup_source_space("bumpy", spacing=spacing, subjects_dir=subjects_dir,
                                    add_dist="patch", verbose=False)
    reference, n_tied = _tie_equivalent_reference(out, theirs, subjects_dir / "bumpy" / "surf",
                                                  grade)
    assert n_tied == 0  # randomly rotated spheres: every nearest vertex is unique
    _compare(out, reference)


@pytest.mark.slow
@pytest.mark.parametrize("grade, spacing, ties", [(4, "ico4", 0), (3, "ico3", 0),
                                                  (-5, "oct5", 24), (-6, "oct6", 48)])
def test_sphere_picking_equals_mne_refcase(runner, tmp_path, monkeypatch, grade, spacing, ties):
    """The refcase subject: real fsaverage5 cortex and spheres in sample's MRI space.

    Its spheres are MNE's four-decimal icosahedron, symmetric under sign
    changes of the coordinates, so some octahedron vertices are exactly as
    far from two sphere vertices (``ties`` over both hemispheres); MNE-Python
    breaks those by its tree library (scikit-learn's BallTree or SciPy's
    KDTree), mne_cli by the lowest vertex number.
    """
    subjects_dir = REFCASE / "subjects"
    if not (subjects_dir / "sample" / "surf" / "lh.sphere").exists():
        pytest.skip(f"refcase subject not found under {subjects_dir}")
    monkeypatch.setenv("SUBJECTS_DIR", str(subjects_dir))
    out = tmp_path / "x-src.fif"
    args = ["--subject", "sample", "--ico", str(grade), "--src", str(out)]
    if grade == 4:
        args += ["--dist", "7"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    theirs = mne.setup_source_space("sample", spacing=spacing, subjects_dir=subjects_dir,
                                    add_dist="patch", verbose=False)
    if grade == 4:
        mne.add_source_space_distances(theirs, dist_limit=0.007, verbose=False)
    reference, n_tied = _tie_equivalent_reference(
        out, theirs, subjects_dir / "sample" / "surf", grade, 0.007 if grade == 4 else None)
    assert n_tied == ties
    _compare(out, reference, dist=grade == 4)


def _scanline_mesh(grade: int, radius: float):
    """A bumpy sphere whose vertices are numbered slice by slice, like a FreeSurfer surface."""
    unit, tris = icosahedron(grade)
    rr = _bumpy(unit, radius, (0, 0, 0))
    order = np.lexsort((rr[:, 0], np.round(rr[:, 1] * 1000), np.round(rr[:, 2] * 1000)))
    new_index = np.empty_like(order)
    new_index[order] = np.arange(len(order))
    return rr[order], new_index[tris]


@pytest.mark.parametrize("spacing", [7, 2])
def test_spacing_equals_mne(runner, tmp_path, monkeypatch, spacing):
    """--spacing on a cortex-like mesh (1.2 mm edges, slice-ordered vertices): MNE's vertices.

    With 7 the sources are 5.9 mm apart on average (nearest neighbour): MNE-C's
    rule counts edges and lets the distance estimate propagate one ring only.
    """
    rr, tris = _scanline_mesh(6 if spacing == 7 else 4, 0.06)
    root = tmp_path / "subjects"
    (root / "fine" / "surf").mkdir(parents=True)
    for hemi in ("lh", "rh"):  # MNE-Python always reads both
        write_freesurfer_surface(root / "fine" / "surf" / f"{hemi}.white", rr, tris)
    monkeypatch.setenv("SUBJECTS_DIR", str(root))
    out = tmp_path / "s-src.fif"
    result = runner.invoke(main, ["--subject", "fine", "--surf", "lh.white", "--spacing",
                                  str(spacing), "--src", str(out)])
    assert result.exit_code == 0, result.output
    (space,) = read_source_spaces(out)
    assert space.use_tris is None
    theirs = mne.setup_source_space("fine", spacing=spacing, surface="white", subjects_dir=root,
                                    add_dist=False, verbose=False)
    np.testing.assert_array_equal(space.vertno, theirs[0]["vertno"])
    if spacing == 7:
        from scipy.spatial import cKDTree

        sources = space.rr[space.vertno]
        spacing_mm = cKDTree(sources).query(sources, k=2)[0][:, 1].mean() * 1000
        assert 5.5 <= spacing_mm <= 8.5


def test_morph_equals_mne(runner, tmp_path, monkeypatch, subjects_dir):
    """--morph other: the vertex mapping of mne.morph_source_spaces."""
    monkeypatch.setenv("SUBJECTS_DIR", str(subjects_dir))
    out = tmp_path / "m-src.fif"
    result = runner.invoke(main, ["--subject", "bumpy", "--ico", "-4", "--morph", "other",
                                  "--src", str(out)])
    assert result.exit_code == 0, result.output
    src = mne.setup_source_space("bumpy", spacing="oct4", subjects_dir=subjects_dir,
                                 add_dist=False, verbose=False)
    theirs = mne.morph_source_spaces(src, "other", subjects_dir=subjects_dir, verbose=False)
    ours = read_source_spaces(out)
    for mine, src_to in zip(ours, theirs):
        np.testing.assert_array_equal(mine.vertno, src_to["vertno"])
        np.testing.assert_allclose(mine.rr, src_to["rr"], rtol=0, atol=1e-6)
        assert mine.subject == "other"


def test_default_output_name(runner, tmp_path, monkeypatch, subjects_dir):
    monkeypatch.setenv("SUBJECTS_DIR", str(subjects_dir))
    monkeypatch.setenv("SUBJECT", "bumpy")
    result = runner.invoke(main, ["--oct", "3"])
    assert result.exit_code == 0, result.output
    out = subjects_dir / "bumpy" / "bem" / "bumpy-oct-3-src.fif"
    assert [s.nuse for s in read_source_spaces(out)] == [66, 66]
    out.unlink()


def test_last_of_spacing_and_ico_wins(runner, tmp_path, monkeypatch, subjects_dir):
    monkeypatch.setenv("SUBJECTS_DIR", str(subjects_dir))
    out = tmp_path / "w-src.fif"
    args = ["--subject", "bumpy", "--surf", "lh.white", "--src", str(out)]
    assert runner.invoke(main, [*args, "--spacing", "5", "--ico", "2"]).exit_code == 0
    assert read_source_spaces(out)[0].nuse == 162
    assert runner.invoke(main, [*args, "--ico", "2", "--spacing", "5"]).exit_code == 0
    assert read_source_spaces(out)[0].use_tris is None


def test_distances_are_geodesic_and_limited(runner, tmp_path, monkeypatch, subjects_dir):
    """Distances stored once (upper triangle), none above the limit, at least the chord."""
    monkeypatch.setenv("SUBJECTS_DIR", str(subjects_dir))
    out = tmp_path / "d-src.fif"
    result = runner.invoke(main, ["--subject", "bumpy", "--surf", "lh.white", "--ico", "3",
                                  "--dist", "10", "--src", str(out)])
    assert result.exit_code == 0, result.output
    (space,) = read_source_spaces(out)
    dist = scipy.sparse.coo_matrix(space.dist)
    assert space.dist_limit == pytest.approx(0.01, rel=1e-6)
    assert dist.nnz > 0 and (dist.row < dist.col).all() and dist.data.max() <= 0.01 + 1e-7
    chord = np.linalg.norm(space.rr[dist.row] - space.rr[dist.col], axis=1)
    assert (dist.data >= chord - 1e-7).all()


@pytest.mark.slow
def test_all_distances_equal_mne_python(runner, tmp_path, monkeypatch, subjects_dir):
    """--dist all: every pair of 642 sources a hemisphere, equal to MNE-Python's add_dist=True.

    MNE-Python recomputes them on our own file (its dist_limit=inf, the
    Dijkstra of the same edge graph); both store float32 metres, so 1e-7 m
    (float32 spacing at 0.2 m is 1.5e-8 m) bounds the difference.
    """
    mne = pytest.importorskip("mne")
    monkeypatch.setenv("SUBJECTS_DIR", str(subjects_dir))
    out = tmp_path / "all-src.fif"
    result = runner.invoke(main, ["--subject", "bumpy", "--ico", "3", "--dist", "all",
                                  "--src", str(out)])
    assert result.exit_code == 0, result.output
    ours = read_source_spaces(out)
    theirs = mne.read_source_spaces(out, verbose=False)
    assert [s["dist_limit"] for s in theirs] == [np.inf, np.inf]
    mne.add_source_space_distances(theirs, dist_limit=np.inf, verbose=False)
    for space, reference in zip(ours, theirs):
        assert space.dist_limit == np.inf and space.nuse == 642
        assert space.dist.nnz == space.nuse * (space.nuse - 1) // 2
        mine = (space.dist + space.dist.T).toarray()
        np.testing.assert_allclose(mine, reference["dist"].toarray(), rtol=0, atol=1e-7)


@pytest.mark.parametrize("args, message", [
    (["--subject", "nobody", "--ico", "3"], "lh.white: no such surface"),
    (["--subject", "bumpy", "--ico", "7"], "fewer than the"),
])
def test_errors(runner, tmp_path, monkeypatch, subjects_dir, args, message):
    monkeypatch.setenv("SUBJECTS_DIR", str(subjects_dir))
    result = runner.invoke(main, [*args, "--src", str(tmp_path / "e-src.fif")])
    assert result.exit_code == 1 and message in result.output, result.output
    assert not (tmp_path / "e-src.fif").exists()


@pytest.mark.parametrize("grade, scale, message", [
    (3, 1.0, "lh.sphere: Mismatch between number of surface vertices"),
    (5, 0.5, "lh.sphere: not a sphere"),
])
def test_bad_sphere(runner, tmp_path, monkeypatch, subjects_dir, grade, scale, message):
    """A ?h.sphere of another mesh, or one that is not round, is refused, naming the file."""
    sphere = subjects_dir / "bumpy" / "surf" / "lh.sphere"
    saved = sphere.read_bytes()
    unit, tris = icosahedron(grade)
    unit[unit[:, 2] > 0.5] *= scale
    write_freesurfer_surface(sphere, 0.1 * unit, tris)
    try:
        monkeypatch.setenv("SUBJECTS_DIR", str(subjects_dir))
        result = runner.invoke(main, ["--subject", "bumpy", "--ico", "2", "--src",
                                      str(tmp_path / "e-src.fif")])
    finally:
        sphere.write_bytes(saved)
    assert result.exit_code == 1 and message in result.output, result.output


# -- --spacing the surface cannot honour ------------------------------------------------------

@pytest.fixture(scope="module")
def small_white(tmp_path_factory):
    """A slice-ordered bumpy ico-3 surface: 642 vertices, 23 mesh edges across."""
    rr, tris = _scanline_mesh(3, 0.06)
    path = tmp_path_factory.mktemp("small") / "lh.white"
    write_freesurfer_surface(path, rr, tris)
    return path


def test_spacing_beyond_the_surface_is_refused(runner, tmp_path, monkeypatch, subjects_dir):
    """--spacing 100000 (MNE-C would choose nothing): one line naming file, spacing, count, limit."""
    monkeypatch.setenv("SUBJECTS_DIR", str(subjects_dir))
    out = tmp_path / "s-src.fif"
    result = runner.invoke(main, ["--subject", "bumpy", "--spacing", "100000", "--src", str(out)])
    assert result.exit_code == 1, result.output
    white = subjects_dir / "bumpy" / "surf" / "lh.white"
    expected = (f"{white}: --spacing 100000 mm is more than this surface is 96 mesh edges "
                "across (the spacing counts edges, about 1 mm each on a FreeSurfer white "
                "surface), so it cannot be honoured (it would leave 0 sources); give a spacing "
                "in mm of at most 96, typically 5-10")
    assert expected in result.output, result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_spacing_just_beyond_the_surface_is_refused(runner, tmp_path, small_white):
    """One edge more than the surface is across is refused even though sources remain."""
    result = runner.invoke(main, ["--surf", str(small_white), "--spacing", "24",
                                  "--src", str(tmp_path / "s-src.fif")])
    assert result.exit_code == 1, result.output
    assert "--spacing 24 mm is more than this surface is 23 mesh edges across" in result.output
    assert "(it would leave 1 source);" in result.output and "at most 23," in result.output
    # The limit the message gives is not refused for the extent (here for the count).
    result = runner.invoke(main, ["--surf", str(small_white), "--spacing", "23",
                                  "--src", str(tmp_path / "s-src.fif")])
    assert result.exit_code == 1 and "is more than this surface" not in result.output
    assert "would leave 2 sources, fewer than the 10" in result.output, result.output


def test_spacing_leaving_too_few_sources_is_refused(runner, tmp_path, small_white):
    result = runner.invoke(main, ["--surf", str(small_white), "--spacing", "12",
                                  "--src", str(tmp_path / "s-src.fif")])
    assert result.exit_code == 1, result.output
    assert (f"{small_white}: --spacing 12 mm would leave 7 sources, fewer than the 10 a source "
            "space needs, on a surface 23 mesh edges across") in result.output, result.output
    assert "give a smaller spacing in mm" in result.output
    assert not (tmp_path / "s-src.fif").exists()


def test_coarse_spacing_is_a_warning(runner, tmp_path, small_white):
    """28 sources: written, with the count and the mean source distance on stderr."""
    out = tmp_path / "s-src.fif"
    result = runner.invoke(main, ["--surf", str(small_white), "--spacing", "5", "--src", str(out)])
    assert result.exit_code == 0, result.output
    (space,) = read_source_spaces(out)
    assert space.nuse == 28
    assert "--spacing 5 mm leaves only 28 sources" in result.output, result.output
    assert "mm apart on average" in result.output


def test_setup_source_space_refuses_spacing_beyond_the_surface(runner, tmp_path, monkeypatch,
                                                               subjects_dir):
    from mne_cli.cli.setup_source_space import main as setup

    monkeypatch.setenv("SUBJECTS_DIR", str(subjects_dir))
    out = tmp_path / "s-src.fif"
    result = runner.invoke(setup, ["--subject", "bumpy", "--spacing", "100000", "--src", str(out)])
    assert result.exit_code == 1, result.output
    assert "lh.white: --spacing 100000 mm is more than this surface is 96 mesh edges" \
        in result.output, result.output
    assert not out.exists()
