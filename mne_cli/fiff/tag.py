"""FIF tags: the 16-byte header and the payload of every data type.

``decode`` turns a payload into a Python value and ``encode`` does the
reverse; both dispatch on the type code, and scalar element sizes come from
``constants.SCALAR_DTYPES``. Decoded values:

* scalar types: 1-D numpy array in native byte order
* string: ``str`` (see :func:`encode_string` and :func:`decode_string`)
* id, ch_info, dig_point, coord_trans: the dataclasses of ``objects``
* dir_entry: int array, shape (n, 4): kind, type, size, position
* dense matrix: numpy array with the stored shape
* sparse matrix: ``scipy.sparse.csc_matrix`` or ``csr_matrix``
* anything else: the raw payload ``bytes``
"""

from __future__ import annotations

import html
import re
import struct
from dataclasses import dataclass

import numpy as np
import scipy.sparse

# objects imports fiff.constants, so take the module, not its names, to
# stay importable in either order.
from .. import objects
from ..errors import FifError
from .constants import (
    DENSE_MATRIX_ELEMENTS,
    SCALAR_DTYPES,
    SPARSE_MATRIX_ELEMENTS,
    Type,
)

HEADER = struct.Struct(">iIii")  # kind, type (unsigned), size, next
HEADER_SIZE = HEADER.size

# next-field values
NEXT_SEQUENTIAL = 0
NEXT_NONE = -1

_ID = struct.Struct(">iiiii")
_CH_INFO = struct.Struct(">3i2fi12f2i16s")
_DIG_POINT = struct.Struct(">2i3f")
_COORD_TRANS = struct.Struct(">2i24f")
_OLD_PACK_HEAD = struct.Struct(">2f")


@dataclass(frozen=True)
class TagHeader:
    """Where a tag sits and what it holds; the payload follows at ``pos + 16``."""

    kind: int
    type: int
    size: int
    next: int
    pos: int

    @property
    def data_pos(self) -> int:
        return self.pos + HEADER_SIZE


def pack_header(kind: int, type_code: int, size: int, next_: int = NEXT_SEQUENTIAL) -> bytes:
    return HEADER.pack(kind, type_code, size, next_)


# --- decoding ---------------------------------------------------------------

def decode(type_code: int, payload: bytes, where: str, copy: bool = True):
    """Decode one tag payload; ``where`` names file and offset for errors.

    With ``copy=False`` a dense matrix is returned as a read-only view of
    ``payload`` in the file's (big-endian) byte order: no copy of what may be
    hundreds of MB. Other types are decoded as usual.
    """
    try:
        with np.errstate(all="ignore"):  # damaged numbers must not warn on stderr
            return _decode(type_code, payload, where, copy)
    except FifError:
        raise
    except (struct.error, ValueError, IndexError) as err:
        raise FifError(f"{where}: cannot decode data of type {type_code} ({err})") from None


def _decode(type_code: int, payload: bytes, where: str, copy: bool):
    if type_code & Type.MATRIX_CODE_MASK:
        return _decode_matrix(type_code, payload, where, copy)
    decoder = _DECODERS.get(type_code)
    if decoder is not None:
        return decoder(payload, where)
    if type_code in SCALAR_DTYPES:
        return _decode_scalars(SCALAR_DTYPES[type_code], payload, where)
    return bytes(payload)


def _decode_scalars(dtype: np.dtype, payload: bytes, where: str) -> np.ndarray:
    if len(payload) % dtype.itemsize:
        raise FifError(
            f"{where}: payload of {len(payload)} bytes is not a whole number of "
            f"{dtype.itemsize}-byte elements"
        )
    return _quiet_nans(np.frombuffer(payload, dtype).astype(dtype.newbyteorder("=")))


def _quiet_nans(values: np.ndarray) -> np.ndarray:
    """Make every NaN a quiet NaN, in place.

    A damaged float can be a signalling NaN, which numpy reports with a
    RuntimeWarning (on stderr) as soon as the readers convert it to float64.
    """
    if values.dtype.kind in "fc":
        nans = np.isnan(values)
        if nans.any():
            values[nans] = np.nan
    return values


def _structs(fmt: struct.Struct, payload: bytes, where: str, name: str):
    if len(payload) == 0 or len(payload) % fmt.size:
        raise FifError(f"{where}: {name} payload has {len(payload)} bytes, not a multiple of {fmt.size}")
    return [fmt.unpack_from(payload, off) for off in range(0, len(payload), fmt.size)]


def _one_or_list(items):
    return items[0] if len(items) == 1 else items


def _decode_id(payload, where):
    return _one_or_list([
        objects.FileId(v[0], (v[1], v[2]), v[3], v[4]) for v in _structs(_ID, payload, where, "id struct")
    ])


def _decode_ch_info(payload, where):
    chans = []
    for v in _structs(_CH_INFO, payload, where, "channel info"):
        name = v[20].split(b"\0", 1)[0].decode("latin-1")
        chans.append(objects.Channel(
            scanno=v[0], logno=v[1], kind=v[2], range=v[3], cal=v[4], coil_type=v[5],
            loc=np.array(v[6:18], np.float64), unit=v[18], unit_mul=v[19], name=name,
        ))
    return _one_or_list(chans)


def _decode_dig_point(payload, where):
    return _one_or_list([
        objects.DigPoint(v[0], v[1], np.array(v[2:5], np.float64))
        for v in _structs(_DIG_POINT, payload, where, "dig point")
    ])


def _decode_coord_trans(payload, where):
    trans = []
    for v in _structs(_COORD_TRANS, payload, where, "coordinate transform"):
        matrix = np.eye(4)
        matrix[:3, :3] = np.reshape(v[2:11], (3, 3))
        matrix[:3, 3] = v[11:14]
        trans.append(objects.Transform(v[0], v[1], matrix))
    return _one_or_list(trans)


def _decode_string(payload, where):
    return decode_string(payload)


#: MNE-Python's ``_read_string`` (mne/_fiff/tag.py, 1.13) unescapes a string
#: with ``html.unescape`` only when it holds a character reference of exactly
#: six digits.
_UNESCAPE_TRIGGER = re.compile(r"&#[0-9a-fA-F]{6};")


def decode_string(data: bytes) -> str:
    """The text of a FIF string payload, read as MNE-Python reads it.

    The bytes are ISO 8859-1 (the FIFF standard), so any byte sequence
    decodes. As MNE-Python's ``_read_string`` does, a string holding a
    six-digit character reference (``&#001076;``) is then unescaped with
    ``html.unescape``; any other string is returned as stored, references
    included. Both readers therefore give the same text for every file, and
    the original text for every string :func:`encode_string` wrote.
    """
    text = bytes(data).decode("latin-1")
    if _UNESCAPE_TRIGGER.search(text):
        text = html.unescape(text)
    return text


def _decode_void(payload, where):
    return None


def _decode_dir_entries(payload, where):
    return _decode_scalars(SCALAR_DTYPES[Type.INT], payload, where).reshape(-1, 4)


def _decode_old_pack(payload, where):
    offset, scale = _OLD_PACK_HEAD.unpack_from(payload)
    ints = _decode_scalars(SCALAR_DTYPES[Type.SHORT], payload[_OLD_PACK_HEAD.size:], where)
    return offset + scale * ints.astype(np.float32)


_DECODERS = {
    Type.VOID: _decode_void,
    Type.STRING: _decode_string,
    Type.ID: _decode_id,
    Type.CH_INFO: _decode_ch_info,
    Type.DIG_POINT: _decode_dig_point,
    Type.COORD_TRANS: _decode_coord_trans,
    Type.DIR_ENTRY: _decode_dir_entries,
    Type.OLD_PACK: _decode_old_pack,
}


def _decode_matrix(type_code: int, payload: bytes, where: str, copy: bool = True):
    code = type_code & Type.MATRIX_CODE_MASK
    element = type_code & Type.ELEMENT_MASK
    if code == Type.MATRIX_DENSE:
        if element not in DENSE_MATRIX_ELEMENTS:
            raise FifError(f"{where}: dense matrix of element type {element} is not supported")
        dtype = SCALAR_DTYPES[element]
        ints = SCALAR_DTYPES[Type.INT]
        if len(payload) < 4:
            raise FifError(f"{where}: matrix payload too short ({len(payload)} bytes)")
        ndim = int(np.frombuffer(payload[-4:], ints)[0])
        if not 1 <= ndim <= 8 or len(payload) < 4 * (ndim + 1):
            raise FifError(f"{where}: matrix claims {ndim} dimensions")
        dims = np.frombuffer(payload[-4 * (ndim + 1):-4], ints)[::-1].astype(np.int64)
        if np.any(dims < 0) or dtype.itemsize * int(np.prod(dims)) != len(payload) - 4 * (ndim + 1):
            raise FifError(f"{where}: matrix dimensions {tuple(dims)} do not match the {len(payload)}-byte payload")
        values = np.frombuffer(payload, dtype, count=int(np.prod(dims))).reshape(dims)
        return _quiet_nans(values.astype(dtype.newbyteorder("="))) if copy else values
    if code in (Type.MATRIX_SPARSE_CCS, Type.MATRIX_SPARSE_RCS):
        if element not in SPARSE_MATRIX_ELEMENTS:
            raise FifError(f"{where}: sparse matrix of element type {element} is not supported")
        return _decode_sparse(code, SCALAR_DTYPES[element], payload, where)
    raise FifError(f"{where}: unknown matrix coding {code:#x}")


def _decode_sparse(code, dtype, payload, where):
    ints = SCALAR_DTYPES[Type.INT]
    if len(payload) < 16:
        raise FifError(f"{where}: sparse matrix payload too short ({len(payload)} bytes)")
    nnz, nrow, ncol, ndim = (int(x) for x in np.frombuffer(payload[-16:], ints))
    rcs = code == Type.MATRIX_SPARSE_RCS
    nptr = (nrow if rcs else ncol) + 1
    expected = nnz * dtype.itemsize + 4 * nnz + 4 * nptr + 16
    if ndim != 2 or min(nnz, nrow, ncol) < 0 or expected != len(payload):
        raise FifError(
            f"{where}: sparse matrix header (nnz={nnz}, {nrow}x{ncol}, ndim={ndim}) "
            f"does not match the {len(payload)}-byte payload"
        )
    off = nnz * dtype.itemsize
    data = _quiet_nans(np.frombuffer(payload, dtype, count=nnz).astype(dtype.newbyteorder("=")))
    indices = np.frombuffer(payload, ints, count=nnz, offset=off).astype(np.int32)
    indptr = np.frombuffer(payload, ints, count=nptr, offset=off + 4 * nnz).astype(np.int32)
    limit = ncol if rcs else nrow
    if (indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0)
            or (nnz and (indices.min() < 0 or indices.max() >= limit))):
        raise FifError(f"{where}: sparse matrix index arrays are inconsistent")
    cls = scipy.sparse.csr_matrix if rcs else scipy.sparse.csc_matrix
    return cls((data, indices, indptr), shape=(nrow, ncol))


# --- encoding ---------------------------------------------------------------

def encode(type_code: int, value) -> bytes:
    """Encode ``value`` as the payload of a tag of ``type_code``."""
    if type_code & Type.MATRIX_CODE_MASK:
        return _encode_matrix(type_code, value)
    encoder = _ENCODERS.get(type_code)
    if encoder is not None:
        return encoder(value)
    if type_code in SCALAR_DTYPES:
        return np.ascontiguousarray(value, SCALAR_DTYPES[type_code]).tobytes()
    raise TypeError(f"cannot encode FIF type {type_code}")


def _as_list(value):
    return value if isinstance(value, (list, tuple)) else [value]


def _encode_id(value):
    return b"".join(
        _ID.pack(v.version, v.machid[0], v.machid[1], v.secs, v.usecs) for v in _as_list(value)
    )


def _encode_ch_info(value):
    """Channel names: 15 Latin-1 bytes at most; a character outside Latin-1
    becomes ``?`` (``io.meas.write_channels`` keeps such names whole in
    MNE-Python's extended channel blocks)."""
    out = []
    for ch in _as_list(value):
        name = ch.name.encode("latin-1", "replace")[:15]
        out.append(_CH_INFO.pack(
            ch.scanno, ch.logno, ch.kind, ch.range, ch.cal, ch.coil_type,
            *np.asarray(ch.loc, np.float64).ravel()[:12], ch.unit, ch.unit_mul, name,
        ))
    return b"".join(out)


def _encode_dig_point(value):
    return b"".join(_DIG_POINT.pack(d.kind, d.ident, *np.asarray(d.r, float)) for d in _as_list(value))


def _encode_coord_trans(value):
    out = []
    for t in _as_list(value):
        inv = np.linalg.inv(t.matrix)
        out.append(_COORD_TRANS.pack(
            t.from_frame, t.to_frame,
            *t.matrix[:3, :3].ravel(), *t.matrix[:3, 3], *inv[:3, :3].ravel(), *inv[:3, 3],
        ))
    return b"".join(out)


def _encode_string(value):
    return encode_string(value)


def encode_string(text: str) -> bytes:
    """The payload of a FIF string tag; never fails.

    FIF strings are ISO 8859-1 (the FIFF standard). Text that fits is stored
    as it is, byte for byte what MNE-Python's ``write_string``
    (mne/_fiff/write.py) writes. For a character outside Latin-1 MNE-Python
    writes an XML decimal character reference (``encode("latin1",
    errors="xmlcharrefreplace")``: ``д`` -> ``&#1076;``), but its reader
    (:func:`decode_string`) unescapes only strings that hold a six-digit
    reference, so it gives back ``&#1076;`` as text. Here the reference is
    zero-padded to six digits (``&#001076;``, the same XML reference), and
    every ``&`` of the text is written as ``&#000038;`` too, so that
    MNE-Python's reader, and ours, give back exactly the original text.
    The same escaping is used for Latin-1 text that itself holds a six-digit
    reference, which MNE-Python's reader would otherwise unescape.

    Not recoverable by either reader: lone surrogates and noncharacters
    (``html.unescape`` makes them U+FFFD or drops them), and a text whose only
    escaped characters lie above U+F423F (seven-digit references, private-use
    planes), which is read back with its references as text.
    """
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        pass
    else:
        if not _UNESCAPE_TRIGGER.search(text):
            return data
    return "".join(c if c != "&" and ord(c) < 256 else f"&#{ord(c):06d};"
                   for c in text).encode("latin-1")


def _encode_void(value):
    return b""


def _encode_dir_entries(value):
    return np.ascontiguousarray(value, SCALAR_DTYPES[Type.INT]).tobytes()


_ENCODERS = {
    Type.VOID: _encode_void,
    Type.STRING: _encode_string,
    Type.ID: _encode_id,
    Type.CH_INFO: _encode_ch_info,
    Type.DIG_POINT: _encode_dig_point,
    Type.COORD_TRANS: _encode_coord_trans,
    Type.DIR_ENTRY: _encode_dir_entries,
}


def dense_matrix_trailer(shape) -> bytes:
    """The dimensions that follow a dense matrix's elements: reversed shape, then ndim."""
    return np.array(tuple(shape)[::-1] + (len(shape),), SCALAR_DTYPES[Type.INT]).tobytes()


def _encode_matrix(type_code, value):
    code = type_code & Type.MATRIX_CODE_MASK
    dtype = SCALAR_DTYPES[type_code & Type.ELEMENT_MASK]
    ints = SCALAR_DTYPES[Type.INT]
    if code == Type.MATRIX_DENSE:
        arr = np.asarray(value)
        return np.ascontiguousarray(arr, dtype).tobytes() + dense_matrix_trailer(arr.shape)
    rcs = code == Type.MATRIX_SPARSE_RCS
    mat = scipy.sparse.csr_matrix(value) if rcs else scipy.sparse.csc_matrix(value)
    mat.sort_indices()
    return b"".join([
        np.ascontiguousarray(mat.data, dtype).tobytes(),
        np.ascontiguousarray(mat.indices, ints).tobytes(),
        np.ascontiguousarray(mat.indptr, ints).tobytes(),
        np.array([mat.nnz, mat.shape[0], mat.shape[1], 2], ints).tobytes(),
    ])
