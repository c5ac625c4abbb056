"""Folders, subjects and files named with any letters (Cyrillic, CJK, spaces).

FIF strings are ISO 8859-1 (SPEC 15.1); the file names, working directory
and command line every command records are written so that MNE-Python's
reader gives them back as they were (``fiff.tag.encode_string``). The whole
chain runs once on a copy of the bundled demo subject (share/demo) placed
in such folders, with such a subject name and working directory; every
output is read back with MNE-Python and with mne_cli, and the stored names
are compared. Also here: the string rule itself against MNE-Python's writer
and reader, files that MNE-Python wrote with such names, channel names
outside Latin-1, and mne_setup_forward_model leaving nothing behind when
it fails.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mne_cli.cli import (
    average_forward_solutions,
    do_forward_solution,
    forward_solution,
    make_source_space,
    prepare_bem_model,
    setup_forward_model,
    setup_source_space,
    surf2bem,
    volume_source_space,
)
from mne_cli.errors import GeometryError, InputError
from mne_cli.fiff import Block, Kind, fif_writer, open_fif
from mne_cli.fiff.constants import ChannelKind
from mne_cli.fiff.tag import decode_string, encode_string
from mne_cli.io.bem import read_bem_solution, read_bem_surfaces
from mne_cli.io.forward import read_forward
from mne_cli.io.meas import read_meas_info, write_meas_info
from mne_cli.io.source_space import read_source_spaces
from mne_cli.io.surface import read_freesurfer_surface

from .conftest import REPO, invoke_ok

mne = pytest.importorskip("mne")

DEMO = REPO / "share" / "demo"
SUBJECT = "被験者 01"             # CJK and a space
TOP = "données данные 数据"       # Latin-1, Cyrillic and CJK letters
WORK = "работа 作業"
BEM = "модель 模型"               # model name: <BEM>-bem.fif, <BEM>-bem-sol.fif
SRC = "кора 皮質-src.fif"
VOL = "объём 体積-src.fif"
RUNS = ("прогон 1_raw.fif", "прогон 2_raw.fif")
TRANS = "прогон 1_raw-trans.fif"  # found by mne_do_forward_solution beside run 1
FWD = ("прогон 1-fwd.fif", "прогон 2-fwd.fif")
VOL_FWD = "объём 1-fwd.fif"
AVG = "среднее 平均-fwd.fif"


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """Every command, run once from a working directory named with Cyrillic
    and CJK letters, on the demo subject copied to such a subject folder.
    Returns the folders; the cwd is restored afterwards."""
    top = tmp_path_factory.mktemp("unicode") / TOP
    subjects = top / "субъекты 被験者"
    shutil.copytree(DEMO / "subjects" / "demo", subjects / SUBJECT)
    work = top / WORK
    work.mkdir()
    for source, name in zip(("demo_run1_raw.fif", "demo_run2_raw.fif"), RUNS):
        shutil.copy(DEMO / source, work / name)
    shutil.copy(DEMO / "demo-trans.fif", work / TRANS)
    bem_dir = subjects / SUBJECT / "bem"
    runner = CliRunner(env={"SUBJECTS_DIR": str(subjects), "SUBJECT": SUBJECT})
    # Small grades keep the whole chain near 2 s: ico-2 shells (162
    # vertices), 2 x 162 cortical sources, a 20 mm grid.
    layers = [("outer_skin", 4, 0.3), ("outer_skull", 3, 0.006), ("inner_skull", 1, 0.3)]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        surf_args = []
        for name, surf_id, sigma in layers:
            surf_args += ["--surf", bem_dir / f"{name}.surf", "--id", surf_id,
                          "--sigma", sigma, "--ico", 2]
        invoke_ok(runner, surf2bem.main, [*surf_args, "--check", "--fif", f"{BEM}-bem.fif"])
        invoke_ok(runner, prepare_bem_model.main, ["--bem", f"{BEM}-bem.fif"])
        invoke_ok(runner, make_source_space.main, ["--ico", 2, "--src", SRC])
        invoke_ok(runner, volume_source_space.main,
                  ["--bem", f"{BEM}-bem.fif", "--grid", 20, "--src", VOL])
        common = ["--mri", TRANS, "--bem", f"{BEM}-bem-sol.fif", "--meg", "--eeg",
                  "--mindist", 5]
        for run, fwd in zip(RUNS, FWD):
            invoke_ok(runner, forward_solution.main,
                      ["--src", SRC, "--meas", run, *common, "--fwd", fwd])
        invoke_ok(runner, forward_solution.main,
                  ["--src", VOL, "--meas", RUNS[0], *common, "--fwd", VOL_FWD])
        invoke_ok(runner, average_forward_solutions.main,
                  ["--fwd", f"{FWD[0]}:2", "--fwd", f"{FWD[1]}:1", "--out", AVG])
        invoke_ok(runner, setup_source_space.main, ["--ico", 2])
        invoke_ok(runner, setup_forward_model.main, ["--surf", "--ico", 2, "--homog"])
        invoke_ok(runner, do_forward_solution.main,
                  ["--meas", RUNS[0], "--spacing", "ico-2", "--megonly", "--mindist", 5])
    return {"work": work, "bem": bem_dir, "subjects": subjects}


def _env(path) -> tuple[str, str]:
    """(working directory, command line) of the file's ENV block, as mne_cli reads them."""
    env = open_fif(path).root.find_blocks(Block.MNE_ENV)[0]
    return env.read_string(Kind.MNE_ENV_WORKING_DIR), env.read_string(Kind.MNE_ENV_COMMAND_LINE)


# --- the chain ---------------------------------------------------------------

@pytest.mark.parametrize("folder, name, command, nspaces", [
    ("work", SRC, f"make_source_space --ico 2 --src '{SRC}' --quiet", 2),
    ("work", VOL, f"volume_source_space --bem '{BEM}-bem.fif' --grid 20 --src '{VOL}' --quiet", 1),
    ("bem", f"{SUBJECT}-ico-2-src.fif", "mne_setup_source_space --ico 2 --quiet", 2),
], ids=["make_source_space", "volume_source_space", "mne_setup_source_space"])
def test_source_spaces_read_back(chain, folder, name, command, nspaces):
    """MNE-Python and mne_cli read the source space, its subject name, working
    directory and command line exactly as given."""
    path = chain[folder] / name
    src = mne.read_source_spaces(path, verbose=False)
    ours = read_source_spaces(path)
    assert len(src) == len(ours) == nspaces
    for theirs, mine in zip(src, ours):
        assert theirs["nuse"] == mine.nuse > 0
        np.testing.assert_array_equal(theirs["vertno"], np.flatnonzero(mine.inuse))
    assert src.info["working_dir"] == str(chain["work"])
    assert src.info["command_line"] == command
    assert _env(path) == (str(chain["work"]), command)
    if nspaces == 2:  # surface source spaces record the subject
        assert [s["subject_his_id"] for s in src] == [SUBJECT] * 2
        assert [s.subject for s in ours] == [SUBJECT] * 2


@pytest.mark.parametrize("folder, name, ids, command", [
    ("work", f"{BEM}-bem.fif", [4, 3, 1], None),
    ("work", f"{BEM}-bem-sol.fif", [4, 3, 1], f"prepare_bem_model --bem '{BEM}-bem.fif' --quiet"),
    ("bem", f"{SUBJECT}-320-bem.fif", [1], None),
    ("bem", f"{SUBJECT}-320-bem-sol.fif", [1], "mne_setup_forward_model --surf --ico 2 --homog --quiet"),
], ids=["surf2bem", "prepare_bem_model", "mne_setup_forward_model", "mne_setup_forward_model-sol"])
def test_bem_files_read_back(chain, folder, name, ids, command):
    """MNE-Python and mne_cli read the BEM surfaces (and the solution with its
    command line, which MNE-Python does not expose)."""
    path = chain[folder] / name
    surfaces = mne.read_bem_surfaces(path, verbose=False)
    assert [s["id"] for s in surfaces] == [s.id for s in read_bem_surfaces(path)] == ids
    if command is not None:
        sol = mne.read_bem_solution(path, verbose=False)
        np.testing.assert_array_equal(sol["solution"], read_bem_solution(path).solution)
        assert _env(path) == (str(chain["work"]), command)


_FWD_OPTIONS = f"--mri '{TRANS}' --bem '{BEM}-bem-sol.fif' --meg --eeg --mindist 5"


@pytest.mark.parametrize("name, command", [
    (FWD[0], (f"forward_solution --src '{SRC}' --meas '{RUNS[0]}' {_FWD_OPTIONS} "
              f"--fwd '{FWD[0]}' --quiet")),
    (VOL_FWD, (f"forward_solution --src '{VOL}' --meas '{RUNS[0]}' {_FWD_OPTIONS} "
               f"--fwd '{VOL_FWD}' --quiet")),
    (AVG, f"average_forward_solutions --fwd '{FWD[0]}:2' --fwd '{FWD[1]}:1' --out '{AVG}' --quiet"),
    ("прогон 1-meg-ico-2-fwd.fif",
     f"mne_do_forward_solution --meas '{RUNS[0]}' --spacing ico-2 --megonly --mindist 5 --quiet"),
], ids=["forward_solution", "volume", "average_forward_solutions", "mne_do_forward_solution"])
def test_forward_solutions_read_back(chain, name, command):
    """MNE-Python and mne_cli read the forward solution and the file names,
    working directory and command line it records, exactly as given."""
    path = chain["work"] / name
    fwd = mne.read_forward_solution(path, verbose=False)
    ours = read_forward(path)
    gain = np.vstack([b.sol for b in (ours.meg, ours.eeg) if b is not None])  # MEG rows first
    np.testing.assert_array_equal(fwd["sol"]["data"], gain)
    assert fwd["nsource"] == sum(s.nuse for s in ours.source_spaces) > 0
    assert fwd["info"]["meas_file"] == ours.meas_file == RUNS[0]
    assert fwd["info"]["mri_file"] == ours.mri_file == TRANS
    assert fwd["info"]["working_dir"] == str(chain["work"])
    assert fwd["info"]["command_line"] == command
    assert _env(path) == (str(chain["work"]), command)


# --- the string rule -----------------------------------------------------------

LATIN1_TEXTS = [
    "plain ascii",
    "Latin-1 only: données, Größe",
    "R&D &amp; &#1076; &#x43A;",       # no six-digit reference: MNE-Python leaves it alone
]
TEXTS = [
    *LATIN1_TEXTS,
    f"{TOP}/{SUBJECT}",
    "emoji 😀 and д",                 # a six-digit reference, which MNE-Python's own writer gets right
    "ampersands & &amp; &#1076; next to д",
    "Latin-1 holding a reference: &#001076;",
]


def _mne_read_string(path) -> str:
    """The first string tag of ``path`` as MNE-Python's tag reader gives it (private API,
    as no public reader returns a bare string)."""
    from mne._fiff.open import fiff_open
    from mne._fiff.tag import read_tag

    fid, tree, _ = fiff_open(Path(path), verbose=False)
    with fid:
        entry = next(e for e in tree["directory"] if e.kind == Kind.COMMENT)
        return read_tag(fid, entry.pos).data


@pytest.mark.parametrize("text", TEXTS)
def test_strings_come_back_through_mne_and_mne_cli(tmp_path, text):
    """Any text written by mne_cli reads back unchanged with MNE-Python's reader and ours."""
    path = tmp_path / "string.fif"
    with fif_writer(path) as w:
        w.write_string(Kind.COMMENT, text)
    assert _mne_read_string(path) == text
    assert open_fif(path).root.read_string(Kind.COMMENT) == text
    assert decode_string(encode_string(text)) == text


@pytest.mark.parametrize("text", LATIN1_TEXTS)
def test_latin1_strings_written_as_mne_writes_them(text):
    """Text that fits ISO 8859-1 (and holds no six-digit reference) is stored byte for
    byte as MNE-Python's write_string stores it."""
    from mne._fiff.write import write_string

    fid = io.BytesIO()
    write_string(fid, Kind.COMMENT, text)
    assert encode_string(text) == fid.getvalue()[16:] == text.encode("latin-1")


def test_mne_written_references_read_as_mne_reads_them(tmp_path):
    """Strings MNE-Python wrote with unpadded references (which its reader leaves as
    they are) read the same in mne_cli, whatever they hold."""
    from mne._fiff.write import end_file, start_file, write_string

    path = tmp_path / f"{SUBJECT}.fif"
    for text in TEXTS:
        fid = start_file(path)
        write_string(fid, Kind.COMMENT, text)
        end_file(fid)
        fid.close()
        assert open_fif(path).root.read_string(Kind.COMMENT) == _mne_read_string(path)


@pytest.mark.parametrize("text", ["undecodable byte \udce9 of a file name", "\U0010ffff only"])
def test_unrecoverable_characters_never_fail(tmp_path, text):
    """Lone surrogates (how Python holds undecodable bytes of a file name) and code
    points with seven-digit references are written without error; both readers
    then give the same text."""
    path = tmp_path / "string.fif"
    with fif_writer(path) as w:
        w.write_string(Kind.COMMENT, text)
    assert open_fif(path).root.read_string(Kind.COMMENT) == _mne_read_string(path)


def test_surface_with_latin1_stamp_is_read(tmp_path):
    """A FreeSurfer surface whose "created by" line is not UTF-8 (a Latin-1 user
    name), which nibabel refuses, reads as the same surface with an ASCII line."""
    original = DEMO / "subjects" / "demo" / "bem" / "inner_skull.surf"
    data = original.read_bytes()
    path = tmp_path / "josé.surf"
    path.write_bytes(data[:3] + b"created by jos\xe9 on a day" + data[data.index(b"\n"):])
    for got, expected in zip(read_freesurfer_surface(path), read_freesurfer_surface(original)):
        np.testing.assert_array_equal(got, expected)
    path.write_bytes(path.read_bytes()[:-100])  # truncated: still an error, not a crash
    with pytest.raises(InputError, match="not a readable FreeSurfer surface"):
        read_freesurfer_surface(path)


# --- files MNE-Python wrote ----------------------------------------------------

def test_mne_written_source_space_is_input(chain, tmp_path, runner):
    """A source space MNE-Python wrote to such a path, with such a subject name,
    reads in mne_cli as in MNE-Python, and forward_solution accepts it."""
    src = mne.read_source_spaces(chain["work"] / SRC, verbose=False)
    for space in src:
        space["subject_his_id"] = "субъект 被験者"
    path = tmp_path / "от MNE 由来-src.fif"
    mne.write_source_spaces(path, src, verbose=False)
    back = mne.read_source_spaces(path, verbose=False)
    assert [s.subject for s in read_source_spaces(path)] == [s["subject_his_id"] for s in back]
    out = tmp_path / "вперёд 前方-fwd.fif"
    invoke_ok(runner, forward_solution.main, [
        "--src", path, "--meas", chain["work"] / RUNS[0], "--mri", chain["work"] / TRANS,
        "--bem", chain["work"] / f"{BEM}-bem-sol.fif", "--meg", "--fwd", out])
    assert mne.read_forward_solution(out, verbose=False)["nsource"] == sum(s["nuse"] for s in src)


def test_channel_names_outside_latin1(chain, tmp_path):
    """Channel names with Cyrillic letters: the ch_info structs hold a Latin-1
    stand-in and the extended channel blocks the full names, which both
    MNE-Python and mne_cli read back."""
    info = read_meas_info(chain["work"] / RUNS[0])
    names = [f"ЭЭГ {k:03d}" if ch.kind == ChannelKind.EEG else ch.name for k, ch in enumerate(info.channels)]
    renamed = dataclasses.replace(info, channels=[dataclasses.replace(ch, name=n)
                                                  for ch, n in zip(info.channels, names)])
    path = tmp_path / "каналы-info.fif"
    write_meas_info(path, renamed)
    assert [ch.name for ch in read_meas_info(path).channels] == names
    assert mne.io.read_info(path, verbose=False)["ch_names"] == names


# --- mne_setup_forward_model failing -----------------------------------------

def _setup_model(tmp_path, runner, *extra) -> tuple[Path, object]:
    subjects = tmp_path / "субъекты"
    shutil.copytree(DEMO / "subjects" / "demo", subjects / SUBJECT)
    runner.env = {"SUBJECTS_DIR": str(subjects), "SUBJECT": SUBJECT}
    bem = subjects / SUBJECT / "bem"
    return bem, lambda: runner.invoke(setup_forward_model.main,
                                      ["--surf", "--ico", "2", "--homog", *extra, "--quiet"])


def _listing(folder: Path) -> dict[str, bytes | None]:
    """Every entry of ``folder`` (temporary files included) with its contents."""
    return {p.name: p.read_bytes() if p.is_file() else None for p in folder.iterdir()}


def test_setup_forward_model_failing_solution_leaves_nothing(tmp_path, runner, monkeypatch):
    """A solution that cannot be computed leaves no -bem.fif behind."""
    bem, invoke = _setup_model(tmp_path, runner)
    before = _listing(bem)

    def fail(*args, **kwargs):
        raise GeometryError("the BEM system matrix is singular (simulated)")

    monkeypatch.setattr("mne_cli.bem.setup.make_bem_solution", fail)
    result = invoke()
    assert result.exit_code == 1 and "simulated" in result.output
    assert _listing(bem) == before


@pytest.mark.parametrize("earlier", [False, True], ids=["new", "earlier-model"])
def test_setup_forward_model_failing_write_leaves_nothing(tmp_path, runner, earlier):
    """A solution file that cannot be written leaves no new model file (and no
    temporary file) behind, and an earlier model file (--overwrite) as it was."""
    bem, invoke = _setup_model(tmp_path, runner, "--overwrite")
    (bem / f"{SUBJECT}-320-bem-sol.fif").mkdir()  # os.replace cannot put a file there
    if earlier:
        (bem / f"{SUBJECT}-320-bem.fif").write_bytes(b"earlier model")
    before = _listing(bem)
    result = invoke()
    # Refused before the work (the output check) or at the write: nothing changes.
    assert result.exit_code == 1
    assert "is a folder" in result.output or "cannot write" in result.output
    assert _listing(bem) == before


def test_setup_forward_model_success_writes_both(tmp_path, runner):
    """The staged model file lands under its own name, readable, with no temporary left."""
    bem, invoke = _setup_model(tmp_path, runner)
    assert invoke().exit_code == 0
    names = sorted(p.name for p in bem.iterdir())
    assert f"{SUBJECT}-320-bem.fif" in names and f"{SUBJECT}-320-bem-sol.fif" in names
    assert not [n for n in names if n.startswith(".")]
    mode = (bem / f"{SUBJECT}-320-bem.fif").stat().st_mode & 0o777
    assert mode == (bem / f"{SUBJECT}-320-bem-sol.fif").stat().st_mode & 0o777
    assert [s["id"] for s in mne.read_bem_surfaces(bem / f"{SUBJECT}-320-bem.fif",
                                                    verbose=False)] == [1]
