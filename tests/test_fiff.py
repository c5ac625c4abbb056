"""The FIF layer: tag encoding, file structure, atomic writes, corrupt input."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mne_cli.errors import FifError, OutputError
from mne_cli.fiff import Block, Kind, Type, fif_writer, open_fif
from mne_cli.fiff.constants import SCALAR_DTYPES
from mne_cli.fiff.tag import decode, encode
from mne_cli.objects import Channel, DigPoint, FileId, Transform

int32 = st.integers(-(2**31), 2**31 - 1)
# float32-representable finite values, so that a float tag round-trips exactly
f32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


def _roundtrip(type_code, value):
    return decode(type_code, encode(type_code, value), "test")


@given(hnp.arrays(np.int32, st.integers(1, 50), elements=int32))
def test_int_vector_roundtrip(values):
    np.testing.assert_array_equal(_roundtrip(Type.INT, values), values)


@given(hnp.arrays(np.float32, st.integers(1, 50), elements=f32))
def test_float_vector_roundtrip(values):
    np.testing.assert_array_equal(_roundtrip(Type.FLOAT, values), values)


@given(hnp.arrays(np.float64, st.integers(1, 50),
                  elements=st.floats(allow_nan=False, allow_infinity=False)))
def test_double_vector_roundtrip(values):
    np.testing.assert_array_equal(_roundtrip(Type.DOUBLE, values), values)


@given(st.text(st.characters(min_codepoint=1, max_codepoint=255), min_size=1, max_size=200))
def test_string_roundtrip(text):
    assert _roundtrip(Type.STRING, text) == text


@given(int32, int32, int32, int32, int32)
def test_id_roundtrip(version, m0, m1, secs, usecs):
    value = FileId(version, (m0, m1), secs, usecs)
    assert _roundtrip(Type.ID, value) == value


@given(st.tuples(int32, int32, int32, int32, int32, int32),
       hnp.arrays(np.float32, 12, elements=f32), f32, f32,
       st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=15))
def test_ch_info_roundtrip(ints, loc, rng, cal, name):
    scanno, logno, kind, coil_type, unit, unit_mul = ints
    ch = Channel(scanno, logno, kind, float(rng), float(cal), coil_type, loc.astype(float),
                 unit, unit_mul, name)
    back = _roundtrip(Type.CH_INFO, ch)
    assert (back.scanno, back.logno, back.kind, back.coil_type, back.unit, back.unit_mul, back.name) \
        == (scanno, logno, kind, coil_type, unit, unit_mul, name)
    assert back.range == rng and back.cal == cal
    np.testing.assert_array_equal(back.loc, loc)


@given(int32, int32, hnp.arrays(np.float32, 3, elements=f32))
def test_dig_point_roundtrip(kind, ident, r):
    back = _roundtrip(Type.DIG_POINT, DigPoint(kind, ident, r.astype(float)))
    assert (back.kind, back.ident) == (kind, ident)
    np.testing.assert_array_equal(back.r, r)


@given(hnp.arrays(np.float64, (3, 3), elements=st.floats(-1, 1)),
       hnp.arrays(np.float64, 3, elements=st.floats(-1, 1)))
def test_coord_trans_roundtrip(rot, move):
    matrix = np.eye(4)
    matrix[:3, :3] = rot + 2 * np.eye(3)  # keep it invertible
    matrix[:3, 3] = move
    back = _roundtrip(Type.COORD_TRANS, Transform(4, 5, matrix))
    assert (back.from_frame, back.to_frame) == (4, 5)
    # float32 storage: relative error of one float32 rounding
    np.testing.assert_allclose(back.matrix, matrix, rtol=2**-23, atol=1e-30)


@pytest.mark.parametrize("element", [Type.INT, Type.FLOAT, Type.DOUBLE,
                                     Type.COMPLEX_FLOAT, Type.COMPLEX_DOUBLE])
@settings(max_examples=30)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), seed=st.integers(0, 2**32 - 1))
def test_dense_matrix_roundtrip(element, shape, seed):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape) * 1e3
    if element in (Type.COMPLEX_FLOAT, Type.COMPLEX_DOUBLE):
        values = values + 1j * rng.standard_normal(shape)
    values = values.astype(SCALAR_DTYPES[element].newbyteorder("="))
    back = _roundtrip(Type.MATRIX_DENSE | element, values)
    assert back.shape == values.shape
    np.testing.assert_array_equal(back, values)


@pytest.mark.parametrize("code", [Type.MATRIX_SPARSE_RCS, Type.MATRIX_SPARSE_CCS])
@settings(max_examples=30)
@given(nrow=st.integers(1, 12), ncol=st.integers(1, 12), density=st.floats(0, 1),
       seed=st.integers(0, 2**32 - 1))
def test_sparse_matrix_roundtrip(code, nrow, ncol, density, seed):
    mat = scipy.sparse.random(nrow, ncol, density=density, dtype=np.float32,
                              random_state=np.random.default_rng(seed))
    back = _roundtrip(code | Type.FLOAT, mat)
    expected_cls = scipy.sparse.csr_matrix if code == Type.MATRIX_SPARSE_RCS else scipy.sparse.csc_matrix
    assert isinstance(back, expected_cls) and back.shape == (nrow, ncol)
    np.testing.assert_array_equal(back.toarray(), mat.toarray())


def _small_file(path):
    with fif_writer(path) as w, w.block(Block.MNE):
        w.write_int(Kind.MNE_COORD_FRAME, 5)
        w.write_string(Kind.COMMENT, "hello")
        w.write_matrix(Kind.MNE_SOURCE_SPACE_POINTS, np.arange(12.0).reshape(4, 3))


def test_file_layout(tmp_path):
    """Header tags at offsets 0, 36, 56, first block at 76, closing NOP with next = -1."""
    path = tmp_path / "x.fif"
    _small_file(path)
    fif = open_fif(path)
    assert [(t.kind, t.pos) for t in fif.tags[:4]] == [
        (Kind.FILE_ID, 0), (Kind.DIR_POINTER, 36), (Kind.FREE_LIST, 56), (Kind.BLOCK_START, 76)]
    assert fif.root.read_int(Kind.DIR_POINTER) == -1
    assert fif.root.read_int(Kind.FREE_LIST) == -1
    last = fif.tags[-1]
    assert (last.kind, last.type, last.size, last.next) == (Kind.NOP, Type.VOID, 0, -1)
    (mne_block,) = fif.root.find_blocks(Block.MNE)
    assert mne_block.read_string(Kind.COMMENT) == "hello"
    np.testing.assert_array_equal(mne_block.read(Kind.MNE_SOURCE_SPACE_POINTS),
                                  np.arange(12.0).reshape(4, 3))


def test_mne_python_reads_our_tree(tmp_path):
    """MNE-Python's own FIF parser accepts what we write (independent reader)."""
    pytest.importorskip("mne")
    from mne._fiff.open import fiff_open
    from mne._fiff.tag import read_tag
    from mne._fiff.tree import dir_tree_find

    path = tmp_path / "x.fif"
    _small_file(path)
    fid, tree, _ = fiff_open(path)
    with fid:
        (node,) = dir_tree_find(tree, Block.MNE)
        kinds = {d.kind: d for d in node["directory"]}
        assert read_tag(fid, kinds[Kind.COMMENT].pos).data == "hello"
        np.testing.assert_array_equal(read_tag(fid, kinds[Kind.MNE_SOURCE_SPACE_POINTS].pos).data,
                                      np.arange(12.0).reshape(4, 3))


def test_gzip_input(tmp_path):
    path = tmp_path / "x.fif"
    _small_file(path)
    gz = tmp_path / "x.fif.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert [t.kind for t in open_fif(gz).tags] == [t.kind for t in open_fif(path).tags]


def test_failed_write_leaves_earlier_file(tmp_path):
    """An exception mid-write removes the temporary file and keeps the old output."""
    path = tmp_path / "out.fif"
    path.write_bytes(b"precious")
    with pytest.raises(RuntimeError):
        with fif_writer(path) as w, w.block(Block.MNE):
            w.write_int(Kind.MNE_COORD_FRAME, 5)
            raise RuntimeError("boom")
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.fif"]


def test_unwritable_output(tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "out.fif"
    with pytest.raises(OutputError, match="out.fif: cannot write"):
        _small_file(target)


def _corrupt_variants(tmp_path):
    good = tmp_path / "good.fif"
    _small_file(good)
    data = good.read_bytes()
    rng = np.random.default_rng(0)
    variants = {
        "empty": b"",
        "truncated-header": data[:10],
        "truncated-in-tag": data[: len(data) - 30],
        "truncated-at-tag-boundary": data[: [t.pos for t in open_fif(good).tags][-2]],
        "random": rng.integers(0, 256, 4000, dtype=np.uint8).tobytes(),
        "bad-next": data[:76] + struct.pack(">iIii", Kind.BLOCK_START, Type.INT, 4, 10**6) + data[92:],
        "loop": data[:76] + struct.pack(">iIii", Kind.BLOCK_START, Type.INT, 4, 36) + data[92:],
        "bad-gzip": b"\x1f\x8b" + data[:50],
    }
    return variants


@pytest.mark.parametrize("variant", ["empty", "truncated-header", "truncated-in-tag",
                                     "truncated-at-tag-boundary", "random", "bad-next", "loop",
                                     "bad-gzip"])
def test_corrupt_files_give_clear_error(tmp_path, variant):
    path = tmp_path / f"{variant}.fif"
    path.write_bytes(_corrupt_variants(tmp_path)[variant])
    with pytest.raises(FifError) as err:
        open_fif(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
