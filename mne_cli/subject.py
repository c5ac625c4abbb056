"""Where a subject's files live: ``$SUBJECTS_DIR/<subject>/{surf,bem,mri}`` (SPEC 12).

The MNE-C scripts find their inputs and name their outputs from the subject
alone; these helpers hold those rules so every command applies them alike.
Each failure says what was needed and why.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .errors import InputError


def subjects_dir(why: str, given=None) -> Path:
    """``given``, else ``$SUBJECTS_DIR``, as a path; ``why`` completes "it is needed ..."."""
    value = os.fspath(given) if given is not None else os.environ.get("SUBJECTS_DIR")
    if not value:
        raise InputError(f"SUBJECTS_DIR is not set; it is needed {why}")
    return Path(value)


def subject_name(subject: str | None, why: str) -> str:
    """The subject given (--subject or $SUBJECT), or an error saying it is needed."""
    if not subject:
        raise InputError(f"no subject given (--subject or $SUBJECT); it is needed {why}")
    return subject


def subject_dir(subject: str | None, why: str, root=None) -> Path:
    """``<root or $SUBJECTS_DIR>/<subject>``, which must exist."""
    root = subjects_dir(why, root)
    name = subject_name(subject, why)
    path = root / name
    if not path.is_dir():
        raise InputError(f"subject {name} not found: {path} is not a directory (check "
                         "--subject/$SUBJECT and $SUBJECTS_DIR)")
    return path


def source_space_name(subject: str, spacing: str) -> str:
    """MNE-C's source-space file name: ``<subject>-<spacing>-src.fif`` (spacing 7, ico-4, oct-6)."""
    return f"{subject}-{spacing}-src.fif"


def newest(paths: Iterable[Path]) -> Path | None:
    """The most recently modified of ``paths`` (None when there is none)."""
    existing = [p for p in paths if p.is_file()]
    return max(existing, key=lambda p: p.stat().st_mtime_ns, default=None)


def first_existing(candidates: Iterable[Path]) -> Path | None:
    """The first candidate that is a file (None when none is)."""
    return next((p for p in candidates if p.is_file()), None)


def refuse_overwrite(path: Path, overwrite: bool) -> None:
    """Stop before any work when the output exists and --overwrite was not given,
    or when it could not be written (:func:`mne_cli.atomic.check_output`)."""
    from .atomic import check_output

    if path.exists() and not overwrite:
        raise InputError(f"{path} already exists; give --overwrite to replace it")
    check_output(path)
