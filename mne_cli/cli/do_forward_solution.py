"""mne_do_forward_solution: the MNE-C convenience script for forward solutions (SPEC 12).

Finds the source space, BEM and head<->MRI transform of a subject by MNE-C's
search rules, names the output after the measurement, and runs the same core
as forward_solution (no subprocess). The rules are plain functions so they
can be tested one by one.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import click

from ..errors import InputError, OutputError
from ..subject import (
    first_existing,
    newest,
    refuse_overwrite,
    source_space_name,
    subject_dir,
)
from .forward_solution import run_forward
from .options import MM_DISTANCE, common_options, computation_options, tool_command
from .prepare_bem_model import bem_file_candidates
from .runner import command_line

logger = logging.getLogger(__name__)

DEFAULT_SPACING = "7"
_SPACING = re.compile(r"^(\d+(\.\d+)?|(ico|oct)-\d+)$")
_MEAS_SUFFIXES = ("_raw", "-raw", "_ave", "-ave")


def find_source_space(src: str | None, spacing: str, subject: str | None) -> Path:
    """--src as given, else ``./<subject>-<spacing>-src.fif``, then the subject's bem folder."""
    if src is not None:
        candidates = [Path(src)]
        if not Path(src).is_absolute() and not Path(src).is_file():
            candidates.append(subject_dir(subject, f"to find --src {src}") / "bem" / src)
    else:
        if not _SPACING.match(spacing):
            raise click.BadParameter(f"{spacing!r} is not a spacing in mm, ico-<k> or oct-<k>",
                                     param_hint="--spacing")
        home = subject_dir(subject, "to find the source space")
        name = source_space_name(home.name, spacing)
        candidates = [Path(name), home / "bem" / name]
    found = first_existing(candidates)
    if found is None:
        raise InputError(f"source space not found (looked for {', '.join(map(str, candidates))}); "
                         "make it with mne_setup_source_space or give --src")
    return found


def find_bem(bem: str | None, subject: str | None) -> str:
    """A name load_bem accepts: --bem in the current directory or bem/, else the newest BEM."""
    if bem is not None:
        places = [Path(bem)]
        if not Path(bem).is_absolute():
            places.append(subject_dir(subject, f"to find --bem {bem}") / "bem" / bem)
        for place in places:
            names = [p for pair in bem_file_candidates(str(place)) for p in pair]
            if first_existing([place, *map(Path, names)]):
                return str(place)
        raise InputError(f"BEM {bem} not found (looked for <name>, <name>-bem.fif and "
                         f"<name>-bem-sol.fif, also .fif.gz, in "
                         f"{' and '.join(str(p.parent) for p in places)})")
    bem_dir = subject_dir(subject, "to find the newest BEM") / "bem"
    found = (newest([*bem_dir.glob("*-bem-sol.fif"), *bem_dir.glob("*-bem-sol.fif.gz")])
             or newest([*bem_dir.glob("*-bem.fif"), *bem_dir.glob("*-bem.fif.gz")]))
    if found is None:
        raise InputError(f"no BEM model in {bem_dir}; make one with mne_setup_forward_model "
                         "or give --bem")
    logger.info("Using the newest BEM in %s: %s", bem_dir, found.name)
    return str(found)


def find_transform(mri: str | None, trans: str | None, meas: Path,
                   subject: str | None) -> Path:
    """The head<->MRI transform file, by MNE-C's search order (FIF or text)."""
    if mri is not None:
        candidates = list(dict.fromkeys([Path(mri), meas.parent / mri]))  # once each
        sets = _neuromag_sets(subject)
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
    sets = _neuromag_sets(subject)
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


def _neuromag_sets(subject: str | None) -> Path | None:
    """The subject's mri/T1-neuromag/sets (MRI description files), if the subject is known."""
    try:
        return subject_dir(subject, "") / "mri" / "T1-neuromag" / "sets"
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


@tool_command("mne_do_forward_solution")
@click.option("--subject", envvar="SUBJECT", metavar="NAME", help="Subject name (default: $SUBJECT).")
@click.option("--meas", "meas_file", type=click.Path(dir_okay=False), required=True,
              help="Measurement file: MEG/EEG sensors and the device->head transform.")
@click.option("--spacing", default=DEFAULT_SPACING, show_default=True, metavar="SPACING",
              help="Source space <subject>-<spacing>-src.fif to use: mm, ico-<k> or oct-<k>.")
@click.option("--src", "src_file", metavar="FILE", help="Source-space file (overrides --spacing); looked up "
                                        "in the current directory, then bem/.")
@click.option("--bem", metavar="NAME|FILE", help="BEM: <name>, <name>-bem.fif or <name>-bem-sol.fif, looked up in "
                            "the current directory, then bem/ (default: the newest in bem/).")
@click.option("--mri", "mri_file", metavar="FILE", help="FIF file with the head<->MRI transform, looked up as "
                                        "given, next to --meas, then in mri/T1-neuromag/sets.")
@click.option("--trans", "trans_file", metavar="FILE",
              help="head->MRI transform: a text file with the 4x4 matrix (mm), or a "
                   "-trans.fif file.")
@click.option("--fwd", "fwd_file", metavar="FILE", help="Output file name (default <meas stem>-<meg|eeg|meg-"
                                        "eeg>-<spacing>-fwd.fif).")
@click.option("--destdir", type=click.Path(file_okay=False), metavar="DIR",
              help="Directory for the output (default: that of --meas); made if missing.")
@click.option("--mindist", type=MM_DISTANCE, default="0", show_default=True,
              help="Drop sources closer than this to the inner skull, mm.")
@click.option("--megonly", is_flag=True, help="MEG only (no EEG).")
@click.option("--eegonly", is_flag=True, help="EEG only (no MEG).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@computation_options
@common_options
def main(subject, meas_file, spacing, src_file, bem, mri_file, trans_file, fwd_file, destdir,
         mindist, megonly, eegonly, fixed, grad, accurate, all_, mricoord, allow_inside,
         overwrite):
    """Compute a forward solution with MNE-C's file naming (convenience script).

    Only --meas is required when the subject's files follow the standard
    layout: the source space is <subject>-<spacing>-src.fif (current
    directory, then $SUBJECTS_DIR/<subject>/bem), the BEM is the newest in
    bem/, and the transform is <meas stem>-trans.fif, the newest -trans.fif
    next to the measurement or the newest mri/T1-neuromag/sets/COR-* file.
    The output goes next to the measurement (or to --destdir) as
    <meas stem>-<meg|eeg|meg-eeg>-<spacing>-fwd.fif; an existing output is
    kept unless --overwrite is given.

    \b
    Example:
      export SUBJECTS_DIR=/data/subjects SUBJECT=sample
      mne_do_forward_solution --mindist 5 --spacing oct-6 --bem sample-5120 \\
          --meas sample_audvis_raw.fif --megonly
    """
    from ..fiff.constants import ChannelKind, Frame
    from ..io.meas import read_meas_info
    from ..io.transform import read_head_mri_transform_any

    ctx = click.get_current_context()
    if megonly and eegonly:
        raise click.UsageError("--megonly and --eegonly exclude each other")
    meas = Path(meas_file)
    if not meas.is_file():
        raise InputError(f"{meas}: no such measurement file")
    src = find_source_space(src_file, spacing, subject)
    bem_name = find_bem(bem, subject)
    trans_path = find_transform(mri_file, trans_file, meas, subject)
    mri_head_t = read_head_mri_transform_any(trans_path).towards(Frame.MRI, Frame.HEAD)

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
    run_forward(src_file=str(src), meas_file=str(meas), fwd_file=str(fwd),
                mri_head_t=mri_head_t, trans_name=str(trans_path), bem=bem_name, meg=meg,
                eeg=eeg, accurate=accurate, fixed=fixed, all_=all_, mindist=mindist,
                mricoord=mricoord, grad=grad, allow_inside=allow_inside,
                modalities_given=megonly or eegonly, command=command_line(ctx))
