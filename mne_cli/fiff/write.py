"""Writing FIF files.

``fif_writer(path)`` opens a temporary file beside the target, writes the
mandatory header (FILE_ID, DIR_POINTER = -1, FREE_LIST = -1; SPEC section
1.2), lets the caller stream blocks and tags, writes the closing NOP with
``next = -1`` and only then renames the file into place. If anything fails
the temporary file is removed and an earlier file at ``path`` is untouched.

A target named ``*.gz`` (``-fwd.fif.gz``) is gzip-compressed into that
temporary file, as MNE-Python's ``start_file`` (mne/_fiff/write.py) writes
such names and its reader (``_fiff_get_fid``) reads them; MNE-C reads only
uncompressed files (SPEC section 1.8), so every other name stays plain.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import time
import uuid

import numpy as np

from .. import objects
from ..atomic import atomic_output
from ..errors import OutputError
from .constants import FILE_VERSION, SCALAR_DTYPES, Block, Kind, Type, type_for_dtype
from .tag import NEXT_NONE, dense_matrix_trailer, encode, pack_header


def new_file_id() -> objects.FileId:
    """A fresh id struct: this machine's node id and the current time."""
    node = uuid.getnode()
    now = time.time()
    return objects.FileId(FILE_VERSION, (node >> 32 & 0x7FFFFFFF, node & 0x7FFFFFFF),
                  int(now), int((now % 1) * 1e6))


_STREAM_BYTES = 8 << 20  # slice size when streaming a large matrix
#: gzip level of .fif.gz outputs, as MNE-Python's ``start_file`` chooses it
#: (level 9 is "barely smaller but much slower").
_GZIP_LEVEL = 2


#: A tag's data size is a signed 32-bit count of bytes (SPEC section 1).
MAX_TAG_BYTES = 2 ** 31 - 1


class FifWriter:
    """Streams tags into an open binary file; use through :func:`fif_writer`."""

    def __init__(self, fid):
        self._fid = fid
        self._open_blocks: list[int] = []

    def write(self, kind: int, type_code: int, value) -> None:
        """Write one tag of any type; the payload is encoded by ``tag.encode``."""
        payload = encode(type_code, value)
        self._fid.write(pack_header(kind, type_code, len(payload)))
        self._fid.write(payload)

    @contextlib.contextmanager
    def block(self, kind: int):
        """``with writer.block(Block.X):`` wraps the tags written inside."""
        self.write(Kind.BLOCK_START, Type.INT, [kind])
        self._open_blocks.append(kind)
        yield self
        self._open_blocks.pop()
        self.write(Kind.BLOCK_END, Type.INT, [kind])

    def write_int(self, kind: int, value) -> None:
        """Scalar or 1-D int tag."""
        self.write(kind, Type.INT, np.atleast_1d(value))

    def write_float(self, kind: int, value) -> None:
        """Scalar or 1-D float32 tag."""
        self.write(kind, Type.FLOAT, np.atleast_1d(value))

    def write_double(self, kind: int, value) -> None:
        self.write(kind, Type.DOUBLE, np.atleast_1d(value))

    def write_string(self, kind: int, value: str) -> None:
        self.write(kind, Type.STRING, value)

    def write_name_list(self, kind: int, names: list[str]) -> None:
        """Names joined by ':' (a literal colon escaped as MNE-Python does)."""
        self.write_string(kind, ":".join(n.replace(":", "{COLON}") for n in names))

    def write_id(self, kind: int, file_id: objects.FileId) -> None:
        self.write(kind, Type.ID, file_id)

    def write_transform(self, transform) -> None:
        self.write(Kind.COORD_TRANS, Type.COORD_TRANS, transform)

    def write_matrix(self, kind: int, array, element_type: int | None = None) -> None:
        """Dense matrix tag; the element type follows the array's dtype
        (float64 data are stored as float32 unless ``element_type`` says
        otherwise, as the FIF files of MNE store geometry)."""
        array = np.asarray(array)
        if element_type is None:
            element_type = type_for_dtype(array.dtype)
            if element_type == Type.DOUBLE:
                element_type = Type.FLOAT
        if element_type not in SCALAR_DTYPES:
            raise TypeError(f"no matrix element type {element_type}")
        # Streamed in slices: a BEM solution is hundreds of MB, and encoding
        # it whole would hold several converted copies at once.
        dtype = SCALAR_DTYPES[element_type]
        trailer = dense_matrix_trailer(array.shape)
        if array.size * dtype.itemsize + len(trailer) > MAX_TAG_BYTES:
            raise OutputError(f"a {' x '.join(map(str, array.shape))} matrix "
                              f"({array.size * dtype.itemsize / 2 ** 30:.1f} GiB) is larger "
                              "than a FIF tag can hold (2 GiB)")
        self._fid.write(pack_header(kind, Type.MATRIX_DENSE | element_type,
                                    array.size * dtype.itemsize + len(trailer)))
        flat = array.reshape(len(array), -1) if array.ndim > 1 else array.reshape(-1)
        step = max(1, _STREAM_BYTES // max(1, flat[:1].size * dtype.itemsize))
        for start in range(0, len(flat), step):
            self._fid.write(np.ascontiguousarray(flat[start:start + step], dtype).data)
        self._fid.write(trailer)

    def write_sparse(self, kind: int, matrix, rcs: bool = True) -> None:
        """Sparse float32 matrix tag, row-compressed (RCS) by default."""
        code = Type.MATRIX_SPARSE_RCS if rcs else Type.MATRIX_SPARSE_CCS
        self.write(kind, code | Type.FLOAT, matrix)

    def write_env(self, command_line: str, working_dir: str | None = None) -> None:
        """The provenance block MNE-C attaches: working dir and command line."""
        with self.block(Block.MNE_ENV):
            self.write_id(Kind.BLOCK_ID, new_file_id())
            self.write_string(Kind.MNE_ENV_WORKING_DIR, working_dir or os.getcwd())
            self.write_string(Kind.MNE_ENV_COMMAND_LINE, command_line)


@contextlib.contextmanager
def fif_writer(path):
    """Write a FIF file atomically: ``with fif_writer(p) as w: ...``.

    A name ending in ``.gz`` (any case, as MNE-Python decides) is written
    gzip-compressed; the compressed stream is complete before the rename.
    """
    with atomic_output(path) as raw, _compressed_if_gz(raw, path) as fid:
        writer = FifWriter(fid)
        writer.write_id(Kind.FILE_ID, new_file_id())
        writer.write_int(Kind.DIR_POINTER, -1)
        writer.write_int(Kind.FREE_LIST, -1)
        yield writer
        if writer._open_blocks:
            raise RuntimeError(f"blocks left open: {writer._open_blocks}")
        fid.write(pack_header(Kind.NOP, Type.VOID, 0, NEXT_NONE))


def _compressed_if_gz(raw, path):
    """``raw`` itself, or a gzip stream into it when ``path`` ends in ``.gz``.

    The gzip header names the uncompressed file (the target's name without
    ``.gz``, as ``gzip`` and MNE-Python record it), not the temporary file.
    """
    name = os.path.basename(os.fspath(path))
    if not name.lower().endswith(".gz"):
        return contextlib.nullcontext(raw)
    return gzip.GzipFile(filename=name, mode="wb", fileobj=raw, compresslevel=_GZIP_LEVEL)
