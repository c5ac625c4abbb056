"""Built-in coil definitions, coil_def.dat reading/writing and list_coil_def.

The reference is MNE-Python's ``mne/data/coil_def.dat``, written by MNE-C's
``mne_list_coil_def`` 1.14 (105 definitions, 739 data lines).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import mne_cli
from mne_cli.cli.list_coil_def import main
from mne_cli.coil_defs import builtin_coil_defs, default_program_line, format_coil_defs
from mne_cli.errors import InputError, MneCliError
from mne_cli.io.coil_def import (find_coil_def_file, read_coil_defs, select_coil_def,
                                 write_coil_defs)

REPO = Path(__file__).resolve().parents[1]
SHARE_FILE = REPO / "share" / "coil_def.dat"


@pytest.fixture(scope="module")
def mne_file() -> Path:
    """MNE-Python's coil_def.dat (mne is a test-only dependency)."""
    mne = pytest.importorskip("mne")
    return Path(mne.__file__).parent / "data" / "coil_def.dat"


@pytest.fixture(scope="module")
def mne_coils(mne_file):
    """MNE-Python's own parse of its coil_def.dat."""
    from mne.forward._make_forward import _read_coil_def_file

    return _read_coil_def_file(str(mne_file), use_registry=False)


@pytest.fixture(scope="module")
def builtin():
    return builtin_coil_defs()


@pytest.fixture(scope="module")
def builtin_text(builtin) -> str:
    return format_coil_defs(builtin, default_program_line())


def _data_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _round_sig(values: np.ndarray, digits: int) -> np.ndarray:
    """Values rounded as %.{digits}e prints them (after MNE-C's float32 storage)."""
    return np.array([float(f"{v:.{digits}e}") for v in np.float32(values).ravel()]
                    ).reshape(np.shape(values))


# --- (a) the built-in table against MNE-Python's file -----------------------

def test_builtin_ids_and_order_match_mne(builtin, mne_coils):
    """Same 105 (id, accuracy) pairs, in the same order."""
    ours = [(c.coil_id, c.accuracy) for c in builtin]
    theirs = [(int(c["coil_type"]), int(c["accuracy"])) for c in mne_coils]
    assert len(ours) == 105
    assert ours == theirs


def test_builtin_values_match_mne(builtin, mne_coils):
    """Class, description, point count and values agree with MNE's parse."""
    for ref in mne_coils:
        coil_id, acc = int(ref["coil_type"]), int(ref["accuracy"])
        ours = select_coil_def(builtin, coil_id, acc)
        label = f"coil {coil_id} acc {acc}"
        assert ours.coil_class == int(ref["coil_class"]), label
        # MNE-Python's parse keeps the opening quote of the description.
        assert ours.description == ref["desc"].strip('"'), label
        assert ours.points.shape == ref["rmag"].shape, label
        assert ours.weights.dtype == ours.points.dtype == np.float64
        # The file prints points with %10.3e (4 significant digits) and
        # weights with %8.4f, so our exact float64 values may differ from the
        # parsed text by half a unit of the last printed digit: 5e-4 relative
        # for points, 5e-5 absolute for weights. Zeros are printed exactly.
        assert_allclose(ours.points, ref["rmag"], rtol=5e-4, atol=1e-15, err_msg=label)
        assert_allclose(ours.weights, ref["w"], rtol=0, atol=5e-5, err_msg=label)
        # Rounded to the printed precision, they must agree to parse accuracy.
        assert_allclose(_round_sig(ours.points, 3), ref["rmag"], rtol=1e-6, atol=0,
                        err_msg=label)
        assert_allclose(np.round(ours.weights, 4), ref["w"], rtol=1e-6, atol=0,
                        err_msg=label)
        # Directions are unit vectors printed with 3 decimals.
        assert_allclose(ours.directions, ref["cosmag"], rtol=0, atol=5e-4, err_msg=label)
        assert_allclose(np.linalg.norm(ours.directions, axis=1), 1.0, rtol=1e-12)


def test_data_lines_byte_for_byte(builtin_text, mne_file):
    """All 739 non-comment lines equal MNE-Python's file exactly."""
    ours = _data_lines(builtin_text)
    theirs = _data_lines(mne_file.read_text())
    assert len(theirs) == 739
    assert len(ours) == len(theirs)
    mismatches = [(i, a, b) for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    assert mismatches == []


def test_header_is_own_comment_block(builtin_text):
    """The header is comments only and names the producing program."""
    header = builtin_text[:builtin_text.index("\n3   2 ")].splitlines()
    assert all(line.startswith("#") for line in header)
    assert any("Produced with:" in line for line in header)
    assert any(f"list_coil_def (mne_cli) version {mne_cli.__version__}" in line
               for line in header)
    for code in ("magnetometer", "planar gradiometer", "point approximation", "accurate"):
        assert any(code in line for line in header)


@pytest.mark.parametrize("coil_class, check", [
    (1, "magnetometer"), (2, "axial"), (3, "planar")], ids=["mag", "axial", "planar"])
def test_rules_measure_what_the_class_says(builtin, coil_class, check):
    """Weights give unit field (mag), zero common mode (grads), unit gradient (planar)."""
    coils = [c for c in builtin if c.coil_class == coil_class]
    assert coils
    for c in coils:
        w, rr = c.weights, c.points
        label = f"coil {c.coil_id} acc {c.accuracy}"
        if check == "magnetometer":
            assert_allclose(w.sum(), 1.0, rtol=1e-12, err_msg=label)
        elif check == "axial":
            assert_allclose(w.sum(), 0.0, atol=1e-12, err_msg=label)
            assert_allclose(w[w > 0].sum(), 1.0, rtol=1e-12, err_msg=label)
        else:
            assert_allclose(w.sum(), 0.0, atol=1e-9, err_msg=label)
            # A field growing linearly along x reads as its gradient (T/m).
            assert_allclose(w @ rr[:, 0], 1.0, rtol=1e-12, err_msg=label)


# --- (b) the packaged file is the built-in table ----------------------------

def test_share_file_is_current(builtin_text):
    """share/coil_def.dat equals the built-in output (else regenerate it)."""
    assert SHARE_FILE.read_text() == builtin_text, (
        "share/coil_def.dat is stale: regenerate with list_coil_def --out share/coil_def.dat")


# --- (c) read/write round trip ----------------------------------------------

def test_round_trip(tmp_path, builtin, builtin_text):
    """Writing then reading gives the same definitions and the same text."""
    path = tmp_path / "coil_def.dat"
    write_coil_defs(path, builtin_text)
    assert path.read_text() == builtin_text
    back = read_coil_defs(path)
    assert len(back) == len(builtin)
    for ours, read in zip(builtin, back):
        assert (read.coil_class, read.coil_id, read.accuracy, read.description) == (
            ours.coil_class, ours.coil_id, ours.accuracy, ours.description)
        # Printed precision again: 4 significant digits, 4 decimals.
        assert_allclose(read.points, ours.points, rtol=5e-4, atol=1e-15)
        assert_allclose(read.weights, ours.weights, rtol=0, atol=5e-5)
        assert_allclose(read.directions, ours.directions, rtol=0, atol=1e-15)
        assert_allclose([read.size, read.baseline], [ours.size, ours.baseline], rtol=5e-4)
    assert format_coil_defs(back, default_program_line()) == builtin_text


def test_reader_normalises_directions_and_skips_comments(tmp_path):
    """Directions come back unit length; comments and blank lines are skipped."""
    path = tmp_path / "c.dat"
    path.write_text('# a comment\n\n1 2000 0 1 0 0 "Point magnetometer"\n'
                    "# between\n1.0 0 0 0 0 0 2.0\n\n")
    (coil,) = read_coil_defs(path)
    assert_allclose(coil.directions, [[0.0, 0.0, 1.0]])
    assert coil.description == "Point magnetometer"


def test_write_is_atomic(tmp_path, monkeypatch):
    """A failed write leaves the old file and no temporary file behind."""
    path = tmp_path / "coil_def.dat"
    path.write_text("old\n")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(MneCliError, match="No space left"):
        write_coil_defs(path, "new\n")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coil_def.dat"]


# --- (d) malformed files -----------------------------------------------------

GOOD = ('1   2000    0   1  0.000e+00  0.000e+00\t"Point magnetometer"\n'
        "  1.0000  0.000e+00  0.000e+00  0.000e+00  0.000  0.000  1.000\n"
        '2   4002    0   2  1.800e-02  5.000e-02\t"Magnes WH3600 gradiometer"\n'
        "  1.0000  0.000e+00  0.000e+00  0.000e+00  0.000  0.000  1.000\n"
        " -1.0000  0.000e+00  0.000e+00  5.000e-02  0.000  0.000  1.000\n")
GOOD_LINES = GOOD.splitlines(keepends=True)


@pytest.mark.parametrize("text, line, fragment", [
    ("".join(GOOD_LINES[:4]), 4, "ends after 1 of its 2 integration points"),
    (GOOD.replace(" -1.0000", " -1.0x00"), 5, "'-1.0x00' is not a finite number"),
    (GOOD.replace("5.000e-02  0.000", "5.100e-01  0.000"), 5,
     "Unreasonable integration point"),
    (GOOD.replace("0.000e+00  0.000  0.000  1.000\n2", "0.000e+00  0.000  0.000  0.000\n2"),
     2, "Unreasonable normal"),
    (GOOD.replace('"Point magnetometer"', '"Point magnetometer'), 1, "closing quote"),
    (GOOD.replace('"Point magnetometer"', "Point"), 1, "quoted"),
    (GOOD.replace("1   2000    0   1", "1   2000    0   x"), 1, "not an integer"),
    (GOOD.replace("1.000\n2   4002", "1.000 9\n2   4002"), 2, "needs 7 numbers"),
    (GOOD.replace("1   2000    0   1", "1   2000    0   2"), 3,
     "found a coil definition header where integration point 2 of 2"),
    (GOOD.replace("4002    0   2", "4002    0   1"), 5,
     "expected a coil definition header but found an integration point"),
    (GOOD.replace("1   2000    0", "1   2000    5"), 1, "accuracy 5"),
], ids=["truncated", "bad-number", "far-point", "zero-normal", "no-closing-quote",
        "no-quotes", "bad-int", "extra-value", "too-few-points", "too-many-points",
        "bad-accuracy"])
def test_malformed_file_raises_input_error(tmp_path, text, line, fragment):
    """Each defect is one InputError naming the file, the line and the problem."""
    path = tmp_path / "broken_coil_def.dat"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_coil_defs(path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {line}:" in message
    assert fragment in message
    assert "\n" not in message


def test_bad_point_names_definition(tmp_path):
    """Point-level errors name the coil id and accuracy."""
    path = tmp_path / "c.dat"
    path.write_text(GOOD.replace(" -1.0000", " -1.0x00"))
    with pytest.raises(InputError, match=r"id 4002, accuracy 0"):
        read_coil_defs(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.dat"
    with pytest.raises(InputError, match="no such coil definition file"):
        read_coil_defs(path)


def test_select_coil_def(builtin):
    assert select_coil_def(builtin, 3012, 2).points.shape == (8, 3)
    with pytest.raises(InputError, match=r"not found \(type = 1234 acc = 1\)"):
        select_coil_def(builtin, 1234, 1)


# --- (e) locating the file ---------------------------------------------------

def test_find_honours_mne_root(tmp_path, monkeypatch):
    """$MNE_ROOT/share/mne/coil_def.dat wins when it exists."""
    target = tmp_path / "share" / "mne" / "coil_def.dat"
    target.parent.mkdir(parents=True)
    target.write_text(GOOD)
    monkeypatch.setenv("MNE_ROOT", str(tmp_path))
    assert find_coil_def_file() == target


def test_find_falls_back_to_packaged_copy(tmp_path, monkeypatch):
    """Without a usable MNE_ROOT the checkout's share/coil_def.dat is used."""
    monkeypatch.setenv("MNE_ROOT", str(tmp_path))
    assert find_coil_def_file() == SHARE_FILE
    monkeypatch.delenv("MNE_ROOT")
    assert find_coil_def_file() == SHARE_FILE


def test_find_installed_copy_then_error(tmp_path, monkeypatch):
    """Next is the copy inside the installed package; with nothing found the error
    lists the places searched and how to make the file."""
    package = tmp_path / "site" / "mne_cli"
    monkeypatch.setattr(mne_cli, "__file__", str(package / "__init__.py"))
    monkeypatch.setattr("importlib.resources.files", lambda name: package)
    monkeypatch.delenv("MNE_ROOT", raising=False)
    with pytest.raises(InputError) as info:
        find_coil_def_file()
    message = str(info.value)
    assert str(package / "share" / "coil_def.dat") in message
    assert str(tmp_path / "site" / "share" / "coil_def.dat") in message
    assert "list_coil_def --out DIR/share/mne/coil_def.dat" in message
    assert "MNE_ROOT=DIR" in message
    installed = package / "share" / "coil_def.dat"
    installed.parent.mkdir(parents=True)
    installed.write_text(GOOD)
    assert find_coil_def_file() == installed


def test_cli_stdout_is_builtin_text(runner, builtin_text):
    result = runner.invoke(main, [])
    assert result.exit_code == 0, result.output
    assert result.stdout == builtin_text


def test_cli_out_and_in(runner, tmp_path, builtin_text):
    """--out writes the file; --in validates it and lists the same text."""
    out = tmp_path / "coil_def.dat"
    result = runner.invoke(main, ["--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == builtin_text
    result = runner.invoke(main, ["--in", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == builtin_text


def test_cli_type_filter(runner):
    result = runner.invoke(main, ["--type", "3012"])
    assert result.exit_code == 0, result.output
    headers = [line for line in _data_lines(result.stdout) if '"' in line]
    assert [h.split()[:3] for h in headers] == [["3", "3012", str(a)] for a in range(3)]


def test_cli_errors_exit_1(runner, tmp_path):
    """Bad input and unknown ids are one stderr line with status 1."""
    bad = tmp_path / "bad.dat"
    bad.write_text(GOOD.replace(" -1.0000", " -1.0x00"))
    result = runner.invoke(main, ["--in", str(bad)])
    assert result.exit_code == 1
    assert str(bad) in result.stderr
    result = runner.invoke(main, ["--type", "4242"])
    assert result.exit_code == 1
    assert "4242" in result.stderr
