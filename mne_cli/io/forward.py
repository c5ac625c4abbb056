"""Forward-solution files (``-fwd.fif``).

Layout: SPEC section 9.11, as MNE-C's ``write_solution`` (mne_forward_solution)
writes it and MNE-Python's ``read_forward_solution`` reads it::

    350 FIFFB_MNE
      358 ENV                     (optional provenance)
      353 PARENT_MRI_FILE         file name, file id, MRI -> head transform
      354 PARENT_MEAS_FILE        file name, measurement id, device -> head,
                                  NCHAN, CH_INFO x NCHAN, bad channels
      351 SOURCE_SPACE x n        (io.source_space), MRI frame
      352 FORWARD_SOLUTION        one per modality (MEG: methods 1, EEG: 2)
        357 NAMED_MATRIX          the gain matrix, transposed
        357 NAMED_MATRIX          its position derivatives (optional)

Neither MNE-C nor MNE-Python stores compensation (CTF comp) data in the
parent-measurement block of a forward file, so :class:`Forward` has none.

In memory ``ForwardBlock.sol`` is the usual channels x source-components gain
matrix; the file stores its transpose (one row per source component, one
column per channel). Source spaces are kept in the frame of the file (MRI).
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import FifError
from ..fiff import Block, Frame, Kind, Type, fif_writer, open_fif
from ..fiff.constants import ChannelKind, Method, SourceOri
from ..fiff.tree import Node
from ..fiff.write import FifWriter
from ..objects import Forward, ForwardBlock, Transform
from .meas import (
    read_bads,
    read_long_names,
    rename_channels,
    split_name_list,
    write_bads,
    write_channels,
)
from .source_space import read_source_spaces_from, write_source_space_block
from .transform import require_invertible

logger = logging.getLogger(__name__)

_MODALITY = {Method.MEG: ("MEG", ChannelKind.MEG), Method.EEG: ("EEG", ChannelKind.EEG)}


# --- reading ------------------------------------------------------------------

def read_forward(path) -> Forward:
    """Read a forward solution with everything its file carries.

    Checks as MNE-Python's ``read_forward_solution`` does: both parent
    blocks present, an MRI <-> head transform, NROW/NCOL equal to the matrix
    shape, rows = NCHAN and columns = NPOINTS (fixed) or 3 NPOINTS (free),
    MEG and EEG parts that agree, and the in-use source count equal to
    NPOINTS.

    Parameters
    ----------
    path : path-like
        A ``-fwd.fif`` file (``.fif.gz`` accepted).

    Returns
    -------
    Forward
        ``meg`` / ``eeg`` with ``sol`` of shape (nchan, ncomp), ``ncomp`` =
        nsource (fixed) or 3 nsource (free); ``sol_grad`` (nchan, 3 ncomp)
        or None. ``mri_head_t`` is MRI -> head; source spaces as stored.

    Raises
    ------
    FifError
        The file is not a forward solution or is inconsistent.
    """
    fif = open_fif(path)
    name = fif.name
    root = fif.root
    nodes = root.find_blocks(Block.MNE_FORWARD_SOLUTION)
    if not nodes:
        raise FifError(f"{name}: no forward solution found (no block "
                       f"{Block.MNE_FORWARD_SOLUTION}); this is not a forward-solution file")
    parent_mri = _outside_source_spaces(root, Block.MNE_PARENT_MRI_FILE)
    if parent_mri is None:
        raise FifError(f"{name}: no parent MRI information (block {Block.MNE_PARENT_MRI_FILE}); "
                       "the forward-solution file is incomplete")
    parent_meas = _outside_source_spaces(root, Block.MNE_PARENT_MEAS_FILE)
    if parent_meas is None:
        raise FifError(f"{name}: no parent measurement information (block "
                       f"{Block.MNE_PARENT_MEAS_FILE}); the forward-solution file is incomplete")

    by_method: dict[int, Node] = {}
    for node in nodes:
        method = node.read_int(Kind.MNE_INCLUDED_METHODS, None)
        if method is None:
            raise FifError(f"{name}: methods not listed (no tag {Kind.MNE_INCLUDED_METHODS}) "
                           "for one of the forward solutions")
        if method not in _MODALITY:
            logger.warning("%s: ignoring a forward solution with included methods %d",
                           name, method)
            continue
        by_method[method] = node  # the last one wins, as in MNE-Python
    if not by_method:
        raise FifError(f"{name}: holds neither a MEG nor an EEG forward solution")

    parts = {m: _read_block(name, node, m) for m, node in by_method.items()}
    (ori, frame, nsource), *others = [p[1] for p in parts.values()]
    for other in others:
        if other != (ori, frame, nsource):
            raise FifError(f"{name}: the MEG and EEG forward solutions do not match "
                           "(orientation, coordinate frame or number of sources differ)")
    if frame not in (Frame.MRI, Frame.HEAD):
        raise FifError(f"{name}: the forward solution is in coordinate frame {frame}; "
                       "only MRI (5) or head (4) coordinates are acceptable")

    channels, dev_head_t, bads, meas_file, meas_id = _read_parent_meas(name, parent_meas)
    known = {ch.name for ch in channels}
    for method, (block, _) in parts.items():
        if not block.ch_names:  # no COL_NAMES: the channels of this kind, in order
            label, kind = _MODALITY[method]
            block.ch_names = [ch.name for ch in channels if ch.kind == kind]
            if len(block.ch_names) != block.sol.shape[0]:
                raise FifError(f"{name}: the {label} forward solution has no channel names and "
                               f"the parent measurement block lists {len(block.ch_names)} "
                               f"{label} channels for its {block.sol.shape[0]} rows")
        missing = [n for n in block.ch_names if n not in known]
        if missing:
            raise FifError(f"{name}: the {_MODALITY[method][0]} forward solution names channel "
                           f"{missing[0]} that the parent measurement block does not list")

    spaces = read_source_spaces_from(root)
    nuse = sum(s.nuse for s in spaces)
    if nuse != nsource:
        raise FifError(f"{name}: Source spaces do not match the forward solution "
                       f"({nuse} sources in use, NPOINTS = {nsource}).")

    return Forward(
        source_spaces=spaces, coord_frame=frame, source_ori=ori,
        mri_head_t=_read_mri_head_t(name, parent_mri), channels=channels,
        meg=parts[Method.MEG][0] if Method.MEG in parts else None,
        eeg=parts[Method.EEG][0] if Method.EEG in parts else None,
        dev_head_t=dev_head_t, bads=bads, meas_file=meas_file, meas_id=meas_id,
        mri_file=parent_mri.read_string(Kind.MNE_FILE_NAME, None),
        mri_id=parent_mri.first_id(Kind.PARENT_FILE_ID),
    )


def _outside_source_spaces(node: Node, block: int) -> Node | None:
    """First ``block`` below ``node`` (pre-order), not looking inside source
    spaces: a volume source space has a parent-MRI block of its own."""
    for child in node.children:
        if child.block == block:
            return child
        if child.block != Block.MNE_SOURCE_SPACE:
            found = _outside_source_spaces(child, block)
            if found is not None:
                return found
    return None


def _read_mri_head_t(name: str, node: Node) -> Transform:
    """The first COORD_TRANS of the parent-MRI block, as MRI -> head."""
    found = node.read_all(Kind.COORD_TRANS)
    trans = require_invertible(found[0], name).towards(Frame.MRI, Frame.HEAD) if found else None
    if trans is not None:
        return trans
    raise FifError(f"{name}: MRI/head coordinate transformation not found in the parent MRI "
                   "block; the forward-solution file is incomplete")


def _read_parent_meas(name: str, node: Node):
    """Channels (file order), device -> head, bads, file name and id."""
    # file order, as MNE-Python's forward reader (the writer renumbers scanno)
    channels = node.read_all(Kind.CH_INFO)
    nchan = node.read_int(Kind.NCHAN, None)
    if nchan is not None and nchan != len(channels):
        raise FifError(f"{name}: the parent measurement block has NCHAN = {nchan} but "
                       f"{len(channels)} channel descriptions; some of the channel information "
                       "was missing")
    renames = read_long_names(name, node, channels)
    channels = rename_channels(channels, renames)
    dev_head_t = None
    for trans in node.read_all(Kind.COORD_TRANS):
        if (trans.from_frame, trans.to_frame) == (Frame.DEVICE, Frame.HEAD):
            dev_head_t = require_invertible(trans, name)
            break
        logger.debug("%s: ignoring a %d -> %d transform in the parent measurement block",
                     name, trans.from_frame, trans.to_frame)
    known = {ch.name for ch in channels}
    bads = read_bads(node, renames)
    # MNE-Python drops bad channels that are not in the channel list
    bads = [b for b in bads if b in known]
    return (channels, dev_head_t, bads, node.read_string(Kind.MNE_FILE_NAME, None),
            node.first_id(Kind.PARENT_BLOCK_ID, Kind.PARENT_FILE_ID))


def _read_block(name: str, node: Node, method: int):
    """One 352 block: (ForwardBlock, (source_ori, coord_frame, nsource))."""
    label = _MODALITY[method][0]
    what = f"{name}: the {label} forward solution"
    values = {}
    for key, kind in (("ori", Kind.MNE_SOURCE_ORIENTATION), ("frame", Kind.MNE_COORD_FRAME),
                      ("nsource", Kind.MNE_SOURCE_SPACE_NPOINTS), ("nchan", Kind.NCHAN)):
        values[key] = node.read_int(kind, None)
        if values[key] is None:
            raise FifError(f"{what} has no tag {kind}; the file is incomplete")
    ori, nsource, nchan = values["ori"], values["nsource"], values["nchan"]
    if ori not in (SourceOri.FIXED, SourceOri.FREE):
        raise FifError(f"{what} has unknown source orientation {ori} (1 fixed, 2 free)")
    ncomp = nsource if ori == SourceOri.FIXED else 3 * nsource
    sol, names = _read_named_matrix(what, node, Kind.MNE_FORWARD_SOLUTION, required=True)
    if sol.shape != (nchan, ncomp):
        raise FifError(f"{what} matrix is {sol.shape[0]} channels x {sol.shape[1]} components "
                       f"instead of {nchan} x {ncomp} (NCHAN, NPOINTS and orientation); "
                       "the file is corrupt")
    if names and len(names) != nchan:
        raise FifError(f"{what} lists {len(names)} channel names for {nchan} channels")
    grad, grad_names = _read_named_matrix(what, node, Kind.MNE_FORWARD_SOLUTION_GRAD,
                                          required=False)
    if grad is not None:
        if grad.shape != (nchan, 3 * ncomp):
            raise FifError(f"{what} gradient matrix is {grad.shape[0]} x {grad.shape[1]} "
                           f"instead of {nchan} x {3 * ncomp}; the file is corrupt")
        if grad_names and grad_names != names:
            raise FifError(f"{what} gradient matrix names other channels than the solution")
    block = ForwardBlock(method=method, ch_names=names, sol=sol, sol_grad=grad)
    return block, (ori, values["frame"], nsource)


def _read_named_matrix(what: str, node: Node, kind: int, required: bool):
    """The first child NAMED_MATRIX holding ``kind``: (data transposed to
    channels x components, channel names), or (None, None)."""
    matrix = next((c for c in node.children
                   if c.block == Block.MNE_NAMED_MATRIX and c.has(kind)), None)
    if matrix is None:
        if required:
            raise FifError(f"{what} has no matrix (tag {kind}); the file is incomplete")
        return None, None
    data = matrix.read(kind)
    if not isinstance(data, np.ndarray) or data.ndim != 2:
        raise FifError(f"{what}: tag {kind} does not hold a dense 2-D matrix")
    nrow = matrix.read_int(Kind.MNE_NROW, data.shape[0])
    ncol = matrix.read_int(Kind.MNE_NCOL, data.shape[1])
    if (nrow, ncol) != data.shape:
        raise FifError(f"{what}: NROW x NCOL = {nrow} x {ncol} does not match the "
                       f"{data.shape[0]} x {data.shape[1]} matrix of tag {kind}")
    # on disk: rows = source components, columns = channels
    listed = matrix.read_string(Kind.MNE_COL_NAMES, None)
    names = split_name_list(listed)
    return np.asarray(data, np.float64).T, names


# --- writing ------------------------------------------------------------------

def write_forward(path, fwd: Forward, command_line: str | None = None) -> None:
    """Write a forward-solution file (SPEC 9.11).

    Parameters
    ----------
    path : path-like
        Output ``-fwd.fif``; written atomically, uncompressed.
    fwd : Forward
        ``meg.ch_names`` / ``eeg.ch_names`` must be the MEG (kind 1) / EEG
        (kind 2) channels of ``fwd.channels``, in that order. Source spaces
        in the head frame are transformed back to MRI coordinates.
    command_line : str or None
        Adds the provenance ENV block.

    Raises
    ------
    ValueError
        ``fwd`` is inconsistent (a programming error, not a user error).
    """
    mri_head_t = _mri_head(fwd.mri_head_t)
    blocks = [b for b in (fwd.meg, fwd.eeg) if b is not None]
    if not blocks:
        raise ValueError("a forward solution needs a MEG or an EEG part")
    nsource = sum(s.nuse for s in fwd.source_spaces)
    for block, method in ((fwd.meg, Method.MEG), (fwd.eeg, Method.EEG)):
        if block is not None:
            _check_block(fwd, block, method, nsource)
    with fif_writer(path) as w, w.block(Block.MNE):
        if command_line is not None:
            w.write_env(command_line)
        with w.block(Block.MNE_PARENT_MRI_FILE):
            if fwd.mri_file:
                w.write_string(Kind.MNE_FILE_NAME, fwd.mri_file)
            if fwd.mri_id is not None:
                w.write_id(Kind.PARENT_FILE_ID, fwd.mri_id)
            w.write_transform(mri_head_t)
        _write_parent_meas(w, fwd)
        for space in fwd.source_spaces:
            write_source_space_block(w, space.in_frame(Frame.MRI, mri_head_t))
        for block, method in ((fwd.meg, Method.MEG), (fwd.eeg, Method.EEG)):
            if block is not None:
                _write_block(w, fwd, block, method, nsource)
    logger.info("Wrote the forward solution to %s", path)


def _mri_head(trans: Transform) -> Transform:
    oriented = trans.towards(Frame.MRI, Frame.HEAD)
    if oriented is None:
        raise ValueError(f"mri_head_t maps frame {trans.from_frame} to {trans.to_frame}, "
                         "not MRI to head")
    return oriented


def _check_block(fwd: Forward, block: ForwardBlock, method: int, nsource: int) -> None:
    label, kind = _MODALITY[method]
    expected = [ch.name for ch in fwd.channels if ch.kind == kind]
    if list(block.ch_names) != expected:
        raise ValueError(f"the {label} forward solution's channel names are not the {label} "
                         "channels of the channel list, in order")
    if fwd.source_ori not in (SourceOri.FIXED, SourceOri.FREE):
        raise ValueError(f"unknown source orientation {fwd.source_ori}")
    ncomp = nsource if fwd.source_ori == SourceOri.FIXED else 3 * nsource
    if np.shape(block.sol) != (len(expected), ncomp):
        raise ValueError(f"the {label} gain matrix is {np.shape(block.sol)}, expected "
                         f"({len(expected)}, {ncomp}) for {nsource} sources in use")
    if block.sol_grad is not None and np.shape(block.sol_grad) != (len(expected), 3 * ncomp):
        raise ValueError(f"the {label} gradient matrix is {np.shape(block.sol_grad)}, "
                         f"expected ({len(expected)}, {3 * ncomp})")


def _write_parent_meas(w: FifWriter, fwd: Forward) -> None:
    """File name, measurement id, device -> head, the channels, bad channels."""
    with w.block(Block.MNE_PARENT_MEAS_FILE):
        if fwd.meas_file:
            w.write_string(Kind.MNE_FILE_NAME, fwd.meas_file)
        if fwd.meas_id is not None:
            w.write_id(Kind.PARENT_BLOCK_ID, fwd.meas_id)
        if fwd.dev_head_t is not None:
            w.write_transform(fwd.dev_head_t)
        w.write_int(Kind.NCHAN, len(fwd.channels))
        disk_names = write_channels(w, fwd.channels)
        write_bads(w, fwd.bads, disk_names)


def _write_block(w: FifWriter, fwd: Forward, block: ForwardBlock, method: int,
                 nsource: int) -> None:
    """One 352 block; the matrices are stored transposed (components x channels)."""
    with w.block(Block.MNE_FORWARD_SOLUTION):
        w.write_int(Kind.MNE_INCLUDED_METHODS, method)
        w.write_int(Kind.MNE_COORD_FRAME, fwd.coord_frame)
        w.write_int(Kind.MNE_SOURCE_ORIENTATION, fwd.source_ori)
        w.write_int(Kind.MNE_SOURCE_SPACE_NPOINTS, nsource)
        w.write_int(Kind.NCHAN, len(block.ch_names))
        _write_named_matrix(w, Kind.MNE_FORWARD_SOLUTION, block.sol, block.ch_names)
        if block.sol_grad is not None:
            _write_named_matrix(w, Kind.MNE_FORWARD_SOLUTION_GRAD, block.sol_grad,
                                block.ch_names)


def _write_named_matrix(w: FifWriter, kind: int, matrix, ch_names: list[str]) -> None:
    stored = np.asarray(matrix, np.float64).T
    with w.block(Block.MNE_NAMED_MATRIX):
        w.write_int(Kind.MNE_NROW, stored.shape[0])
        w.write_int(Kind.MNE_NCOL, stored.shape[1])
        if len(ch_names):
            w.write_name_list(Kind.MNE_COL_NAMES, list(ch_names))
        w.write_matrix(kind, stored, Type.FLOAT)
