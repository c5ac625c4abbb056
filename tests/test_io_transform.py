"""Coordinate-transform files against MNE-Python and hand-made inputs.

Tolerances: FIF transforms are float32 on disk and both readers widen the
same bytes, so they are compared exactly; inverses are np.linalg.inv of the
same matrix on both sides (exact). Text files are parsed with float() on
both sides and divided by 1000 the same way (exact).
"""

from __future__ import annotations

import numpy as np
import pytest

from mne_cli.errors import FifError, InputError
from mne_cli.fiff import Block, Frame, Kind, fif_writer, open_fif
from mne_cli.io.transform import (
    read_head_mri_transform,
    read_talairach_xfm,
    read_trans,
    read_trans_text,
    write_trans,
)
from mne_cli.objects import Transform

from .conftest import testing_file

mne = pytest.importorskip("mne")

TRANS = "MEG/sample/sample_audvis_trunc-trans.fif"
XFM = "subjects/sample/mri/transforms/talairach.xfm"


def _rotation(a, b, c):
    return mne.transforms.rotation(a, b, c)


def test_read_trans_matches_mne():
    """The sample -trans.fif: head->MRI as stored, equal to mne.read_trans."""
    path = testing_file(TRANS)
    ours = read_trans(path)
    theirs = mne.read_trans(path)
    assert (ours.from_frame, ours.to_frame) == (theirs["from"], theirs["to"]) == (
        Frame.HEAD, Frame.MRI)
    np.testing.assert_array_equal(ours.matrix, theirs["trans"])  # same float32 bytes: exact


def test_read_head_mri_transform_inverts():
    """MRI->head whatever was stored: the inverse of the stored head->MRI."""
    path = testing_file(TRANS)
    mri_head_t = read_head_mri_transform(path)
    assert (mri_head_t.from_frame, mri_head_t.to_frame) == (Frame.MRI, Frame.HEAD)
    theirs = mne.transforms.invert_transform(mne.read_trans(path))
    # np.linalg.inv of the same matrix on both sides: exact
    np.testing.assert_array_equal(mri_head_t.matrix, theirs["trans"])


def test_stored_mri_head_returned_as_is(tmp_path):
    """A file storing MRI->head gives it unchanged, and read_trans keeps the direction."""
    matrix = _rotation(0.1, 0.2, -0.3)
    matrix[:3, 3] = [0.001, -0.002, 0.003]
    path = tmp_path / "mri_head-trans.fif"
    write_trans(path, Transform(Frame.MRI, Frame.HEAD, matrix))
    stored = matrix.astype(np.float32).astype(np.float64)  # float32 on disk
    assert read_trans(path).from_frame == Frame.MRI
    np.testing.assert_array_equal(read_head_mri_transform(path).matrix[:3], stored[:3])


def test_write_trans_read_by_mne(tmp_path):
    """write_trans: one bare COORD_TRANS tag that mne.read_trans reads."""
    original = read_trans(testing_file(TRANS))
    path = tmp_path / "copy-trans.fif"
    write_trans(path, original)
    theirs = mne.read_trans(path)
    assert (theirs["from"], theirs["to"]) == (Frame.HEAD, Frame.MRI)
    np.testing.assert_array_equal(theirs["trans"], original.matrix)  # float32 values: exact
    fif = open_fif(path)
    assert fif.root.children == []
    assert [t.kind for t in fif.tags] == [Kind.FILE_ID, Kind.DIR_POINTER, Kind.FREE_LIST,
                                          Kind.COORD_TRANS, Kind.NOP]


def test_write_trans_float64_input(tmp_path):
    """A float64 transform is stored as float32 and MNE-Python reads those values."""
    matrix = _rotation(0.3, -0.1, 0.7)
    matrix[:3, 3] = [0.0123, -0.0456, 0.0789]
    path = tmp_path / "random-trans.fif"
    write_trans(path, Transform(Frame.HEAD, Frame.MRI, matrix))
    theirs = mne.read_trans(path)
    # float32 rounding of each element, then widened: exact on both sides
    np.testing.assert_array_equal(theirs["trans"][:3], matrix[:3].astype(np.float32))
    np.testing.assert_array_equal(read_trans(path).matrix, theirs["trans"])


def test_mri_description_block_form(tmp_path):
    """Transforms inside blocks and other frame pairs before it are skipped over."""
    path = tmp_path / "cor.fif"
    head_mri = np.eye(4)
    head_mri[:3, 3] = [0.5, 0.25, -0.125]  # float32-representable: stored exactly
    with fif_writer(path) as w:
        with w.block(Block.MNE):
            w.write_transform(Transform(Frame.MRI, Frame.MRI_SLICE, np.eye(4)))
            w.write_transform(Transform(Frame.DEVICE, Frame.HEAD, np.eye(4)))
            with w.block(Block.MNE_PARENT_MRI_FILE):
                w.write_transform(Transform(Frame.HEAD, Frame.MRI, head_mri))
    trans = read_trans(path)
    assert (trans.from_frame, trans.to_frame) == (Frame.HEAD, Frame.MRI)
    np.testing.assert_array_equal(trans.matrix, head_mri)


@pytest.mark.parametrize("make", ["meas", "device"], ids=["meas-file", "device-head-only"])
def test_no_suitable_transform(tmp_path, make):
    """A FIF file without an MRI<->head transform: one line naming the file."""
    if make == "meas":
        path = testing_file("SSS/sample_audvis_trunc_raw_sss.fif")
    else:
        path = tmp_path / "dev-trans.fif"
        write_trans(path, Transform(Frame.DEVICE, Frame.HEAD, np.eye(4)))
    for reader in (read_trans, read_head_mri_transform):
        with pytest.raises(InputError) as err:
            reader(path)
        assert str(err.value) == f"No suitable coordinate transformation found in {path}."


def test_trans_not_fif(tmp_path):
    """A text file given where a FIF transform is expected fails as not FIF."""
    path = tmp_path / "text-trans.fif"
    path.write_text("1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n")
    with pytest.raises(FifError, match="does not start with a file id tag"):
        read_trans(path)


# --- text (--trans) ------------------------------------------------------------

def test_read_trans_text(tmp_path):
    """Row-major 4x4 head->MRI, translation mm -> m, last row ignored."""
    path = tmp_path / "head_mri.txt"
    path.write_text("# head -> MRI\n"
                    "0.99 -0.1 0.0  10.5\n"
                    "0.1  0.99 0.0 -20.25   # comment\n"
                    "0.0  0.0  1.0  30\n"
                    "7 7 7 7\n")
    trans = read_trans_text(path)
    assert (trans.from_frame, trans.to_frame) == (Frame.HEAD, Frame.MRI)
    expected = np.array([[0.99, -0.1, 0.0, 10.5 / 1000], [0.1, 0.99, 0.0, -20.25 / 1000],
                         [0.0, 0.0, 1.0, 30 / 1000], [0.0, 0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(trans.matrix, expected)  # same float() and / 1000: exact


@pytest.mark.parametrize("text", ["1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0\n", "",
                                  "1 0 0 0\n0 1 x 0\n0 0 1 0\n0 0 0 1\n"],
                         ids=["15-numbers", "empty", "not-a-number"])
def test_read_trans_text_errors(tmp_path, text):
    """Fewer than 16 numbers: MNE-C's message naming the file."""
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InputError, match="Cannot read the coordinate transformation") as err:
        read_trans_text(path)
    assert str(path) in str(err.value)


def test_read_trans_text_missing(tmp_path):
    """A missing file: the same message, naming the file."""
    path = tmp_path / "absent.txt"
    with pytest.raises(InputError, match="Cannot read the coordinate transformation") as err:
        read_trans_text(path)
    assert str(path) in str(err.value)


# --- talairach.xfm ---------------------------------------------------------------

def test_talairach_matches_mne():
    """sample's talairach.xfm equals MNE-Python's reading, translation in m."""
    path = testing_file(XFM)
    ours = read_talairach_xfm(path)
    assert (ours.from_frame, ours.to_frame) == (Frame.SCANNER_RAS, Frame.MNI_TAL)
    xfm, _ = mne.transforms._read_fs_xfm(str(path))
    # both parse the same text with float(); the mm -> m division is the same: exact
    np.testing.assert_array_equal(ours.matrix[:3, :3], xfm[:3, :3])
    np.testing.assert_array_equal(ours.matrix[:3, 3], xfm[:3, 3] / 1000.0)
    np.testing.assert_array_equal(ours.matrix[3], [0, 0, 0, 1])
    public = mne.transforms.read_ras_mni_t("sample", path.parents[3])
    np.testing.assert_array_equal(ours.matrix[:3, :3], public["trans"][:3, :3])


def test_talairach_numbers_on_keyword_line(tmp_path):
    """Numbers may start on the 'Linear_Transform =' line itself."""
    path = tmp_path / "talairach.xfm"
    path.write_text("MNI Transform File\n\nTransform_Type = Linear;\n"
                    "Linear_Transform = 1 0 0 1000\n0 2 0 -500\n0 0 3 0;\n")
    np.testing.assert_array_equal(read_talairach_xfm(path).matrix,
                                  [[1, 0, 0, 1.0], [0, 2, 0, -0.5], [0, 0, 3, 0], [0, 0, 0, 1]])


@pytest.mark.parametrize("text", ["MNI Transform File\nTransform_Type = Linear;\n",
                                  "Linear_Transform =\n1 0 0 0\n0 1 0 0;\n"],
                         ids=["no-keyword", "8-numbers"])
def test_talairach_errors(tmp_path, text):
    """A file without 12 numbers after 'Linear_Transform =' fails naming the file."""
    path = tmp_path / "talairach.xfm"
    path.write_text(text)
    with pytest.raises(InputError, match="not an MNI linear transform file") as err:
        read_talairach_xfm(path)
    assert str(path) in str(err.value)
