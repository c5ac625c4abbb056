"""Triangulated surfaces from FreeSurfer binary files and ASCII ``.tri`` files.

Coordinates become metres here; triangles are 0-based in memory.
FreeSurfer files go through nibabel (SPEC section 3.1); the ``.tri`` format
(SPEC section 3.2) has its own small reader and writer.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from ..units import MM_PER_M


def read_freesurfer_surface(path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (n, 3) in metres and triangles (t, 3), 0-based.

    Triangle (tri) and quad FreeSurfer files are accepted; quads are split
    into two triangles by nibabel.
    """
    import nibabel.freesurfer

    name = os.fspath(path)
    try:
        rr, tris = nibabel.freesurfer.read_geometry(name)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except UnicodeDecodeError:
        # nibabel decodes the "created by" line as UTF-8; that line is only
        # metadata, so a file with other bytes in it is read here without it.
        rr, tris = _read_triangle_file(name)
    except (ValueError, OSError, EOFError, IndexError) as err:
        raise InputError(f"{name}: not a readable FreeSurfer surface file ({err})") from None
    rr = np.asarray(rr, np.float64) / MM_PER_M
    tris = np.asarray(tris, np.int64)
    _check_triangles(name, tris, len(rr))
    return rr, tris


#: First bytes of a FreeSurfer triangle file (``.surf``): magic 0xFFFFFE.
TRIANGLE_MAGIC = b"\xff\xff\xfe"


def _read_triangle_file(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A FreeSurfer triangle file (SPEC section 3.1) read as nibabel reads it, but
    with its two header lines skipped as bytes: vertices in mm, 0-based triangles."""
    try:
        with open(name, "rb") as fid:
            data = fid.read()
        if data[:3] != TRIANGLE_MAGIC:
            raise ValueError("not a triangle file")
        pos = data.index(b"\n", data.index(b"\n", 3) + 1) + 1  # "created by ...\n\n"
        nvert, ntri = (int(n) for n in np.frombuffer(data, ">i4", 2, pos))
        if nvert < 0 or ntri < 0:
            raise ValueError(f"negative counts {nvert}, {ntri}")
        rr = np.frombuffer(data, ">f4", 3 * nvert, pos + 8)
        tris = np.frombuffer(data, ">i4", 3 * ntri, pos + 8 + 12 * nvert)
    except OSError as err:
        raise InputError(f"{name}: cannot be read ({err.strerror})") from None
    except ValueError as err:
        raise InputError(f"{name}: not a readable FreeSurfer surface file ({err})") from None
    return rr.reshape(-1, 3).astype(np.float64), tris.reshape(-1, 3)


def write_freesurfer_surface(path, rr: np.ndarray, tris: np.ndarray) -> None:
    """Write a FreeSurfer triangle file; ``rr`` in metres.

    The header line is fixed (nibabel's default names the user and the date),
    so the same surface always gives the same bytes.
    """
    import nibabel.freesurfer

    nibabel.freesurfer.write_geometry(os.fspath(path), np.asarray(rr) * MM_PER_M,
                                      np.asarray(tris, np.int32),
                                      create_stamp="created by mne_cli")


def read_tri(path, meters: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Read an ASCII ``.tri`` surface.

    Parameters
    ----------
    path : path-like
    meters : bool
        Coordinates in the file are metres (``--meters``); else millimetres.

    Returns
    -------
    rr : ndarray, shape (n, 3)
        Vertices in metres. Any normals in the file are ignored.
    tris : ndarray, shape (t, 3)
        Triangles, 0-based, in file order (not swapped).
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="latin-1") as fid:
            rows = [line.split() for line in fid if line.strip()]
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as err:
        raise InputError(f"{name}: cannot be read ({err.strerror})") from None
    try:
        nvert = _count(rows, 0)
        verts = _numbers(rows[1:1 + nvert], (3, 4, 6, 7), float)
        rr = verts[:, 1:4] if verts.shape[1] in (4, 7) else verts[:, :3]
        ntri = _count(rows, 1 + nvert)
        tri_rows = _numbers(rows[2 + nvert:2 + nvert + ntri], (3, 4), int)
        if len(rr) != nvert or len(tri_rows) != ntri:
            raise ValueError("the file ends early")
    except (ValueError, IndexError) as err:
        raise InputError(f"{name}: not a valid .tri surface file ({err})") from None
    tris = tri_rows[:, -3:] - 1
    _check_triangles(name, tris, nvert)
    scale = 1.0 if meters else 1.0 / MM_PER_M
    return rr * scale, tris


def write_tri(path, rr: np.ndarray, tris: np.ndarray) -> None:
    """Write a ``.tri`` file: numbered vertices in mm, 1-based triangles."""
    with open(os.fspath(path), "w") as fid:
        fid.write(f"{len(rr)}\n")
        for k, r in enumerate(np.asarray(rr) * MM_PER_M, start=1):
            fid.write(f"{k} {r[0]:.6f} {r[1]:.6f} {r[2]:.6f}\n")
        fid.write(f"{len(tris)}\n")
        for k, t in enumerate(np.asarray(tris) + 1, start=1):
            fid.write(f"{k} {t[0]} {t[1]} {t[2]}\n")


def _count(rows, index) -> int:
    if index >= len(rows):
        raise ValueError("the file ends early")
    if len(rows[index]) != 1:
        raise ValueError(f"expected a count on its own line at data line {index + 1}")
    count = int(rows[index][0])
    if count < 0:
        raise ValueError(f"negative count {count}")
    return count


def _numbers(rows, widths, kind) -> np.ndarray:
    if not rows:
        return np.zeros((0, widths[0]), kind)
    width = len(rows[0])
    if width not in widths or any(len(r) != width for r in rows):
        raise ValueError(f"lines must have {' or '.join(map(str, widths))} numbers each")
    return np.array(rows, dtype=float).astype(kind)


def _check_triangles(name: str, tris: np.ndarray, nvert: int) -> None:
    if len(tris) and (tris.min() < 0 or tris.max() >= nvert):
        raise InputError(f"{name}: triangles refer to vertices outside 1..{nvert}")
