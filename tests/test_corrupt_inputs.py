"""Every reader turns a bad file into one clear sentence naming the file.

Zero-length, truncated, random-byte and wrong-kind inputs must raise an
:class:`~mne_cli.errors.MneCliError` (never an IndexError, a traceback from
numpy or a hang) whose one-line message contains the path.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from mne_cli.errors import MneCliError
from mne_cli.fiff import Block, Kind, fif_writer
from mne_cli.objects import BemSurface

FIF_READERS = [
    "mne_cli.io.bem:read_bem_surfaces",
    "mne_cli.io.bem:read_bem_solution",
    "mne_cli.io.source_space:read_source_spaces",
    "mne_cli.io.forward:read_forward",
    "mne_cli.io.meas:read_meas_info",
    "mne_cli.io.transform:read_trans",
    "mne_cli.io.transform:read_head_mri_transform",
]
TEXT_READERS = [
    "mne_cli.io.coil_def:read_coil_defs",
    "mne_cli.io.surface:read_tri",
    "mne_cli.io.surface:read_freesurfer_surface",
    "mne_cli.io.mri:read_mri_header",
    "mne_cli.io.transform:read_trans_text",
    "mne_cli.io.transform:read_talairach_xfm",
]


def _reader(spec):
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def _bem_file(path):
    """A valid FIF file (a one-triangle-pair BEM) to truncate or misuse."""
    rr = np.array([[0.0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]])
    surf = BemSurface(1, 0.3, rr, np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]), rr)
    from mne_cli.io.bem import write_bem_surfaces

    write_bem_surfaces(path, [surf])
    return path.read_bytes()


def _inputs(tmp_path, fif: bool) -> dict[str, bytes]:
    rng = np.random.default_rng(42)
    variants = {
        "empty": b"",
        "random": rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(),
        "text": b"this is not the file you are looking for\n" * 3,
    }
    if fif:
        good = _bem_file(tmp_path / "good-bem.fif")
        variants["truncated"] = good[: len(good) // 2]
        variants["truncated-header"] = good[:30]
    return variants


def _assert_clear_error(reader, path):
    with pytest.raises(MneCliError) as err:
        reader(path)
    message = str(err.value)
    assert str(path) in message, message
    assert "\n" not in message


@pytest.mark.parametrize("variant", ["empty", "random", "text", "truncated", "truncated-header"])
@pytest.mark.parametrize("spec", FIF_READERS)
def test_fif_readers_reject_bad_files(tmp_path, spec, variant):
    path = tmp_path / f"{variant}.fif"
    path.write_bytes(_inputs(tmp_path, fif=True)[variant])
    _assert_clear_error(_reader(spec), path)


@pytest.mark.parametrize("spec", [s for s in FIF_READERS if "bem" not in s])
def test_fif_readers_reject_wrong_kind(tmp_path, spec):
    """A valid FIF file of another kind (a BEM) is refused with a clear message."""
    path = tmp_path / "other-bem.fif"
    _bem_file(path)
    _assert_clear_error(_reader(spec), path)


def test_bem_readers_reject_wrong_kind(tmp_path):
    path = tmp_path / "nobem.fif"
    with fif_writer(path) as w, w.block(Block.MNE):
        w.write_int(Kind.MNE_COORD_FRAME, 5)
    for spec in FIF_READERS[:2]:
        _assert_clear_error(_reader(spec), path)


@pytest.mark.parametrize("variant", ["empty", "random", "text"])
@pytest.mark.parametrize("spec", TEXT_READERS)
def test_text_readers_reject_bad_files(tmp_path, spec, variant):
    path = tmp_path / f"{variant}.dat"
    path.write_bytes(_inputs(tmp_path, fif=False)[variant])
    _assert_clear_error(_reader(spec), path)


@pytest.mark.parametrize("spec", FIF_READERS + TEXT_READERS)
def test_missing_file(tmp_path, spec):
    _assert_clear_error(_reader(spec), tmp_path / "does-not-exist.fif")
