"""Source-space files against MNE-Python's reader and writer.

Every array of a source-space file is stored as float32 or int32, and both
our reader and MNE-Python's decode those values without arithmetic, so all
comparisons below are exact.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse

from mne_cli.errors import FifError
from mne_cli.fiff import Block, Frame, Kind, Type, fif_writer
from mne_cli.fiff.constants import SourceSpaceType
from mne_cli.io.source_space import (
    read_source_spaces,
    write_source_space_block,
    write_source_spaces,
)
from mne_cli.objects import SourceSpace

from .compare import assert_mne_spaces_equal, sparse_equal
from .conftest import REFCASE, testing_file

mne = pytest.importorskip("mne")

SUBJECTS_DIR = REFCASE / "subjects"
MNE_TYPES = {"surf": SourceSpaceType.SURFACE, "vol": SourceSpaceType.VOLUME,
             "discrete": SourceSpaceType.DISCRETE}


def _refcase():
    if not (SUBJECTS_DIR / "sample" / "surf" / "lh.white").exists():
        pytest.skip(f"refcase subject not found under {SUBJECTS_DIR}")
    return SUBJECTS_DIR


def _trans_equal(ours, theirs) -> bool:
    return (ours.from_frame == theirs["from"] and ours.to_frame == theirs["to"]
            and np.array_equal(ours.matrix, theirs["trans"]))


def _assert_ours_match_mne(ours, theirs):
    """Our SourceSpace objects against MNE-Python's reading of the same file."""
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.type == MNE_TYPES[b["type"]]
        assert a.id == b["id"] and a.coord_frame == b["coord_frame"]
        assert a.subject == b["subject_his_id"]
        np.testing.assert_array_equal(a.rr, b["rr"])
        np.testing.assert_array_equal(a.nn, b["nn"])
        np.testing.assert_array_equal(a.inuse, b["inuse"])
        np.testing.assert_array_equal(a.vertno, b["vertno"])
        assert a.nuse == b["nuse"]
        for ours_tris, key in ((a.tris, "tris"), (a.use_tris, "use_tris")):
            if b[key] is None:
                assert ours_tris is None
            else:
                np.testing.assert_array_equal(ours_tris, b[key])
        for ours_patch, key in ((a.nearest, "nearest"), (a.nearest_dist, "nearest_dist")):
            if b[key] is None:
                assert ours_patch is None
            else:
                np.testing.assert_array_equal(ours_patch, b[key])
        # we keep the stored triangle; MNE-Python adds its transpose
        assert sparse_equal(None if a.dist is None else a.dist + a.dist.T, b["dist"])
        assert a.dist_limit == b["dist_limit"]
        if b["type"] == "vol":
            assert tuple(a.voxel_dims) == tuple(b["shape"])
            assert _trans_equal(a.src_mri_t, b["src_mri_t"])
            assert len(a.neighbors) == len(b["neighbor_vert"])
            assert all(np.array_equal(x, y) for x, y in zip(a.neighbors, b["neighbor_vert"]))
            assert _trans_equal(a.mri.vox_mri_t, b["vox_mri_t"])
            assert _trans_equal(a.mri.mri_ras_t, b["mri_ras_t"])
            assert (a.mri.width, a.mri.height, a.mri.depth) == (
                b["mri_width"], b["mri_height"], b["mri_depth"])
            assert a.mri.file_name == b.get("mri_volume_name")
            assert a.mri.seg_mri_file == b.get("mri_file")
            if "interpolator" in b:
                assert sparse_equal(a.mri.interpolator, b["interpolator"])
            else:  # MNE-Python drops an empty interpolator
                assert a.mri.interpolator.nnz == 0
            assert a.comment == b.get("seg_name")


def _roundtrip(tmp_path, original):
    """Ours reads ``original``; ours writes; MNE-Python reads both: all equal."""
    theirs = mne.read_source_spaces(original, verbose=False)
    ours = read_source_spaces(original)
    _assert_ours_match_mne(ours, theirs)
    out = tmp_path / "ours-src.fif"
    write_source_spaces(out, ours, command_line="mne_make_source_space --src ours-src.fif")
    again = mne.read_source_spaces(out, verbose=False)
    assert_mne_spaces_equal(again, theirs)
    assert again.info["command_line"] == "mne_make_source_space --src ours-src.fif"
    _assert_ours_match_mne(read_source_spaces(out), theirs)
    return ours


def test_reference_volume_space_roundtrip(tmp_path):
    """The fsaverage 7 mm volume space of the testing data survives a round trip."""
    ours = _roundtrip(tmp_path, testing_file(
        "subjects/fsaverage/bem/fsaverage-vol7-nointerp-src.fif.gz"))
    assert ours[0].type == SourceSpaceType.VOLUME and ours[0].nuse == 6379
    assert ours[0].mri.interpolator.shape == (256 ** 3, len(ours[0].rr))


@pytest.fixture(scope="module", params=["oct4-dist", "ico3-patch", "oct3-plain"])
def surface_src_file(request, tmp_path_factory):
    """A two-hemisphere surface source space made by MNE-Python on the refcase cortex."""
    subjects_dir = _refcase()
    spacing, extra = request.param.split("-")
    add_dist = {"dist": True, "patch": "patch", "plain": False}[extra]
    src = mne.setup_source_space("sample", spacing=spacing, subjects_dir=subjects_dir,
                                 add_dist=add_dist, verbose=False)
    path = tmp_path_factory.mktemp("src") / f"{request.param}-src.fif"
    mne.write_source_spaces(path, src, verbose=False)
    return path, extra


def test_surface_space_roundtrip(tmp_path, surface_src_file):
    path, extra = surface_src_file
    ours = _roundtrip(tmp_path, path)
    assert [s.id for s in ours] == [101, 102]
    assert all(s.tris is not None and s.use_tris is not None for s in ours)
    if extra == "plain":
        assert all(s.nearest is None and s.dist is None for s in ours)
    else:
        assert all(s.nearest is not None for s in ours)
    if extra == "dist":
        assert all(s.dist.nnz > 0 and s.dist_limit == np.inf for s in ours)
        # MNE-Python stores the upper triangle and we keep it as stored
        assert all(scipy.sparse.tril(s.dist, -1).nnz == 0 for s in ours)


def test_discrete_space_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    rr = rng.uniform(-0.05, 0.05, (20, 3))
    nn = rng.normal(size=(20, 3))
    nn /= np.linalg.norm(nn, axis=1, keepdims=True)
    src = mne.setup_volume_source_space(pos=dict(rr=rr, nn=nn), verbose=False)
    path = tmp_path / "discrete-src.fif"
    mne.write_source_spaces(path, src, verbose=False)
    ours = _roundtrip(tmp_path, path)
    assert ours[0].type == SourceSpaceType.DISCRETE and ours[0].nuse == 20


@pytest.fixture(scope="module")
def volume_src_file(tmp_path_factory):
    """A 15 mm grid in a 90 mm sphere with a trilinear interpolator to T1.mgz."""
    subjects_dir = _refcase()
    src = mne.setup_volume_source_space(
        "sample", pos=15.0, mri=str(subjects_dir / "sample" / "mri" / "T1.mgz"),
        subjects_dir=subjects_dir, verbose=False)
    path = tmp_path_factory.mktemp("vol") / "vol15-src.fif"
    mne.write_source_spaces(path, src, verbose=False)
    return path


def test_volume_space_with_mri_roundtrip(tmp_path, volume_src_file):
    ours = _roundtrip(tmp_path, volume_src_file)
    assert ours[0].mri.interpolator.nnz > 0
    assert ours[0].mri.file_name.endswith("T1.mgz")


def test_volume_label_space_roundtrip(tmp_path):
    """A segmentation-restricted volume keeps its segment name and aseg file."""
    subjects_dir = _refcase()
    src = mne.setup_volume_source_space(
        "sample", pos=10.0, mri="aseg.mgz", volume_label=["Left-Cerebral-White-Matter"],
        subjects_dir=subjects_dir, add_interpolator=False, verbose=False)
    path = tmp_path / "label-src.fif"
    mne.write_source_spaces(path, src, verbose=False)
    ours = _roundtrip(tmp_path, path)
    assert ours[0].comment == "Left-Cerebral-White-Matter"
    assert ours[0].mri.seg_mri_file.endswith("aseg.mgz")


def test_volume_space_without_mri_gets_grid_block(tmp_path, volume_src_file):
    """With ``mri`` None the 353 block is filled from the grid (SPEC 6.4)."""
    space = dataclasses.replace(read_source_spaces(volume_src_file)[0], mri=None)
    out = tmp_path / "nomri-src.fif"
    write_source_spaces(out, [space])
    theirs = mne.read_source_spaces(out, verbose=False)[0]
    assert theirs["type"] == "vol" and "interpolator" not in theirs
    assert (theirs["mri_width"], theirs["mri_height"], theirs["mri_depth"]) == tuple(
        space.voxel_dims)
    np.testing.assert_array_equal(theirs["vox_mri_t"]["trans"], theirs["src_mri_t"]["trans"])
    mri_ras_t = theirs["mri_ras_t"]
    assert (mri_ras_t["from"], mri_ras_t["to"]) == (Frame.MRI, Frame.SCANNER_RAS)
    np.testing.assert_array_equal(theirs["mri_ras_t"]["trans"], np.eye(4))
    back = read_source_spaces(out)[0]
    assert back.mri.interpolator.shape == (int(np.prod(space.voxel_dims)), len(space.rr))
    assert back.mri.interpolator.nnz == 0


def test_volume_space_without_grid_is_written_discrete(tmp_path, volume_src_file):
    space = dataclasses.replace(read_source_spaces(volume_src_file)[0], src_mri_t=None)
    out = tmp_path / "pruned-src.fif"
    write_source_spaces(out, [space])
    theirs = mne.read_source_spaces(out, verbose=False)[0]
    assert theirs["type"] == "discrete"
    np.testing.assert_array_equal(theirs["inuse"], space.inuse)


def _write_raw_space(path, npts_tag, points, with_nuse=True, with_selection=True):
    """A hand-made 351 block whose tags can disagree with each other."""
    with fif_writer(path) as w, w.block(Block.MNE), w.block(Block.MNE_SOURCE_SPACE):
        w.write_int(Kind.MNE_SOURCE_SPACE_TYPE, SourceSpaceType.DISCRETE)
        w.write_int(Kind.MNE_COORD_FRAME, Frame.MRI)
        w.write_int(Kind.MNE_SOURCE_SPACE_NPOINTS, npts_tag)
        w.write_matrix(Kind.MNE_SOURCE_SPACE_POINTS, points, Type.FLOAT)
        w.write_matrix(Kind.MNE_SOURCE_SPACE_NORMALS, np.tile([0.0, 0.0, 1.0], (len(points), 1)),
                       Type.FLOAT)
        if with_selection:
            w.write_int(Kind.MNE_SOURCE_SPACE_SELECTION, np.ones(len(points), np.int32))
        if with_nuse:
            w.write_int(Kind.MNE_SOURCE_SPACE_NUSE, len(points))


def test_points_row_count_differs_from_npoints(tmp_path):
    path = tmp_path / "bad-src.fif"
    _write_raw_space(path, 5, np.zeros((4, 3)))
    with pytest.raises(FifError) as err:
        read_source_spaces(path)
    message = str(err.value)
    assert str(path) in message and "4 rows of POINTS" in message and "NPOINTS is 5" in message
    assert "\n" not in message


def test_selection_missing_while_nuse_present(tmp_path):
    path = tmp_path / "nosel-src.fif"
    _write_raw_space(path, 4, np.zeros((4, 3)), with_selection=False)
    with pytest.raises(FifError, match="NUSE but no SELECTION") as err:
        read_source_spaces(path)
    assert str(path) in str(err.value)


def test_missing_nuse_means_none_in_use(tmp_path):
    """Without NUSE a discrete space has no source in use (MNE-Python: nuse 0)."""
    path = tmp_path / "nonuse-src.fif"
    _write_raw_space(path, 4, np.zeros((4, 3)), with_nuse=False, with_selection=False)
    space = read_source_spaces(path)[0]
    assert space.nuse == 0 and len(space.inuse) == 4


def test_file_without_source_spaces(tmp_path):
    path = tmp_path / "empty-src.fif"
    with fif_writer(path) as w, w.block(Block.MNE):
        w.write_int(Kind.MNE_COORD_FRAME, Frame.MRI)
    with pytest.raises(FifError, match="no source spaces found") as err:
        read_source_spaces(path)
    assert str(path) in str(err.value)


def test_written_block_is_readable_inside_another_block(tmp_path):
    """write_source_space_block is usable inside any enclosing block."""
    rr = np.array([[0.0, 0.0, 0.07], [0.01, 0.0, 0.06]])
    space = SourceSpace(type=SourceSpaceType.DISCRETE, rr=rr, nn=np.tile([0.0, 0, 1], (2, 1)),
                        inuse=np.array([1, 0]))
    path = tmp_path / "nested-src.fif"
    with fif_writer(path) as w, w.block(Block.MNE), w.block(Block.MNE_PARENT_MEAS_FILE):
        write_source_space_block(w, space)
    back = read_source_spaces(path)[0]
    np.testing.assert_array_equal(back.rr, rr.astype(np.float32))
    np.testing.assert_array_equal(back.vertno, [0])
    assert back.id == -1 and back.comment is None
