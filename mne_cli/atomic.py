"""Atomic output files: nothing appears at the target until it is complete.

The data go to a temporary file in the target's own directory (so the final
rename stays on one file system); ``os.replace`` moves it over the target only
after the caller's block finished without error. On any failure the
temporary file is removed and an earlier file at the target is untouched.
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
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp",
                                   dir=os.path.dirname(target))
    except OSError as err:
        raise OutputError(f"{path}: cannot write the output file ({err.strerror})") from None
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fid:
            yield fid
        # mkstemp creates the file 0600; give it the permissions of any new file.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
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
