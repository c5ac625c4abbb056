"""Atomic output files: nothing appears at the target until it is complete.

The data go to a temporary file in the target's own directory (so the final
rename stays on one file system); ``os.replace`` moves it over the target only
after the caller's block finished without error. On any failure the
temporary file is removed and an earlier file at the target is untouched.
(Pattern of pooch's ``temporary_file`` + ``os.replace``; STYLE rule 6.)

Outputs that belong together (a BEM model and its solution) are made with
``staged_output``: one of them is written under a temporary name and moved
into place only when the other has been written too.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

from .errors import OutputError


@contextlib.contextmanager
def atomic_output(path, mode: str = "wb", **open_kwargs):
    """``with atomic_output(p) as fid:`` yields an open temporary file."""
    target = os.path.abspath(os.fspath(path))
    fd, tmp = _temporary(path, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
    with _replacing(path, tmp), os.fdopen(fd, mode, **open_kwargs) as fid:
        yield fid


@contextlib.contextmanager
def staged_output(path):
    """``with staged_output(p) as tmp:`` yields a temporary path beside ``p``.

    For writers that take a path (and write it atomically themselves): ``tmp``
    is moved over ``p`` when the block finishes without error and removed
    otherwise, so whatever else the block writes first appears before ``p``
    does, and a failure anywhere in the block leaves ``p`` untouched. The
    temporary name ends with ``p``'s own name, so rules that go by the name
    (``.gz`` compression) apply to it alike.
    """
    fd, tmp = _temporary(path, prefix=".", suffix="-" + os.path.basename(os.fspath(path)))
    os.close(fd)
    with _replacing(path, tmp):
        yield tmp


def check_output(path, option: str = "", inputs=()) -> None:
    """Refuse, before any work, an output that could not be written at the end.

    The output's folder must exist and take a new file (probed by creating
    and removing a temporary file there, so read-only mounts, permissions and
    quotas all count, for root too), the output must not be a folder, and it
    must not be one of ``inputs`` (paths or None): writing it would destroy
    the recording or surface it is computed from. ``option`` names the
    command-line option (``--fwd``) for the message.

    Raises
    ------
    OutputError
        Naming the output and its folder.
    """
    target = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(target)
    given = f"{option} {path}" if option else f"{path}"
    if os.path.isdir(target):
        raise OutputError(f"{given}: is a folder; give the name of the output file")
    for source in inputs:
        if source is not None and same_file(target, source):
            raise OutputError(f"{given}: this is also an input ({source}); writing it would "
                              "replace the input: choose another output file")
    if not os.path.isdir(folder):
        raise OutputError(f"{given}: the output folder {folder} does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=".mne_cli-probe.", dir=folder)
    except OSError as err:
        raise OutputError(f"{given}: cannot write in the output folder {folder} "
                          f"({err.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def same_file(target: str, source) -> bool:
    """Whether ``target`` and ``source`` name the same file (path, link or hard link)."""
    source = os.path.abspath(os.fspath(source))
    if os.path.realpath(target) == os.path.realpath(source):
        return True
    try:
        return os.path.samefile(target, source)
    except OSError:
        return False


def _temporary(path, prefix: str, suffix: str) -> tuple[int, str]:
    """A new file beside ``path`` (same file system, so the rename is atomic)."""
    try:
        return tempfile.mkstemp(prefix=prefix, suffix=suffix,
                                dir=os.path.dirname(os.path.abspath(os.fspath(path))))
    except OSError as err:
        raise OutputError(f"{path}: cannot write the output file ({err.strerror})") from None


@contextlib.contextmanager
def _replacing(path, tmp: str):
    """Move ``tmp`` over ``path`` after the block; remove it if anything fails."""
    try:
        yield
        # mkstemp creates the file 0600; give it the permissions of any new file.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, os.path.abspath(os.fspath(path)))
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError) and not isinstance(err, FileNotFoundError):
            raise OutputError(f"{path}: cannot write the output file ({err.strerror})") from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
