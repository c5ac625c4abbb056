"""Measurement information (``--meas``): channels, transforms, compensation.

Reading follows SPEC section 3.5 (MNE-C ``mne_read_meas_info``): the
information comes from the first ``FIFFB_MNE_PARENT_MEAS_FILE`` block when the
file has one (a forward or inverse-operator file can serve as ``--meas``),
otherwise from the first ``FIFFB_MEAS_INFO`` block.

Writing produces a minimal measurement file (``FIFFB_MEAS`` holding one
``FIFFB_MEAS_INFO``) with the tags in the order MNE-Python's
``write_meas_info`` uses, so that ``mne.io.read_info`` reads it. The small
``write_*`` helpers are public so that the forward-solution writer can put the
same channel, bad-channel and compensation records into its
``FIFFB_MNE_PARENT_MEAS_FILE`` block (SPEC section 9.11).
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np

from ..errors import FifError, InputError
from ..fiff import Block, Frame, Kind, Type, fif_writer, open_fif
from ..fiff.tree import FifFile, Node
from ..fiff.write import FifWriter
from ..objects import Channel, CompensationMatrix, DigPoint, FileId, MeasInfo, Transform
from .transform import require_invertible

logger = logging.getLogger(__name__)

_NAME_LENGTH = 15  # characters of a channel name that fit in a ch_info struct

__all__ = [
    "read_bads",
    "read_channels",
    "read_fiducials",
    "read_long_names",
    "read_meas_info",
    "rename_channels",
    "split_name_list",
    "write_bads",
    "write_channels",
    "write_comps",
    "write_dig",
    "write_fiducials",
    "write_meas_info",
]


# --- reading -----------------------------------------------------------------

def read_meas_info(path) -> MeasInfo:
    """Read what the tools use of a measurement file (SPEC section 3.5).

    Parameters
    ----------
    path : path-like
        A raw, evoked or info file, or a forward/inverse file (its
        ``FIFFB_MNE_PARENT_MEAS_FILE`` block is used).

    Returns
    -------
    MeasInfo
        ``channels`` in scan-number order (``scanno`` 1..NCHAN);
        ``dev_head_t`` device->head (None if the file has none);
        ``ctf_head_t`` CTF head->head (None if absent); ``bads``;
        ``comps`` with their data exactly as stored (uncalibrated unless
        ``calibrated``); ``sfreq``, ``highpass``, ``lowpass`` in Hz (None when
        absent or NaN); ``meas_date`` (seconds, microseconds) from
        ``FIFF_MEAS_DATE`` only; ``meas_id``; ``description``; ``dig`` (m).

    Raises
    ------
    FifError
        The file is not FIF, has no measurement information, or its channel
        information is incomplete.
    """
    fif = open_fif(path)
    block, meas_id = _find_info_block(fif)
    channels = read_channels(fif.name, block)
    renames = read_long_names(fif.name, block, channels)
    return MeasInfo(
        channels=rename_channels(channels, renames),
        dev_head_t=_find_transform(fif, block, Frame.DEVICE, Frame.HEAD),
        ctf_head_t=_find_transform(fif, block, Frame.CTF_HEAD, Frame.HEAD),
        bads=read_bads(block, renames),
        comps=_read_comps(fif.name, block),
        sfreq=_read_hz(block, Kind.SFREQ),
        highpass=_read_hz(block, Kind.HIGHPASS),
        lowpass=_read_hz(block, Kind.LOWPASS),
        meas_id=meas_id,
        meas_date=_read_meas_date(block),
        dig=_read_dig(block),
        description=block.read_string(Kind.COMMENT, None) or None,
    )


def split_name_list(names: str | None) -> list[str]:
    """Split a ``:``-joined FIF name list; ``{COLON}`` stands for a literal colon."""
    if not names:
        return []
    return [n.replace("{COLON}", ":") for n in names.split(":")]


def _find_info_block(fif: FifFile) -> tuple[Node, FileId | None]:
    """The block holding the measurement information, and the measurement id.

    For a parent-measurement block the id is its ``PARENT_BLOCK_ID`` (else its
    block id); for a measurement file the first found of: PARENT_BLOCK_ID and
    BLOCK_ID of ``FIFFB_MEAS_INFO``, BLOCK_ID and PARENT_BLOCK_ID of the
    enclosing ``FIFFB_MEAS``, the file id (MNE-Python's order).
    """
    parents = fif.root.find_blocks(Block.MNE_PARENT_MEAS_FILE)
    if parents:
        block = parents[0]
        return block, block.first_id(Kind.PARENT_BLOCK_ID, Kind.BLOCK_ID)
    infos = fif.root.find_blocks(Block.MEAS_INFO)
    if not infos:
        raise FifError(
            f"{fif.name}: Could not find the measurement information (no FIFFB_MEAS_INFO "
            "or FIFFB_MNE_PARENT_MEAS_FILE block); give a raw, evoked or forward file"
        )
    block = infos[0]
    meas_id = block.first_id(Kind.PARENT_BLOCK_ID, Kind.BLOCK_ID)
    if meas_id is None:
        meas = next((m for m in fif.root.find_blocks(Block.MEAS)
                     if any(b is block for b in m.find_blocks(Block.MEAS_INFO))), None)
        if meas is not None:
            meas_id = meas.first_id(Kind.BLOCK_ID, Kind.PARENT_BLOCK_ID)
    if meas_id is None and isinstance(fif.file_id, FileId):
        meas_id = fif.file_id
    return block, meas_id


def read_channels(name: str, block: Node) -> list[Channel]:
    """NCHAN and every CH_INFO, each put at position ``scanno - 1``."""
    nchan = block.read_int(Kind.NCHAN, None)
    infos = block.read_all(Kind.CH_INFO)
    if nchan is None or nchan <= 0 or not infos:
        raise FifError(f"{name}: Could not find the channel information.")
    if nchan > len(infos):  # checked before allocating: a corrupt NCHAN can be 2**31 - 1
        raise FifError(f"{name}: Some of the channel information was missing (NCHAN is "
                       f"{nchan} but the file has {len(infos)} FIFF_CH_INFO entries).")
    channels: list[Channel | None] = [None] * nchan
    for ch in infos:
        if not isinstance(ch, Channel):
            raise FifError(f"{name}: a FIFF_CH_INFO tag does not hold channel information")
        if not 1 <= ch.scanno <= nchan:
            raise FifError(
                f"{name}: FIFF_CH_INFO : scan # out of range (channel {ch.name} has scan "
                f"number {ch.scanno}, the file has {nchan} channels)"
            )
        channels[ch.scanno - 1] = ch
    missing = [k + 1 for k, ch in enumerate(channels) if ch is None]
    if missing:
        raise FifError(
            f"{name}: Some of the channel information was missing "
            f"({len(missing)} of {nchan} scan numbers have no FIFF_CH_INFO, first {missing[0]})."
        )
    return channels


def read_long_names(name: str, block: Node, channels: list[Channel]) -> dict[str, str]:
    """On-disk (15-character) names -> the full names MNE-Python keeps in
    extended ``FIFFB_CH_INFO`` blocks, one block per channel in order."""
    extended = block.find_blocks(Block.CH_INFO)
    if not extended:
        return {}
    if len(extended) != len(channels):
        raise FifError(f"{name}: {len(extended)} extended channel blocks for "
                       f"{len(channels)} channels; the file is corrupt")
    renames = {}
    for node, ch in zip(extended, channels):
        full = node.read_string(Kind.CH_DACQ_NAME, None)
        if full and full != ch.name:
            renames[ch.name] = full
    return renames


def rename_channels(channels: list[Channel], renames: dict[str, str]) -> list[Channel]:
    return [dataclasses.replace(ch, name=renames.get(ch.name, ch.name)) for ch in channels]


def _find_transform(fif: FifFile, block: Node, from_frame: int, to_frame: int) -> Transform | None:
    """A ``from -> to`` transform, inverted if stored the other way.

    The last matching COORD_TRANS directly in ``block`` wins (as in
    MNE-Python's reader, which overwrites while scanning); if there is none,
    the first matching one anywhere else in the file, in file order (e.g.
    inside ``FIFFB_HPI_RESULT``).
    """
    own = _matching(fif.name, block.read_all(Kind.COORD_TRANS), from_frame, to_frame)
    if own:
        return own[-1]
    found = _matching(fif.name, fif.read_all(Kind.COORD_TRANS), from_frame, to_frame)
    return found[0] if found else None


def _matching(name: str, candidates: list, from_frame: int, to_frame: int) -> list[Transform]:
    """The candidates between the two frames, oriented; FifError for a singular one."""
    return [require_invertible(t, name).towards(from_frame, to_frame) for t in candidates
            if isinstance(t, Transform) and {t.from_frame, t.to_frame} == {from_frame, to_frame}]


def read_bads(block: Node, renames: dict[str, str] | None = None) -> list[str]:
    """Bad channels of the first bad-channel block, on-disk names mapped
    through ``renames`` (from :func:`read_long_names`)."""
    renames = renames or {}
    for node in block.find_blocks(Block.MNE_BAD_CHANNELS):
        names = node.read_string(Kind.MNE_CH_NAME_LIST, None)
        if names is not None:
            return [renames.get(n, n) for n in split_name_list(names)]
    return []


def _read_comps(name: str, block: Node) -> list[CompensationMatrix]:
    """Every ``FIFFB_MNE_CTF_COMP_DATA`` block below ``block``, in file order."""
    comps = []
    for node in block.find_blocks(Block.MNE_CTF_COMP_DATA):
        where = f"{name}: compensation matrix {len(comps) + 1}"
        kind = node.read_int(Kind.MNE_CTF_COMP_KIND, None)
        if kind is None:
            raise FifError(f"{where} has no FIFF_MNE_CTF_COMP_KIND tag; the file is corrupt")
        calibrated = bool(node.read_int(Kind.MNE_CTF_COMP_CALIBRATED, 0))
        matrix = next((c for c in node.children
                       if c.block == Block.MNE_NAMED_MATRIX and c.has(Kind.MNE_CTF_COMP_DATA)),
                      node if node.has(Kind.MNE_CTF_COMP_DATA) else None)
        if matrix is None:
            raise FifError(f"{where} has no data matrix; the file is corrupt")
        data = np.asarray(matrix.read(Kind.MNE_CTF_COMP_DATA), np.float64)
        if data.ndim != 2:
            raise FifError(f"{where} is not a 2-D matrix")
        nrow = matrix.read_int(Kind.MNE_NROW, data.shape[0])
        ncol = matrix.read_int(Kind.MNE_NCOL, data.shape[1])
        rows = split_name_list(matrix.read_string(Kind.MNE_ROW_NAMES, None))
        cols = split_name_list(matrix.read_string(Kind.MNE_COL_NAMES, None))
        if (nrow, ncol) != data.shape or len(rows) != nrow or len(cols) != ncol:
            raise FifError(
                f"{where}: data {data.shape[0]} x {data.shape[1]}, NROW {nrow}, NCOL {ncol}, "
                f"{len(rows)} row and {len(cols)} column names do not agree; the file is corrupt"
            )
        comps.append(CompensationMatrix(kind, calibrated, rows, cols, data))
    return comps


def _read_hz(block: Node, kind: int) -> float | None:
    value = block.read_float(kind, None)
    return None if value is None or math.isnan(value) else value


def _read_meas_date(block: Node) -> tuple[int, int] | None:
    value = block.read(Kind.MEAS_DATE, None)
    if not isinstance(value, np.ndarray) or value.size == 0:
        return None
    return (int(value[0]), int(value[1]) if value.size > 1 else 0)


def _read_dig(block: Node) -> list[DigPoint]:
    """DIG_POINT tags of the first ISOTRAK block, in the frame its
    ``FIFF_MNE_COORD_FRAME`` tag names (head when absent)."""
    isotraks = block.find_blocks(Block.ISOTRAK)
    if not isotraks:
        return []
    isotrak = isotraks[0]
    frame = isotrak.read_int(Kind.MNE_COORD_FRAME, Frame.HEAD)
    points = [p for p in isotrak.read_all(Kind.DIG_POINT) if isinstance(p, DigPoint)]
    return [dataclasses.replace(p, coord_frame=frame) for p in points]


def read_fiducials(path) -> list[DigPoint]:
    """Digitised points of a stand-alone ``-fiducials.fif`` file (an isotrak block)."""
    fif = open_fif(path)
    points = _read_dig(fif.root)
    if not points:
        raise FifError(f"{fif.name}: no digitised points found; this is not a fiducials file")
    return points


def write_fiducials(path, points: list[DigPoint]) -> None:
    """Write digitised points as MNE's ``-fiducials.fif`` files hold them."""
    with fif_writer(path) as w:
        write_dig(w, points, always_frame=True)


# --- writing -----------------------------------------------------------------

def write_meas_info(path, info: MeasInfo) -> None:
    """Write ``info`` as a minimal measurement file that ``mne.io.read_info`` reads.

    Layout (tag order of MNE-Python's ``write_meas_info``)::

        100 FIFFB_MEAS
          101 FIFFB_MEAS_INFO
            110 PARENT_BLOCK_ID   meas_id (if any)
            107 FIFFB_ISOTRAK     dig points (if any)
            222 COORD_TRANS       dev_head_t, ctf_head_t (if any)
            206 DESCRIPTION, 204 MEAS_DATE (if any)
            200 NCHAN, 201 SFREQ, 219 LOWPASS, 223 HIGHPASS
            203 CH_INFO x NCHAN   scanno renumbered 1..NCHAN
            359 FIFFB_MNE_BAD_CHANNELS (if any)
            370 FIFFB_MNE_CTF_COMP     (if any)

    ``sfreq`` is left out when None; MNE-Python's ``read_info`` then refuses
    the file (MNE-C does not need it).
    """
    with fif_writer(path) as w, w.block(Block.MEAS), w.block(Block.MEAS_INFO):
        if info.meas_id is not None:
            w.write_id(Kind.PARENT_BLOCK_ID, info.meas_id)
        write_dig(w, info.dig)
        for trans in (info.dev_head_t, info.ctf_head_t):
            if trans is not None:
                w.write_transform(trans)
        if info.description:
            w.write_string(Kind.COMMENT, info.description)
        if info.meas_date is not None:
            w.write_int(Kind.MEAS_DATE, np.asarray(info.meas_date, np.int64))
        w.write_int(Kind.NCHAN, len(info.channels))
        if info.sfreq is None:
            logger.debug("%s: no sampling frequency to write", path)
        else:
            w.write_float(Kind.SFREQ, info.sfreq)
        if info.lowpass is not None:
            w.write_float(Kind.LOWPASS, info.lowpass)
        if info.highpass is not None:
            w.write_float(Kind.HIGHPASS, info.highpass)
        disk_names = write_channels(w, info.channels)
        write_bads(w, info.bads, disk_names)
        write_comps(w, info.comps)


def write_channels(writer: FifWriter, channels: list[Channel]) -> dict[str, str]:
    """One CH_INFO tag per channel, ``scanno`` renumbered 1..n in list order
    (NCHAN is the caller's to write).

    A ch_info struct holds 15 Latin-1 characters of a name (SPEC sections 1.5
    and 13): longer names are shortened and characters outside Latin-1
    become ``?``, with a ``-k`` suffix where needed to stay unique, and the
    full names go into MNE-Python's extended ``FIFFB_CH_INFO`` blocks (as
    strings, which hold any text: ``fiff.tag.encode_string``). Returns the
    full -> on-disk name map, for name lists such as the bad channels.
    """
    disk = dict(zip((ch.name for ch in channels), _disk_names([ch.name for ch in channels])))
    for k, ch in enumerate(channels):
        writer.write(Kind.CH_INFO, Type.CH_INFO,
                     dataclasses.replace(ch, scanno=k + 1, name=disk[ch.name]))
    shortened = [n for n, d in disk.items() if n != d]
    if shortened:
        logger.warning("%d channel names are longer than %d characters or not Latin-1; "
                       "MNE-C will see them shortened", len(shortened), _NAME_LENGTH)
        for ch in channels:
            with writer.block(Block.CH_INFO):
                writer.write_string(Kind.CH_DACQ_NAME, ch.name)
    return disk


def _disk_names(names: list[str]) -> list[str]:
    """The names as a ch_info struct can hold them, unique (see :func:`write_channels`)."""
    taken = {n for n in names if _fits(n)}
    out = []
    for n in names:
        if _fits(n):
            out.append(n)
            continue
        latin1 = n.encode("latin-1", "replace").decode("latin-1")
        short, k = latin1[:_NAME_LENGTH], 0
        while short in taken:
            k += 1
            suffix = f"-{k}"
            short = latin1[:_NAME_LENGTH - len(suffix)] + suffix
        taken.add(short)
        out.append(short)
    return out


def _fits(name: str) -> bool:
    """Whether a ch_info struct holds ``name`` as it is (15 Latin-1 characters at most)."""
    return len(name) <= _NAME_LENGTH and all(ord(c) < 256 for c in name)


def write_bads(writer: FifWriter, bads: list[str], disk_names: dict[str, str] | None = None) -> None:
    """The ``FIFFB_MNE_BAD_CHANNELS`` block (names mapped through
    ``disk_names`` from :func:`write_channels`); nothing when ``bads`` is empty."""
    if bads:
        disk_names = disk_names or {}
        with writer.block(Block.MNE_BAD_CHANNELS):
            writer.write_name_list(Kind.MNE_CH_NAME_LIST, [disk_names.get(b, b) for b in bads])


def write_comps(writer: FifWriter, comps: list[CompensationMatrix]) -> None:
    """The ``FIFFB_MNE_CTF_COMP`` block with one data block per matrix, data
    as given (float32); nothing when ``comps`` is empty."""
    if not comps:
        return
    with writer.block(Block.MNE_CTF_COMP):
        for comp in comps:
            data = np.asarray(comp.data, np.float64)
            if data.shape != (len(comp.row_names), len(comp.col_names)):
                raise InputError(
                    f"compensation matrix of kind {comp.kind} has shape {data.shape} but "
                    f"{len(comp.row_names)} row and {len(comp.col_names)} column names"
                )
            with writer.block(Block.MNE_CTF_COMP_DATA):
                writer.write_int(Kind.MNE_CTF_COMP_KIND, comp.kind)
                if comp.calibrated:
                    writer.write_int(Kind.MNE_CTF_COMP_CALIBRATED, 1)
                with writer.block(Block.MNE_NAMED_MATRIX):
                    writer.write_int(Kind.MNE_NROW, data.shape[0])
                    writer.write_int(Kind.MNE_NCOL, data.shape[1])
                    if comp.row_names:
                        writer.write_name_list(Kind.MNE_ROW_NAMES, comp.row_names)
                    if comp.col_names:
                        writer.write_name_list(Kind.MNE_COL_NAMES, comp.col_names)
                    writer.write_matrix(Kind.MNE_CTF_COMP_DATA, data)


def write_dig(writer: FifWriter, dig: list[DigPoint], always_frame: bool = False) -> None:
    """The ``FIFFB_ISOTRAK`` block; ``FIFF_MNE_COORD_FRAME`` is written when
    the points are not in the head frame (or ``always_frame``). Nothing when
    ``dig`` is empty."""
    if not dig:
        return
    frames = {int(d.coord_frame) for d in dig}
    if len(frames) > 1:
        raise InputError(
            f"digitisation points are in several coordinate frames {sorted(frames)}; "
            "a FIF isotrak block holds one frame, transform them first"
        )
    with writer.block(Block.ISOTRAK):
        frame = frames.pop()
        if frame != Frame.HEAD or always_frame:
            writer.write_int(Kind.MNE_COORD_FRAME, frame)
        for d in dig:
            writer.write(Kind.DIG_POINT, Type.DIG_POINT, d)
