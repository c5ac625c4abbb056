"""A subject's forward solution by MNE-C's search rules: mne_do_forward_solution's job (SPEC 12).

Finds the source space, BEM and head<->MRI transform of a subject by MNE-C's
search rules, names the output after the measurement, and computes it with
:func:`mne_cli.forward.make.make_forward_solution`. The rules are plain
functions so they can be tested one by one.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ..errors import InputError, OutputError, UsageError
from ..io.bem import bem_file_candidates
from ..progress import SILENT, Progress
from ..subject import (
    first_existing,
    newest,
    refuse_overwrite,
    source_space_name,
    subject_dir,
)

logger = logging.getLogger(__name__)

DEFAULT_SPACING = "7"
_SPACING = re.compile(r"^(\d+(\.\d+)?|(ico|oct)-\d+)$")
_MEAS_SUFFIXES = ("_raw", "-raw", "_ave", "-ave")


def find_source_space(src: str | None, spacing: str, subject: str | None,
                      root=None) -> Path:
    """--src as given, else ``./<subject>-<spacing>-src.fif``, then the subject's bem folder."""
    if src is not None:
        candidates = [Path(src)]
        if not Path(src).is_absolute() and not Path(src).is_file():
            candidates.append(subject_dir(subject, f"to find --src {src}", root) / "bem" / src)
    else:
        if not _SPACING.match(spacing):
            raise UsageError(f"{spacing!r} is not a spacing in mm, ico-<k> or oct-<k>",
                             option="--spacing")
        home = subject_dir(subject, "to find the source space", root)
        name = source_space_name(home.name, spacing)
        candidates = [Path(name), home / "bem" / name]
    found = first_existing(candidates)
    if found is None:
        raise InputError(f"source space not found (looked for {', '.join(map(str, candidates))}); "
                         "make it with mne_setup_source_space or give --src")
    return found


def find_bem(bem: str | None, subject: str | None, root=None) -> str:
    """A name load_bem accepts: --bem in the current directory or bem/, else the newest BEM."""
    if bem is not None:
        places = [Path(bem)]
        if not Path(bem).is_absolute():
            places.append(subject_dir(subject, f"to find --bem {bem}", root) / "bem" / bem)
        for place in places:
            names = [p for pair in bem_file_candidates(str(place)) for p in pair]
            if first_existing([place, *map(Path, names)]):
                return str(place)
        raise InputError(f"BEM {bem} not found (looked for <name>, <name>-bem.fif and "
                         f"<name>-bem-sol.fif, also .fif.gz, in "
                         f"{' and '.join(str(p.parent) for p in places)})")
    bem_dir = subject_dir(subject, "to find the newest BEM", root) / "bem"
    found = (newest([*bem_dir.glob("*-bem-sol.fif"), *bem_dir.glob("*-bem-sol.fif.gz")])
             or newest([*bem_dir.glob("*-bem.fif"), *bem_dir.glob("*-bem.fif.gz")]))
    if found is None:
        raise InputError(f"no BEM model in {bem_dir}; make one with mne_setup_forward_model "
                         "or give --bem")
    logger.info("Using the newest BEM in %s: %s", bem_dir, found.name)
    return str(found)


def find_transform(mri: str | None, trans: str | None, meas: Path,
                   subject: str | None, root=None) -> Path:
    """The head<->MRI transform file, by MNE-C's search order (FIF or text)."""
    if mri is not None:
        candidates = list(dict.fromkeys([Path(mri), meas.parent / mri]))  # once each
        sets = _neuromag_sets(subject, root)
        if sets is not None and not Path(mri).is_absolute():
            candidates.append(sets / mri)
        found = first_existing(candidates)
        if found is None:
            raise InputError(f"--mri {mri} not found (looked in {', '.join(map(str, candidates))})")
        return found
    if trans is not None:
        path = Path(trans)
        if not path.is_file():
            raise InputError(f"--trans {trans}: no such file")
        return path
    searched = [meas.with_name(_strip_fif(meas.name) + "-trans.fif")]
    found = first_existing(searched)
    if found is not None:
        logger.info("Using the head<->MRI transform in %s", found)
        return found
    # A guess: said even with --quiet, since a wrong transform gives a wrong
    # forward solution without any other sign.
    sets = _neuromag_sets(subject, root)
    for pattern, folder in (("*-trans.fif", meas.parent), ("COR-*", sets)):
        files = sorted(c for c in folder.glob(pattern) if c.is_file()) if folder else []
        found = newest(files)
        if found is None:
            searched.append(folder / pattern if folder is not None else pattern)
            continue
        choice = (f"the newest of {len(files)} {pattern} files in {folder}; give --mri to "
                  "choose another" if len(files) > 1 else f"the only {pattern} file in {folder}")
        logger.warning("No --mri or --trans given: guessed the head<->MRI transform %s (%s)",
                       found, choice)
        return found
    raise InputError("no head<->MRI transform found (looked for "
                     f"{', '.join(map(str, searched))}); give --mri or --trans")


def _neuromag_sets(subject: str | None, root=None) -> Path | None:
    """The subject's mri/T1-neuromag/sets (MRI description files), if the subject is known."""
    try:
        return subject_dir(subject, "", root) / "mri" / "T1-neuromag" / "sets"
    except InputError:
        return None  # no subject: the transform can only be next to the measurement


def _make_destdir(folder: Path) -> None:
    """--destdir is made with its parents when missing, as MNE-C's script did (mkdir -p)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"--destdir {folder}: cannot make the folder ({err.strerror})") \
            from None


def default_forward_name(meas: Path, meg: bool, eeg: bool, spacing: str) -> str:
    """``<meas stem>-<meg|eeg|meg-eeg>-<spacing>-fwd.fif``, e.g. sample_audvis-meg-oct-6-fwd.fif."""
    stem = _strip_fif(meas.name)
    for suffix in _MEAS_SUFFIXES:
        stem = stem.removesuffix(suffix)
    modality = "-".join(m for m, on in (("meg", meg), ("eeg", eeg)) if on)
    return f"{stem}-{modality}-{spacing}-fwd.fif"


def spacing_of(src: Path, subject: str | None) -> str:
    """The <spacing> part of a source-space name (sample-oct-6-src.fif -> oct-6)."""
    stem = _strip_fif(src.name)
    for suffix in ("-src", "_src"):
        stem = stem.removesuffix(suffix)
    if subject and stem.startswith(subject + "-"):
        stem = stem[len(subject) + 1:]
    return stem


def _strip_fif(name: str) -> str:
    for suffix in (".fif.gz", ".fif"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def do_forward_solution(meas, subject: str | None = None, *, spacing: str = DEFAULT_SPACING,
                        src=None, bem=None, mri=None, trans=None, fname=None, destdir=None,
                        mindist: float = 0.0, meg_only: bool = False, eeg_only: bool = False,
                        fixed: bool = False, grad: bool = False, accurate: bool = False,
                        all_sources: bool = False, mricoord: bool = False,
                        allow_inside: bool = False, overwrite: bool = False,
                        subjects_dir=None, progress: Progress = SILENT,
                        command_line: str | None = None):
    """Find a subject's files, compute and write its forward solution (mne_do_forward_solution).

    Parameters
    ----------
    meas : str or path-like
        The measurement file; the output goes beside it (or to ``destdir``).
    subject : str, optional
        The subject whose bem/ and mri/ folders are searched
        (``$SUBJECTS_DIR/<subject>``).
    spacing : str
        Source space ``<subject>-<spacing>-src.fif``: mm ("7"), "ico-4", "oct-6".
    src, bem, mri, trans : str, optional
        Override the search: source space, BEM name or file, FIF transform
        (looked up as given, next to ``meas``, then in
        mri/T1-neuromag/sets), transform file (FIF or text).
    fname, destdir : str, optional
        Output name (default ``<meas stem>-<meg|eeg|meg-eeg>-<spacing>-fwd.fif``)
        and folder (default that of ``meas``; made when missing).
    mindist : float
        Drop sources closer than this to the inner skull (m).
    meg_only, eeg_only, fixed, grad, accurate, all_sources, mricoord, allow_inside : bool
        As :func:`~mne_cli.forward.make.make_forward_solution`.
    overwrite : bool
        Replace an existing output (else it is an error).
    subjects_dir : str or path-like, optional
        Default ``$SUBJECTS_DIR``.
    progress, command_line
        Progress of the long stages; provenance of the written file.

    Returns
    -------
    Forward
        The forward solution, also written to the output file.

    Raises
    ------
    InputError, OutputError, UsageError
        A file not found by the rules (naming where it was looked for), an
        existing output, contradicting choices.
    """
    from .make import make_forward_solution

    megonly, eegonly, src_file, mri_file, trans_file, fwd_file = (
        meg_only, eeg_only, src, mri, trans, fname)
    if megonly and eegonly:
        raise UsageError("--megonly and --eegonly exclude each other")
    from ..fiff.constants import ChannelKind
    from ..io.meas import read_meas_info
    from ..io.transform import read_head_mri_transform_any

    meas = Path(meas)
    if not meas.is_file():
        raise InputError(f"{meas}: no such measurement file")
    src = find_source_space(src_file, spacing, subject, subjects_dir)
    bem_name = find_bem(bem, subject, subjects_dir)
    trans_path = find_transform(mri_file, trans_file, meas, subject, subjects_dir)
    read_head_mri_transform_any(trans_path)   # unreadable: said before the channels are read

    kinds = {ch.kind for ch in read_meas_info(meas).channels}
    meg = ChannelKind.MEG in kinds and not eegonly
    eeg = ChannelKind.EEG in kinds and not megonly
    if not meg and not eeg:
        wanted = "MEG" if megonly else "EEG" if eegonly else "MEG or EEG"
        raise InputError(f"{meas} has no {wanted} channels to compute")
    out_dir = Path(destdir) if destdir else None
    if fwd_file is None:
        name = default_forward_name(meas, meg, eeg, spacing_of(src, subject) if src_file
                                    else spacing)
        fwd = (out_dir or meas.parent) / name
    else:
        fwd = out_dir / fwd_file if out_dir and not Path(fwd_file).is_absolute() \
            else Path(fwd_file)
    if out_dir is not None and fwd.parent == out_dir:
        _make_destdir(out_dir)
    refuse_overwrite(fwd, overwrite)
    logger.info("Source space %s, BEM %s, transform %s -> %s", src, bem_name, trans_path, fwd)
    return make_forward_solution(str(src), str(meas), str(trans_path), bem=bem_name, meg=meg,
                                 eeg=eeg, accurate=accurate, fixed=fixed,
                                 all_sources=all_sources, mindist=mindist, mricoord=mricoord,
                                 grad=grad, allow_inside=allow_inside,
                                 modalities_given=megonly or eegonly, fname=str(fwd),
                                 progress=progress, command_line=command_line)
