"""Label files (SPEC 3.3) and the --label source restriction (SPEC 9.6)."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
from click.testing import CliRunner

from mne_cli.errors import InputError
from mne_cli.fiff.constants import SourceSpaceType
from mne_cli.forward.labels import restrict_to_labels, space_hemisphere
from mne_cli.forward.source_selection import activate_all
from mne_cli.io.label import Label, label_hemisphere, read_label
from mne_cli.objects import SourceSpace

from .conftest import REFCASE, testing_file

mne = pytest.importorskip("mne")


def write_label(path, vertices, pos_mm=None, values=None, comment="# test label"):
    """A label file with the given vertex numbers (positions in mm)."""
    vertices = np.asarray(vertices)
    if pos_mm is None:
        pos_mm = np.column_stack([vertices * 0.5, -vertices * 0.25, vertices + 1.0])
    if values is None:
        values = np.linspace(0, 1, len(vertices))
    lines = [comment, str(len(vertices))]
    lines += [f"{v} {x:.3f} {y:.3f} {z:.3f} {w:.6f}"
              for v, (x, y, z), w in zip(vertices, pos_mm, values)]
    path.write_text("\n".join(lines) + "\n")
    return path


def make_space(x_centre: float, npoint: int, inuse, *, id_=-1, type_=SourceSpaceType.SURFACE):
    """A source space of ``npoint`` points spread around x = ``x_centre`` (m)."""
    rng = np.random.default_rng(npoint)
    rr = rng.uniform(-0.01, 0.01, (npoint, 3)) + [x_centre, 0, 0.04]
    nn = np.tile([0.0, 0.0, 1.0], (npoint, 1))
    flags = np.zeros(npoint, np.int32)
    flags[np.asarray(inuse, int)] = 1
    return SourceSpace(type_, rr, nn, flags, id=id_)


@pytest.fixture
def spaces():
    """Left (mean x < 0) and right (mean x > 0) spaces of 20 points, every other one in use."""
    return [make_space(-0.04, 20, range(0, 20, 2), id_=101),
            make_space(0.04, 20, range(0, 20, 2), id_=102)]


# -- reading ----------------------------------------------------------------------------------

def test_read_real_label_matches_mne():
    """Aud-lh.label of sample: same vertices, positions (m), values and comment as MNE-Python."""
    path = testing_file("MEG/sample/labels/Aud-lh.label")
    ours = read_label(path)
    theirs = mne.read_label(str(path))
    order = np.argsort(ours.vertices, kind="stable")  # MNE-Python sorts, we keep file order
    np.testing.assert_array_equal(ours.vertices[order], theirs.vertices)
    # positions are mm with 2 decimals in the file; the same division by 1000 on both sides
    np.testing.assert_allclose(ours.pos[order], theirs.pos, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ours.values[order], theirs.values)
    assert ours.comment == theirs.comment
    assert ours.hemi == theirs.hemi == "lh"
    assert ours.name == theirs.name == "Aud-lh"
    assert len(ours.vertices) == 1097


@pytest.mark.parametrize("hemi", ["lh", "rh"])
def test_read_synthetic_label_matches_mne(tmp_path, hemi):
    """A written label reads back as MNE-Python reads it."""
    vertices = np.array([7, 3, 12, 0, 5])
    pos_mm = np.array([[1.5, -2.25, 3.0], [10, 20, 30], [-7.125, 0, 1], [0, 0, 0], [4, 5, 6]])
    path = write_label(tmp_path / f"roi-{hemi}.label", vertices, pos_mm, [1, 2, 3, 4, 5.5],
                       comment="#synthetic")
    ours = read_label(path)
    np.testing.assert_array_equal(ours.vertices, vertices)
    np.testing.assert_allclose(ours.pos, pos_mm / 1000, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(ours.values, [1, 2, 3, 4, 5.5])
    assert ours.comment == "synthetic" and ours.hemi == hemi and ours.name == f"roi-{hemi}"
    theirs = mne.read_label(str(path))
    order = np.argsort(ours.vertices)
    np.testing.assert_array_equal(ours.vertices[order], theirs.vertices)
    np.testing.assert_allclose(ours.pos[order], theirs.pos, rtol=0, atol=1e-15)


def test_read_empty_label(tmp_path):
    """A label with zero points is valid and empty."""
    label = read_label(write_label(tmp_path / "none-rh.label", []))
    assert label.vertices.shape == (0,) and label.pos.shape == (0, 3)


@pytest.mark.parametrize("name, hemi", [
    ("Aud-lh.label", "lh"), ("Aud-rh.label", "rh"), ("lh.BA1.label", "lh"),
    ("rh.V1_exvivo.label", "rh"), ("Aud.label", None), ("Aud-lh.txt", None),
    ("x-lh.label-rh.label", None), ("dir-rh.label/Aud.label", None),
])
def test_label_hemisphere(name, hemi):
    """The hemisphere comes from the base name only."""
    assert label_hemisphere(name) == hemi


@pytest.mark.parametrize("text, message", [
    ("", "does not start correctly"),
    ("1\n0 1 2 3 0\n", "does not start correctly"),
    ("# c\n", "number of labelled points"),
    ("# c\nthree\n", "number of labelled points"),
    ("# c\n-1\n", "number of labelled points"),
    ("# c\n2 5\n", "number of labelled points"),
    ("# c\n2\n0 1 2 3 0\n", "Could not read label point # 2"),
    ("# c\n1\n0 1 2 3 0\n1 1 2 3 0\n", "announces 1"),
    ("# c\n1\n0 1 two 3 0\n", "Could not read label point # 1"),
    ("# c\n1\n0 1 2 3\n", "Could not read label point # 1"),
    ("# c\n1\n0.5 1 2 3 0\n", "Could not read label point # 1"),
    ("# c\n2\n0 1 2 3 0\n-4 1 2 3 0\n", "negative vertex number -4"),
])
def test_read_label_errors(tmp_path, text, message):
    """Malformed files raise InputError naming the file."""
    path = tmp_path / "bad-lh.label"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        read_label(path)
    assert str(path) in str(info.value)


def test_read_label_error_names_line(tmp_path):
    """A bad point line is reported with its line number (blank lines counted)."""
    path = tmp_path / "bad-lh.label"
    path.write_text("# c\n2\n\n0 1 2 3 0\n1 x 2 3 0\n")
    with pytest.raises(InputError, match="line 5"):
        read_label(path)


def test_read_label_missing(tmp_path):
    """A missing file is an InputError naming it."""
    path = tmp_path / "absent-lh.label"
    with pytest.raises(InputError, match="absent-lh.label"):
        read_label(path)


# -- restriction ------------------------------------------------------------------------------

def _labels(tmp_path, **named):
    return [read_label(write_label(tmp_path / f"{name.replace('_', '-')}.label", vertices))
            for name, vertices in named.items()]


def test_space_hemisphere():
    """Mean x of all points: negative is left."""
    assert space_hemisphere(make_space(-0.03, 10, [])) == "lh"
    assert space_hemisphere(make_space(0.03, 10, [])) == "rh"


def test_in_use_and_in_label(tmp_path, spaces):
    """A point stays only when in use and in a label of its own hemisphere."""
    labels = _labels(tmp_path, a_lh=[0, 1, 2, 3, 4], b_rh=[5, 6, 7, 8], c_lh=[10, 11])
    lh, rh = restrict_to_labels(spaces, labels, "x-src.fif")
    np.testing.assert_array_equal(lh.vertno, [0, 2, 4, 10])
    np.testing.assert_array_equal(rh.vertno, [6, 8])
    assert lh.inuse.dtype == spaces[0].inuse.dtype


def test_all_keeps_every_label_vertex(tmp_path, spaces):
    """With --all every label vertex becomes a source."""
    labels = _labels(tmp_path, a_lh=[0, 1, 2, 3, 4], b_rh=[5, 6, 7, 8, 5])
    lh, rh = restrict_to_labels(activate_all(spaces), labels, "x-src.fif")
    np.testing.assert_array_equal(lh.vertno, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(rh.vertno, [5, 6, 7, 8])


def test_hemisphere_from_mean_x_not_id(tmp_path, spaces):
    """The mean x decides, even when the id says otherwise (warned)."""
    swapped = [make_space(-0.04, 20, range(20), id_=102)]
    labels = _labels(tmp_path, a_lh=[1, 2], b_rh=[3])
    (space,) = restrict_to_labels(swapped, labels, "x-src.fif")
    np.testing.assert_array_equal(space.vertno, [1, 2])


def test_unknown_hemisphere_skipped(tmp_path, spaces, caplog):
    """A label whose name tells no hemisphere is ignored with a warning."""
    labels = _labels(tmp_path, a_lh=[0, 2], noside=[4, 6])
    with caplog.at_level(logging.WARNING, logger="mne_cli.forward.labels"):
        lh, rh = restrict_to_labels(spaces, labels, "x-src.fif")
    np.testing.assert_array_equal(lh.vertno, [0, 2])
    assert rh.nuse == 0
    assert any("noside.label" in r.getMessage() and "hemisphere" in r.getMessage()
               for r in caplog.records)


def test_out_of_range_vertices_ignored(tmp_path, spaces, caplog):
    """Vertex numbers beyond the surface are counted in a warning and ignored."""
    labels = _labels(tmp_path, big_lh=[2, 4, 20, 25, 1000])
    with caplog.at_level(logging.WARNING, logger="mne_cli.forward.labels"):
        lh, _ = restrict_to_labels(spaces, labels, "x-src.fif")
    np.testing.assert_array_equal(lh.vertno, [2, 4])
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("3 vertex numbers") and "big-lh.label" in m for m in messages)


def test_hemisphere_without_label_loses_all(tmp_path, spaces, caplog):
    """Only left labels: the right space keeps nothing; the count is logged per space."""
    labels = _labels(tmp_path, a_lh=list(range(20)))
    with caplog.at_level(logging.INFO, logger="mne_cli.forward.labels"):
        lh, rh = restrict_to_labels(spaces, labels, "x-src.fif")
    assert lh.nuse == 10 and rh.nuse == 0
    messages = [r.getMessage() for r in caplog.records]
    assert any("10 of 10 sources remain" in m for m in messages)
    assert any("0 of 10 sources remain" in m for m in messages)


def test_inputs_not_mutated(tmp_path, spaces):
    """The spaces and labels given are left as they were."""
    before = [s.inuse.copy() for s in spaces]
    labels = _labels(tmp_path, a_lh=[0, 1], b_rh=[2])
    label_vertices = [lab.vertices.copy() for lab in labels]
    out = restrict_to_labels(spaces, labels, "x-src.fif")
    for space, old, new in zip(spaces, before, out):
        np.testing.assert_array_equal(space.inuse, old)
        assert new is not space and new.inuse is not space.inuse
    for lab, old in zip(labels, label_vertices):
        np.testing.assert_array_equal(lab.vertices, old)


def test_volume_space_follows_rule_with_warning(tmp_path, caplog):
    """A volume space is restricted like a surface one, with a warning."""
    vol = make_space(0.02, 30, range(30), type_=SourceSpaceType.VOLUME)
    label = Label("v-rh", "v-rh.label", "rh", np.array([3, 29]), np.zeros((2, 3)), np.zeros(2),
                  "")
    with caplog.at_level(logging.WARNING, logger="mne_cli.forward.labels"):
        (out,) = restrict_to_labels([vol], [label], "v-src.fif")
    np.testing.assert_array_equal(out.vertno, [3, 29])
    assert any("not a cortical surface" in r.getMessage() for r in caplog.records)


def test_no_labels_usable_empties_everything(tmp_path, spaces):
    """When no label has a hemisphere every space loses its sources."""
    out = restrict_to_labels(spaces, _labels(tmp_path, noside=[0]), "x-src.fif")
    assert [s.nuse for s in out] == [0, 0]


# -- refcase ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def refcase_ico4(tmp_path_factory):
    """An ico-4 source space of the refcase subject (fsaverage5 cortex, 10242 points a side)."""
    from mne_cli.cli.make_source_space import main
    from mne_cli.io.source_space import read_source_spaces

    subjects_dir = REFCASE / "subjects"
    if not (subjects_dir / "sample" / "surf" / "lh.sphere").exists():
        pytest.skip(f"refcase subject not found under {subjects_dir}")
    out = tmp_path_factory.mktemp("labels") / "sample-ico4-src.fif"
    result = CliRunner().invoke(main, ["--subject", "sample", "--ico", "4", "--src", str(out)],
                                env={"SUBJECTS_DIR": str(subjects_dir)})
    assert result.exit_code == 0, result.output
    return read_source_spaces(out)


@pytest.mark.parametrize("inuse", ["ico4", "every3rd", "all"])
def test_refcase_label_rule(refcase_ico4, caplog, inuse):
    """lh sources = in use AND in Vis-lh (its numbers < 10242 only); rh loses everything.

    The labels number the real sample cortex, not refcase's fsaverage5 one, so only the
    rule can be checked; Aud-lh lies wholly beyond the 10242 vertices, and the ico-4
    vertices (0-2561 on fsaverage5) miss Vis-lh, hence the other in-use patterns.
    """
    vis = read_label(REFCASE / "MEG" / "sample" / "labels" / "Vis-lh.label")
    aud = read_label(REFCASE / "MEG" / "sample" / "labels" / "Aud-lh.label")
    spaces = refcase_ico4
    if inuse == "all":
        spaces = activate_all(spaces)
    elif inuse == "every3rd":
        spaces = [dataclasses.replace(s, inuse=(np.arange(len(s.rr)) % 3 == 0).astype(np.int32))
                  for s in spaces]
    lh_in = [s for s in spaces if space_hemisphere(s) == "lh"]
    assert len(lh_in) == 1 and lh_in[0].id == 101
    with caplog.at_level(logging.WARNING, logger="mne_cli.forward.labels"):
        out = restrict_to_labels(spaces, [vis, aud], "sample-ico4-src.fif")
    npoint = len(lh_in[0].rr)
    inside = np.unique(vis.vertices[vis.vertices < npoint])
    expected = np.intersect1d(lh_in[0].vertno, inside)
    assert len(expected) == {"ico4": 0, "every3rd": np.sum(inside % 3 == 0),
                             "all": len(inside)}[inuse]
    for space, new in zip(spaces, out):
        if space.id == 101:
            np.testing.assert_array_equal(new.vertno, expected)
        else:
            assert new.nuse == 0
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"{np.sum(vis.vertices >= npoint)} vertex numbers")
               and "Vis-lh.label" in m for m in messages)
    assert any(m.startswith(f"{len(aud.vertices)} vertex numbers") and "Aud-lh.label" in m
               for m in messages)
