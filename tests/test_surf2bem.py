"""surf2bem: BEM geometry files from surfaces, against MNE-C's files and the checks of SPEC 7.4."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mne_cli.cli.surf2bem import main, surface_sources
from mne_cli.geometry.icosahedron import icosahedron
from mne_cli.geometry.surface import vertex_normals
from mne_cli.io.bem import read_bem_surfaces
from mne_cli.io.surface import read_tri, write_freesurfer_surface, write_tri

from .bem_helpers import three_layer_head
from .conftest import testing_file

SAMPLE_BEM = "subjects/sample/bem"
NAMES = {4: "outer_skin", 3: "outer_skull", 1: "inner_skull"}
SIGMA = {4: 0.3, 3: 0.006, 1: 0.3}


def _sample_args(ext: str, order=(1, 4, 3), extra=()):
    """--surf/--tri arguments for the sample head, surfaces in the given (unsorted) order."""
    args = []
    for surf_id in order:
        path = testing_file(f"{SAMPLE_BEM}/{NAMES[surf_id]}.{ext}")
        args += ["--surf" if ext == "surf" else "--tri", str(path), "--id", str(surf_id),
                 "--sigma", str(SIGMA[surf_id]), *extra]
    return args


def _assert_matches_reference(path, reference):
    ours, ref = read_bem_surfaces(path), read_bem_surfaces(reference)
    assert [s.id for s in ours] == [s.id for s in ref] == [4, 3, 1]
    for a, b in zip(ours, ref):
        assert a.sigma == b.sigma  # both float32 of the same number
        np.testing.assert_allclose(a.rr, b.rr, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(a.tris, b.tris)
        # MNE-C stores the normals of its tabulated ico-2 template.
        np.testing.assert_allclose(a.nn, b.nn, rtol=0, atol=1e-6)


@pytest.mark.parametrize("ext, extra", [("surf", []), ("tri", ["--swap"])], ids=["surf", "tri"])
def test_reproduces_sample_320_bem(runner, tmp_path, ext, extra):
    """--ico 2 on the sample surfaces gives MNE-C's sample-320-320-320-bem.fif."""
    reference = testing_file(f"{SAMPLE_BEM}/sample-320-320-320-bem.fif")
    out = tmp_path / "sample-320-320-320-bem.fif"
    result = runner.invoke(main, [*_sample_args(ext, extra=["--ico", "2", *extra]), "--check",
                                  "--fif", str(out)])
    assert result.exit_code == 0, result.output
    _assert_matches_reference(out, reference)


def test_mne_reads_output(runner, tmp_path):
    mne = pytest.importorskip("mne")
    out = tmp_path / "head-bem.fif"
    paths = _write_head(tmp_path, three_layer_head(2))
    assert runner.invoke(main, [*_head_args(paths), "--fif", str(out)]).exit_code == 0
    surfaces = mne.read_bem_surfaces(str(out), verbose=False)
    assert [s["id"] for s in surfaces] == [4, 3, 1]
    np.testing.assert_allclose([s["sigma"] for s in surfaces], [0.3, 0.006, 0.3], rtol=1e-7)
    ours = read_bem_surfaces(out)
    for theirs, mine in zip(surfaces, ours):
        np.testing.assert_array_equal(theirs["rr"], mine.rr)
        np.testing.assert_array_equal(theirs["tris"], mine.tris)


def _write_head(tmp_path, surfaces, ext="surf"):
    paths = []
    for surf in surfaces:
        path = tmp_path / f"{NAMES.get(surf.id, 'surface')}.{ext}"
        (write_freesurfer_surface if ext == "surf" else write_tri)(path, surf.rr, surf.tris)
        paths.append(path)
    return paths


def _head_args(paths, ext="surf", ids=(4, 3, 1), sigmas=(0.3, 0.006, 0.3), extra=()):
    args = []
    for path, surf_id, sigma in zip(paths, ids, sigmas):
        args += ["--surf" if ext == "surf" else "--tri", str(path), "--id", str(surf_id),
                 "--sigma", str(sigma), *extra]
    return args


def test_plain_surface_normals_and_frame(runner, tmp_path):
    """Without --ico the normals are the area-weighted vertex normals; .tri gets --coordf."""
    head = three_layer_head(2, concentric=False)
    paths = _write_head(tmp_path, head[2:], "tri")
    out = tmp_path / "inner-bem.fif"
    result = runner.invoke(main, ["--tri", str(paths[0]), "--id", "1", "--coordf", "4",
                                  "--fif", str(out)])
    assert result.exit_code == 0, result.output
    (surf,) = read_bem_surfaces(out)
    rr, tris = read_tri(paths[0])
    np.testing.assert_allclose(surf.rr, rr, rtol=0, atol=1e-8)  # float32 on disk
    np.testing.assert_allclose(surf.nn, vertex_normals(rr, tris), rtol=0, atol=1e-6)
    assert surf.sigma is None and surf.coord_frame == 4


def test_shift_moves_vertices_along_normals(runner, tmp_path):
    """--shift 2 (mm) moves every vertex 2 mm outward; on a sphere the radius grows 2 mm."""
    paths = _write_head(tmp_path, three_layer_head(3)[2:])
    out = tmp_path / "shifted-bem.fif"
    result = runner.invoke(main, ["--surf", str(paths[0]), "--id", "1", "--shift", "2",
                                  "--fif", str(out)])
    assert result.exit_code == 0, result.output
    (surf,) = read_bem_surfaces(out)
    np.testing.assert_allclose(np.linalg.norm(surf.rr, axis=1), 0.082, rtol=0, atol=1e-6)


def test_meters_option(runner, tmp_path):
    """A .tri file in metres reads the same with --meters as its mm twin without it."""
    rr, tris = icosahedron(2)
    rr = rr * 0.08
    (tmp_path / "m.tri").write_text(
        f"{len(rr)}\n" + "".join(f"{x:.9f} {y:.9f} {z:.9f}\n" for x, y, z in rr)
        + f"{len(tris)}\n" + "".join(f"{a + 1} {b + 1} {c + 1}\n" for a, b, c in tris))
    out = tmp_path / "m-bem.fif"
    result = runner.invoke(main, ["--tri", str(tmp_path / "m.tri"), "--meters", "--id", "1",
                                  "--check", "--fif", str(out)])
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(read_bem_surfaces(out)[0].rr, rr, rtol=0, atol=1e-8)


def _one_line_failure(result, *fragments):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("surf2bem: "), lines
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]
    assert "Traceback" not in result.output
    return lines[-1]


def test_metres_without_meters_fail_the_size_check(runner, tmp_path):
    rr, tris = icosahedron(2)
    write_tri(tmp_path / "m.tri", rr * 0.08 / 1000, tris)  # metres written where mm belong
    out = tmp_path / "m-bem.fif"
    result = runner.invoke(main, ["--tri", str(tmp_path / "m.tri"), "--id", "1", "--check",
                                  "--fif", str(out)])
    _one_line_failure(result, "Dimensions of the surface inner skull (m.tri) seem too small",
                      "0.16 mm across", "add --meters")
    assert not out.exists()


def test_inverted_triangles_fail_the_completeness_check(runner, tmp_path):
    """Triangles wound inward give -4 pi; the message says so and suggests --swap."""
    rr, tris = icosahedron(2)
    write_tri(tmp_path / "in.tri", rr * 0.08, tris[:, ::-1])
    result = runner.invoke(main, ["--tri", str(tmp_path / "in.tri"), "--id", "1", "--check",
                                  "--fif", str(tmp_path / "x-bem.fif")])
    _one_line_failure(result, "Surface inner skull (in.tri) is not complete",
                      "sum to -1.00000 * 4 pi", "wound inward", "--swap")
    result = runner.invoke(main, ["--tri", str(tmp_path / "in.tri"), "--id", "1", "--swap",
                                  "--check", "--fif", str(tmp_path / "x-bem.fif")])
    assert result.exit_code == 0, result.output


def test_hole_fails_the_completeness_check(runner, tmp_path):
    rr, tris = icosahedron(3)
    write_freesurfer_surface(tmp_path / "holey.surf", rr * 0.08, np.delete(tris, 100, axis=0))
    result = runner.invoke(main, ["--surf", str(tmp_path / "holey.surf"), "--id", "1",
                                  "--check", "--fif", str(tmp_path / "x-bem.fif")])
    message = _one_line_failure(result, "Surface inner skull (holey.surf) is not complete",
                                "has a hole or is not closed")
    # One of 1280 triangles missing: the sum falls short by about its solid angle.
    total = float(re.search(r"sum to ([-0-9.]+)", message).group(1))
    assert 0.99 < total < 0.9999
    assert not (tmp_path / "x-bem.fif").exists()


def test_outer_skull_cutting_inner_skull(runner, tmp_path):
    """An inner skull poking 3 mm through the outer skull: named, located, shift suggested."""
    head = three_layer_head(3)
    head[2].rr[0] *= 0.088 / 0.080  # the top vertex, (0, 0, 80) mm -> (0, 0, 88) mm
    paths = _write_head(tmp_path, head)
    out = tmp_path / "x-bem.fif"
    out.write_bytes(b"an earlier file")
    result = runner.invoke(main, [*_head_args(paths), "--check", "--fif", str(out)])
    message = _one_line_failure(
        result, "Surface inner skull (inner_skull.surf) is not completely inside surface "
        "outer skull (outer_skull.surf)", "1 of 642 vertices lie outside",
        "at (0.0, 0.0, 88.0) mm")
    depth = float(re.search(r"farthest ([0-9.]+) mm outside", message).group(1))
    assert depth == pytest.approx(3.0, abs=0.05)
    assert out.read_bytes() == b"an earlier file"
    # The suggested --shift on the inner skull makes the model pass.
    shift = re.search(r"--shift (-[0-9.]+) after the inner_skull.surf", message).group(1)
    args = _head_args(paths[:2]) + ["--surf", str(paths[2]), "--id", "1", "--sigma", "0.3",
                                    "--shift", shift]
    result = runner.invoke(main, [*args, "--check", "--fif", str(out)])
    assert result.exit_code == 0, result.output


def test_checkmore_reports_distances(runner, tmp_path):
    paths = _write_head(tmp_path, three_layer_head(2))
    result = runner.invoke(main, [*_head_args(paths), "--checkmore"])
    assert result.exit_code == 0, result.output
    # Vertex-to-vertex distance between concentric ico-2 spheres 5 mm apart is 5 mm.
    assert re.search(r"outer skin \(outer_skin.surf\) and outer skull \(outer_skull.surf\) "
                     r"surfaces is approximately 5.0 mm", result.output)
    assert "nothing written" in result.output


def test_topological_defects_need_force(runner, tmp_path):
    """A vertex in only two triangles is a defect: refused, accepted with --force."""
    rr, tris = icosahedron(1)
    rr = np.vstack([rr * 0.08, [[0.0, 0.0, 0.09]]])
    # Replace triangle 0 by a fin that gives the new vertex two triangles.
    extra = np.array([[tris[0, 0], tris[0, 1], len(rr) - 1], [tris[0, 1], tris[0, 0], len(rr) - 1]])
    write_freesurfer_surface(tmp_path / "fin.surf", rr, np.vstack([tris, extra]))
    args = ["--surf", str(tmp_path / "fin.surf"), "--id", "1", "--fif", str(tmp_path / "f-bem.fif")]
    _one_line_failure(runner.invoke(main, args), "has topological defects",
                      "1 of 43 vertices belong to fewer than three triangles (vertices 42)",
                      "--force")
    assert runner.invoke(main, [*args, "--force"]).exit_code == 0


@pytest.mark.parametrize("ntri_grade, ico, message", [
    (None, 2, "cannot be isomorphic with a subdivided icosahedron"),
    (2, 3, "is an ico-2 mesh, so --ico must be between 0 and 2, not 3"),
    ("shuffled", 1, "not in the icosahedron template's order"),
])
def test_ico_errors(runner, tmp_path, ntri_grade, ico, message):
    rr, tris = icosahedron(2)
    if ntri_grade is None:
        tris = tris[:-4]  # 316 triangles
    elif ntri_grade == "shuffled":
        tris = tris[np.random.default_rng(0).permutation(len(tris))]
    write_freesurfer_surface(tmp_path / "s.surf", rr * 0.08, tris)
    result = runner.invoke(main, ["--surf", str(tmp_path / "s.surf"), "--id", "1", "--ico",
                                  str(ico), "--force", "--fif", str(tmp_path / "s-bem.fif")])
    _one_line_failure(result, "s.surf", message)


def test_per_surface_options_follow_their_surface():
    sources = surface_sources(["--check", "--surf", "a.surf", "--id", "4", "--sigma=0.33",
                               "--fif", "x.fif", "--tri", "b.tri", "--swap", "--meters",
                               "--shift", "-1.5", "--ico", "3", "--id", "1"])
    assert [(s.path, s.ascii, s.id, s.sigma) for s in sources] == [
        ("a.surf", False, 4, 0.33), ("b.tri", True, 1, None)]
    assert sources[1].swap and sources[1].meters and sources[1].ico == 3
    assert sources[1].shift == pytest.approx(-0.0015, rel=1e-15)
    assert not sources[0].swap and sources[0].shift == 0


@pytest.mark.parametrize("argv, message", [
    (["--id", "1", "--surf", "a.surf"], "Specify surface before --id"),
    (["--check"], "No surfaces specified"),
])
def test_usage_errors(runner, argv, message):
    result = runner.invoke(main, argv)
    assert result.exit_code == 2 and message in result.output


def test_missing_surface_file(runner, tmp_path):
    result = runner.invoke(main, ["--surf", str(tmp_path / "nope.surf"), "--id", "1",
                                  "--fif", str(tmp_path / "x-bem.fif")])
    _one_line_failure(result, "nope.surf: no such file")
    assert list(tmp_path.iterdir()) == []
