"""Reading a FIF file into its block tree.

The whole file is read into memory (``.fif.gz`` is decompressed first), the
tag chain is walked from offset 0 by following each tag's ``next`` field,
and BLOCK_START/BLOCK_END tags build a tree of :class:`Node`. Payloads are
decoded only when asked for. Any inconsistency raises
:class:`~mne_cli.errors.FifError` naming the file and the offset.
"""

from __future__ import annotations

import gzip
import mmap
import os
import zlib
from dataclasses import dataclass, field

import numpy as np

from .. import objects
from ..errors import FifError
from .constants import Block, Kind, Type

#: Files at least this large (bytes) are memory-mapped instead of read.
_MAP_ABOVE = 16 << 20
#: Deepest block nesting accepted (MNE's files nest a handful of levels).
_MAX_DEPTH = 100
from .tag import HEADER, HEADER_SIZE, NEXT_NONE, NEXT_SEQUENTIAL, TagHeader, decode

_MISSING = object()


@dataclass
class Node:
    """One block of a FIF file: its own tags and its child blocks."""

    block: int
    fif: FifFile = field(repr=False)
    tags: list[TagHeader] = field(default_factory=list, repr=False)
    children: list[Node] = field(default_factory=list, repr=False)

    def find_blocks(self, block: int) -> list[Node]:
        """All blocks of kind ``block`` in this subtree, depth-first pre-order."""
        found = [self] if self.block == block else []
        for child in self.children:
            found.extend(child.find_blocks(block))
        return found

    def find_tag(self, kind: int) -> TagHeader | None:
        """First tag of ``kind`` directly in this block (children not searched)."""
        return next((t for t in self.tags if t.kind == kind), None)

    def has(self, kind: int) -> bool:
        return self.find_tag(kind) is not None

    def read(self, kind: int, default=_MISSING):
        """Decoded value of the first ``kind`` tag of this block.

        Without ``default`` a missing tag raises FifError naming the file.
        """
        tag = self.find_tag(kind)
        if tag is None:
            if default is _MISSING:
                raise FifError(
                    f"{self.fif.name}: block {self.block} has no tag {kind}; "
                    "the file is incomplete or not of the expected kind"
                )
            return default
        return self.fif.read_tag(tag)

    def read_view(self, kind: int, default=_MISSING):
        """Like :meth:`read`, but a dense matrix comes as a read-only view of the
        file's bytes in file byte order (for matrices too large to copy)."""
        tag = self.find_tag(kind)
        if tag is None:
            return self.read(kind, default)
        return self.fif.read_tag(tag, copy=False)

    def read_all(self, kind: int) -> list:
        """Decoded values of every ``kind`` tag of this block, in file order.

        A struct tag that packs several structs contributes each of them.
        """
        return _flat([self.fif.read_tag(t) for t in self.tags if t.kind == kind])

    def first_id(self, *kinds: int):
        """The first id struct found among the tags ``kinds`` (in that order), or None."""
        for kind in kinds:
            values = [v for v in self.read_all(kind) if isinstance(v, objects.FileId)]
            if values:
                return values[0]
        return None

    def read_int(self, kind: int, default=_MISSING) -> int:
        value = self.read(kind, default)
        return value if value is default else int(self._scalar(kind, value, integer=True))

    def read_float(self, kind: int, default=_MISSING) -> float:
        value = self.read(kind, default)
        return value if value is default else float(self._scalar(kind, value))

    def read_string(self, kind: int, default=_MISSING) -> str:
        value = self.read(kind, default)
        if value is not default and not isinstance(value, str):
            raise FifError(f"{self.fif.name}: tag {kind} holds no string")
        return value

    def _scalar(self, kind, value, integer: bool = False):
        """The first number of an array tag; ``integer``: a finite one (for ``int()``)."""
        arr = value if isinstance(value, np.ndarray) else None
        if arr is None or arr.size < 1 or arr.dtype.kind not in "biuf" or (
                integer and not np.isfinite(arr.ravel()[0])):
            raise FifError(f"{self.fif.name}: tag {kind} in block {self.block} holds no "
                           f"{'integer' if integer else 'number'}")
        return arr.ravel()[0]


class FifFile:
    """An opened FIF file: its bytes, its tags and the root of its block tree."""

    def __init__(self, name: str, data: bytes):
        self.name = name
        self.data = data
        self.tags = _walk_tags(name, data)
        self.root = _build_tree(self)

    def read_tag(self, tag: TagHeader, copy: bool = True):
        """Decode the payload of ``tag`` (see :func:`decode` for ``copy``).

        A tag of a kind listed in ``_EXPECTED`` must decode to what that kind
        holds (a damaged type code would hand the readers, say, a string where
        they index an array, or NaN coordinates); else FifError.
        """
        payload = memoryview(self.data)[tag.data_pos:tag.data_pos + tag.size]
        where = f"{self.name}: tag {tag.kind} at offset {tag.pos}"
        value = decode(tag.type, payload, where, copy)
        expected = _EXPECTED.get(tag.kind)
        if expected is not None:
            accept, what = expected
            items = value if isinstance(value, list) else [value]
            if not items or not all(accept(v) for v in items):
                raise FifError(f"{where} (data type {tag.type:#x}) does not hold {what}; "
                               "the file is corrupt")
        return value

    @property
    def file_id(self):
        return self.read_tag(self.tags[0])

    def read_all(self, kind: int) -> list:
        """Decoded values of every ``kind`` tag anywhere in the file, in file order."""
        return _flat([self.read_tag(t) for t in self.tags if t.kind == kind])


def _integers(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "iu"


def _reals(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "iuf"


def _finite_reals(value) -> bool:
    return _reals(value) and bool(np.isfinite(value).all())


def _transform(value) -> bool:
    return isinstance(value, objects.Transform) and bool(np.isfinite(value.matrix).all())


#: Tag kinds whose readers rely on what they hold: kind -> (test, description).
#: Geometry must be finite; sizes and the huge BEM solution are checked for
#: their element type only.
_EXPECTED = {
    Kind.CH_INFO: (lambda v: isinstance(v, objects.Channel), "channel information"),
    Kind.DIG_POINT: (lambda v: isinstance(v, objects.DigPoint), "a digitised point"),
    Kind.COORD_TRANS: (_transform, "a finite coordinate transformation"),
    **{kind: (_integers, "an array of integers") for kind in (
        Kind.BEM_SURF_TRIANGLES, Kind.MNE_SOURCE_SPACE_SELECTION,
        Kind.MNE_SOURCE_SPACE_NEAREST, Kind.MNE_SOURCE_SPACE_TRIANGLES,
        Kind.MNE_SOURCE_SPACE_USE_TRIANGLES, Kind.MNE_SOURCE_SPACE_NNEIGHBORS,
        Kind.MNE_SOURCE_SPACE_NEIGHBORS, Kind.MNE_SOURCE_SPACE_VOXEL_DIMS)},
    **{kind: (_reals, "an array of real numbers") for kind in (
        Kind.BEM_POT_SOLUTION, Kind.MNE_SOURCE_SPACE_NEAREST_DIST,
        Kind.MNE_SOURCE_SPACE_DIST_LIMIT, Kind.MNE_FORWARD_SOLUTION,
        Kind.MNE_FORWARD_SOLUTION_GRAD, Kind.MNE_CTF_COMP_DATA)},
    **{kind: (_finite_reals, "an array of finite real numbers") for kind in (
        Kind.BEM_SURF_NODES, Kind.BEM_SURF_NORMALS, Kind.MNE_SOURCE_SPACE_POINTS,
        Kind.MNE_SOURCE_SPACE_NORMALS)},
}


def _flat(values: list) -> list:
    out = []
    for value in values:
        out.extend(value if isinstance(value, list) else [value])
    return out


#: First bytes of a gzip stream (a ``.fif.gz`` file).
GZIP_MAGIC = b"\x1f\x8b"


def starts_like_fif(head: bytes) -> bool:
    """Whether a file's first four bytes are a FIF file's (its FILE_ID tag) or gzip's."""
    return head[:4] == int(Kind.FILE_ID).to_bytes(4, "big") or head[:2] == GZIP_MAGIC


def open_fif(path) -> FifFile:
    """Read a FIF (or gzip-compressed ``.fif.gz``) file into a :class:`FifFile`."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as fid:
            data = _contents(fid)
    except FileNotFoundError:
        raise FifError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise FifError(f"{name}: is a directory, not a FIF file") from None
    except OSError as err:
        raise FifError(f"{name}: cannot be read ({err.strerror})") from None
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise FifError(f"{name}: corrupt gzip compression ({err})") from None
    return FifFile(name, data)


def _contents(fid):
    """The bytes of an open file; large files are memory-mapped, not copied.

    A mapping costs no read and no private copy: the pages come from the
    page cache as they are decoded (a BEM solution is hundreds of MB).
    """
    size = os.fstat(fid.fileno()).st_size
    if size < _MAP_ABOVE:
        return fid.read()
    return mmap.mmap(fid.fileno(), 0, access=mmap.ACCESS_READ)


def _walk_tags(name: str, data: bytes) -> list[TagHeader]:
    size = len(data)
    if size == 0:
        raise FifError(f"{name}: the file is empty, not a FIF file")
    tags = []
    pos = 0
    seen = set()
    while True:
        if pos + HEADER_SIZE > size:
            raise FifError(
                f"{name}: truncated: the tag header at offset {pos} runs past the end "
                f"of the file ({size} bytes)"
            )
        kind, type_code, length, next_ = HEADER.unpack_from(data, pos)
        if not tags and (kind != Kind.FILE_ID or type_code != Type.ID or length != 20):
            raise FifError(f"{name}: the file does not start with a file id tag; it is not a FIF file")
        if length < 0 or pos + HEADER_SIZE + length > size:
            raise FifError(
                f"{name}: truncated or corrupt: tag {kind} at offset {pos} claims "
                f"{length} bytes of data but the file has {size} bytes"
            )
        tags.append(TagHeader(kind, type_code, length, next_, pos))
        seen.add(pos)
        if next_ == NEXT_NONE:
            return tags
        if next_ == NEXT_SEQUENTIAL:
            pos = pos + HEADER_SIZE + length
            if pos == size:
                return tags  # a writer that left out the closing next = -1
        elif next_ > 0:
            pos = next_
        else:
            raise FifError(f"{name}: corrupt: tag {kind} at offset {pos} has invalid next pointer {next_}")
        if pos in seen:
            raise FifError(f"{name}: corrupt: the tag chain loops back to offset {pos}")


def _build_tree(fif: FifFile) -> Node:
    root = Node(Block.ROOT, fif)
    stack = [root]
    for tag in fif.tags:
        if tag.kind == Kind.BLOCK_START:
            if len(stack) > _MAX_DEPTH:  # the tree is walked recursively
                raise FifError(f"{fif.name}: corrupt: blocks nested more than {_MAX_DEPTH} deep "
                               f"at offset {tag.pos}")
            node = Node(_block_kind(fif, tag), fif)
            stack[-1].children.append(node)
            stack.append(node)
        elif tag.kind == Kind.BLOCK_END:
            if len(stack) == 1 or _block_kind(fif, tag) != stack[-1].block:
                raise FifError(
                    f"{fif.name}: corrupt: block end at offset {tag.pos} does not match an open block"
                )
            stack.pop()
        else:
            stack[-1].tags.append(tag)
    if len(stack) > 1:
        raise FifError(
            f"{fif.name}: truncated: the file ends inside block {stack[-1].block} "
            f"(after offset {fif.tags[-1].pos})"
        )
    return root


def _block_kind(fif: FifFile, tag: TagHeader) -> int:
    value = fif.read_tag(tag)
    if not _integers(value) or value.size != 1:
        raise FifError(f"{fif.name}: corrupt: block tag at offset {tag.pos} does not hold one integer")
    return int(value[0])
