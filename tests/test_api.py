"""The Python API (issue 16): each command is one call of ``import mne_cli``.

For every command the API call and the command write the same file: every
FIF tag is equal except the file and block ids (which hold the time of
writing), given the same command line for the provenance block. Errors are
the same classes with the same messages the commands print. The layering is
checked by reading the imports: only ``mne_cli/cli`` imports click, and no
core module imports from it.
"""

from __future__ import annotations

import ast
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import mne_cli
from mne_cli.cli import (
    average_forward_solutions,
    do_forward_solution,
    forward_solution,
    list_coil_def,
    make_source_space,
    prepare_bem_model,
    setup_forward_model,
    setup_source_space,
    surf2bem,
    volume_source_space,
)
from mne_cli.fiff import Block, Kind, open_fif

from .conftest import REPO, invoke_ok

PACKAGE = REPO / "mne_cli"
DEMO = REPO / "share" / "demo"
SUBJECT = "demo"
#: Tags that hold the time of writing: FILE_ID, BLOCK_ID, PARENT_FILE_ID, PARENT_BLOCK_ID.
TIMESTAMPED = {Kind.FILE_ID, Kind.BLOCK_ID, Kind.PARENT_FILE_ID, Kind.PARENT_BLOCK_ID}
LAYERS = (("outer_skin", 4, 0.3), ("outer_skull", 3, 0.006), ("inner_skull", 1, 0.3))


def _tags(path) -> list[tuple[int, int, bytes]]:
    """(kind, type, data) of every tag of a FIF file, in file order, timestamps left out."""
    data = Path(path).read_bytes()
    tags, position = [], 0
    while position < len(data):
        kind, type_, size, _ = struct.unpack(">iiii", data[position:position + 16])
        if kind not in TIMESTAMPED:
            tags.append((kind, type_, data[position + 16:position + 16 + size]))
        position += 16 + size
    return tags


def _same_file(api_path, cli_path) -> None:
    ours, theirs = _tags(api_path), _tags(cli_path)
    assert len(ours) == len(theirs) > 5
    for (kind, type_, data), (kind2, type2, data2) in zip(ours, theirs):
        assert (kind, type_) == (kind2, type2)
        assert data == data2, f"tag {kind} differs"


def _command_line(path) -> str:
    """The command line the command recorded in its output's ENV block."""
    env = open_fif(path).root.find_blocks(Block.MNE_ENV)[0]
    return env.read_string(Kind.MNE_ENV_COMMAND_LINE)


def _set_aside(path: Path) -> Path:
    """Rename a command's output so that the API call can write the same name."""
    aside = path.with_name("cli-" + path.name)
    path.rename(aside)
    return aside


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo subject and runs in a fresh folder; SUBJECTS_DIR/SUBJECT for the commands."""
    top = tmp_path_factory.mktemp("api")
    subjects = top / "subjects"
    shutil.copytree(DEMO / "subjects" / SUBJECT, subjects / SUBJECT)
    work = top / "work"
    work.mkdir()
    for name in ("demo_run1_raw.fif", "demo_run2_raw.fif"):
        shutil.copy(DEMO / name, work / name)
    shutil.copy(DEMO / "demo-trans.fif", work / "demo_run1_raw-trans.fif")
    runner = CliRunner(env={"SUBJECTS_DIR": str(subjects), "SUBJECT": SUBJECT})
    return {"work": work, "subjects": subjects, "bem": subjects / SUBJECT / "bem",
            "runner": runner}


@pytest.fixture
def in_work(demo, monkeypatch):
    monkeypatch.chdir(demo["work"])
    monkeypatch.delenv("SUBJECTS_DIR", raising=False)
    monkeypatch.delenv("SUBJECT", raising=False)
    return demo


@pytest.fixture(scope="module")
def head(demo):
    """An ico-2 3-layer model and its solution written by the commands (for later steps)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(demo["work"])
        args = []
        for name, surf_id, sigma in LAYERS:
            args += ["--surf", demo["bem"] / f"{name}.surf", "--id", surf_id, "--sigma", sigma,
                     "--ico", 2]
        invoke_ok(demo["runner"], surf2bem.main, [*args, "--check", "--fif", "cli-bem.fif"])
        invoke_ok(demo["runner"], prepare_bem_model.main,
                  ["--bem", "cli-bem.fif", "--sol", "cli-bem-sol.fif"])
        invoke_ok(demo["runner"], make_source_space.main, ["--ico", 2, "--src", "cli-src.fif"])
    return demo["work"]


# --- the same files ----------------------------------------------------------

def test_make_bem_model_equals_surf2bem(in_work, head):
    sources = [mne_cli.SurfaceSource(str(in_work["bem"] / f"{name}.surf"), id=surf_id,
                                     sigma=sigma, ico=2) for name, surf_id, sigma in LAYERS]
    surfaces = mne_cli.make_bem_model(sources, check=True, fname="api-bem.fif")
    assert [s.id for s in surfaces] == [4, 3, 1]
    _same_file("api-bem.fif", "cli-bem.fif")


def test_make_bem_solution_equals_prepare_bem_model(in_work, head):
    solution = mne_cli.make_bem_solution("cli-bem.fif", fname="api-bem-sol.fif",
                                         command_line=_command_line("cli-bem-sol.fif"))
    assert solution.solution.shape == (3 * 162, 3 * 162)
    _same_file("api-bem-sol.fif", "cli-bem-sol.fif")


def test_setup_source_space_equals_make_source_space(in_work, head):
    spaces = mne_cli.setup_source_space(
        SUBJECT, "ico-2", surfaces=["lh.white", "rh.white"], subjects_dir=in_work["subjects"],
        fname="api-src.fif", command_line=_command_line("cli-src.fif"))
    assert [s.nuse for s in spaces] == [162, 162]
    _same_file("api-src.fif", "cli-src.fif")


def test_setup_volume_source_space_equals_volume_source_space(in_work, head):
    invoke_ok(in_work["runner"], volume_source_space.main,
              ["--bem", "cli-bem.fif", "--grid", 20, "--src", "cli-vol-src.fif"])
    space = mne_cli.setup_volume_source_space(bem="cli-bem.fif", grid=0.02,
                                              fname="api-vol-src.fif",
                                              command_line=_command_line("cli-vol-src.fif"))
    assert space.nuse > 0
    _same_file("api-vol-src.fif", "cli-vol-src.fif")


def test_make_forward_solution_equals_forward_solution(in_work, head):
    args = ["--src", "cli-src.fif", "--meas", "demo_run1_raw.fif", "--mri",
            "demo_run1_raw-trans.fif", "--bem", "cli-bem-sol.fif", "--meg", "--eeg",
            "--mindist", 5]
    invoke_ok(in_work["runner"], forward_solution.main, [*args, "--fwd", "cli-fwd.fif"])
    fwd = mne_cli.make_forward_solution(
        "cli-src.fif", "demo_run1_raw.fif", "demo_run1_raw-trans.fif", bem="cli-bem-sol.fif",
        meg=True, eeg=True, mindist=0.005, fname="api-fwd.fif",
        command_line=_command_line("cli-fwd.fif"))
    assert fwd.meg is not None and fwd.eeg is not None
    _same_file("api-fwd.fif", "cli-fwd.fif")
    # The sphere model and objects instead of files: the same gains as from the files.
    sphere = mne_cli.make_forward_solution(
        mne_cli.read_source_spaces("cli-src.fif"), "demo_run1_raw.fif",
        mne_cli.read_trans("demo_run1_raw-trans.fif"), meg=True)
    invoke_ok(in_work["runner"], forward_solution.main,
              ["--src", "cli-src.fif", "--meas", "demo_run1_raw.fif", "--mri",
               "demo_run1_raw-trans.fif", "--meg", "--fwd", "cli-sphere-fwd.fif"])
    stored = mne_cli.read_forward_solution("cli-sphere-fwd.fif").meg.sol
    assert (sphere.meg.sol.astype(np.float32) == stored).all()   # the file holds float32


def test_average_forward_solutions_equals_the_command(in_work, head):
    if not Path("cli-fwd.fif").exists():
        test_make_forward_solution_equals_forward_solution(in_work, head)
    invoke_ok(in_work["runner"], average_forward_solutions.main,
              ["--fwd", "cli-fwd.fif:2", "--fwd", "api-fwd.fif", "--out", "cli-avg-fwd.fif"])
    mne_cli.average_forward_solutions([("cli-fwd.fif", 2), "api-fwd.fif"],
                                      fname="api-avg-fwd.fif",
                                      command_line=_command_line("cli-avg-fwd.fif"))
    _same_file("api-avg-fwd.fif", "cli-avg-fwd.fif")
    # Objects instead of files: the same average.
    first = mne_cli.read_forward_solution("cli-fwd.fif")
    average = mne_cli.average_forward_solutions([(first, 2), "api-fwd.fif"])
    stored = mne_cli.read_forward_solution("api-avg-fwd.fif")
    assert (average.eeg.sol.astype(np.float32) == stored.eeg.sol).all()


def test_write_coil_def_equals_list_coil_def(in_work):
    invoke_ok(in_work["runner"], list_coil_def.main, ["--out", "cli-coil_def.dat"])
    text = mne_cli.write_coil_def("api-coil_def.dat")
    assert Path("api-coil_def.dat").read_text() == Path("cli-coil_def.dat").read_text() == text
    assert mne_cli.write_coil_def(coil_id=3012).count("\n") < text.count("\n")


def test_script_jobs_equal_the_scripts(in_work, head):
    """mne_setup_source_space, mne_setup_forward_model and mne_do_forward_solution: each
    script's outputs set aside, the API job writes the same names with the same bytes."""
    runner, bem, subjects = in_work["runner"], in_work["bem"], in_work["subjects"]
    invoke_ok(runner, setup_source_space.main, ["--ico", 2])
    src = bem / "demo-ico-2-src.fif"
    cli_src = _set_aside(src)
    mne_cli.setup_source_space(SUBJECT, "ico-2", subjects_dir=subjects, fname=src,
                               overwrite=False, command_line=_command_line(cli_src))
    _same_file(src, cli_src)

    invoke_ok(runner, setup_forward_model.main, ["--surf", "--ico", 2, "--homog"])
    model, solution = bem / "demo-320-bem.fif", bem / "demo-320-bem-sol.fif"
    cli_model, cli_solution = _set_aside(model), _set_aside(solution)
    mne_cli.setup_forward_model(SUBJECT, subjects_dir=subjects, surf=True, ico=2, homog=True,
                                command_line=_command_line(cli_solution))
    _same_file(model, cli_model)
    _same_file(solution, cli_solution)
    for path in (cli_model, cli_solution):   # the BEM search takes the newest
        path.unlink()

    invoke_ok(runner, do_forward_solution.main,
              ["--meas", "demo_run1_raw.fif", "--spacing", "ico-2", "--megonly", "--mindist", 5])
    fwd = Path("demo_run1-meg-ico-2-fwd.fif")
    cli_fwd = _set_aside(fwd)
    mne_cli.do_forward_solution("demo_run1_raw.fif", SUBJECT, spacing="ico-2", meg_only=True,
                                mindist=0.005, subjects_dir=subjects,
                                command_line=_command_line(cli_fwd))
    _same_file(fwd, cli_fwd)


# --- the same errors ---------------------------------------------------------

@pytest.mark.parametrize("command, args, call, error", [
    (prepare_bem_model.main, ["--bem", "cli-bem.fif", "--sol", "cli-bem.fif"],
     lambda: mne_cli.make_bem_solution("cli-bem.fif", fname="cli-bem.fif"),
     mne_cli.UsageError),
    (forward_solution.main, ["--src", "missing-src.fif", "--meas", "demo_run1_raw.fif",
                             "--notrans", "--fwd", "x-fwd.fif"],
     lambda: mne_cli.make_forward_solution("missing-src.fif", "demo_run1_raw.fif", None,
                                           fname="x-fwd.fif"),
     mne_cli.FifError),
    (volume_source_space.main, ["--surf", "a.surf", "--bem", "cli-bem.fif", "--src",
                                "x-src.fif"],
     lambda: mne_cli.setup_volume_source_space(surface="a.surf", bem="cli-bem.fif",
                                               fname="x-src.fif"),
     mne_cli.UsageError),
    (make_source_space.main, ["--subject", "nobody", "--ico", 2, "--src", "x-src.fif"],
     lambda: mne_cli.setup_source_space("nobody", "ico-2", surfaces=["lh.white"],
                                        subjects_dir="subjects-nowhere", fname="x-src.fif"),
     mne_cli.InputError),
], ids=["output-is-input", "missing-file", "two-boundaries", "unknown-subject"])
def test_api_errors_are_the_commands(in_work, head, command, args, call, error):
    """The API raises the error class whose message the command prints (exit 1 or 2)."""
    result = CliRunner(env={"SUBJECTS_DIR": "subjects-nowhere"}).invoke(
        command, [str(a) for a in args])
    assert result.exit_code == (2 if error is mne_cli.UsageError else 1)
    with pytest.raises(error) as raised:
        call()
    assert str(raised.value) in result.stderr


# --- layering and the namespace ---------------------------------------------

def _imports(path: Path) -> list[str]:
    """Absolute names of the modules a file imports (relative ones resolved)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]
    return names


CORE = sorted(p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts)


@pytest.mark.parametrize("path", CORE, ids=[str(p.relative_to(PACKAGE)) for p in CORE])
def test_core_modules_import_neither_click_nor_the_commands(path):
    imported = _imports(path)
    assert not [n for n in imported if n == "click" or n.startswith("click.")]
    assert not [n for n in imported if n == "mne_cli.cli" or n.startswith("mne_cli.cli.")]


def test_every_api_name_resolves_and_jobs_are_documented():
    for name in mne_cli.__all__:
        assert getattr(mne_cli, name) is not None, name
    jobs = ("make_bem_model", "make_bem_solution", "setup_forward_model", "setup_source_space",
            "setup_volume_source_space", "make_forward_solution", "do_forward_solution",
            "average_forward_solutions", "write_coil_def")
    for name in jobs:
        doc = getattr(mne_cli, name).__doc__
        assert "Parameters" in doc and "Returns" in doc and "Raises" in doc, name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        mne_cli.nothing  # noqa: B018


def test_import_is_cheap():
    """``import mne_cli`` loads neither numpy nor click: the API names are imported lazily."""
    code = "import sys, mne_cli; print(sorted(m for m in ('numpy', 'click') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
