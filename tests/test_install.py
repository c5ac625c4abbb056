"""Installed copies of mne_cli find their coil definitions (subprocesses).

The wheel is built once from a copy of the checkout (``pip wheel
--no-build-isolation``: no network, and no build/ or egg-info left in the
working tree), then installed where the data-file prefix is not
``sys.prefix``:

* ``pip install --prefix`` into a scratch folder, imported through
  ``PYTHONPATH``;
* ``pip install --user`` under a scratch ``HOME``/``PYTHONUSERBASE``, imported
  through the user site. pip refuses ``--user`` inside a virtual environment
  that hides the system site, so it runs in a throw-away environment with
  ``--system-site-packages`` whose ``.pth`` file adds this environment's
  packages (numpy, scipy, click, nibabel, pip).

Each install runs an MEG sphere-model forward solution on small synthetic
inputs and ``list_coil_def`` from its own ``bin`` folder, in a folder outside
the checkout, and must read the ``coil_def.dat`` installed inside the package.
Building needs setuptools>=77 in this environment (the test extra installs
it); without it the tests skip.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mne_cli.fiff.constants import ChannelKind, Frame, SourceSpaceType
from mne_cli.io.forward import read_forward
from mne_cli.io.meas import write_meas_info
from mne_cli.io.source_space import write_source_spaces
from mne_cli.objects import Channel, MeasInfo, SourceSpace, Transform

REPO = Path(__file__).resolve().parents[1]
# What the build reads; everything else of the checkout stays behind.
BUILD_INPUTS = ["pyproject.toml", "README.md", "mne_cli", "share", "man"]
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
# --ignore-installed: without it pip uninstalls the mne_cli of the environment
# running the tests (the editable install) before installing into --prefix.
INSTALL_FLAGS = ["--no-deps", "--no-build-isolation", "--no-index", "--ignore-installed"]
TIMEOUT = 300
COIL_DEF = "mne_cli/share/coil_def.dat"
N_CHANNELS, N_SOURCES = 4, 2


def _run(command, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], check=False, capture_output=True,
                          text=True, timeout=TIMEOUT, **kwargs)


def _check(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args} failed:\n{result.stdout}\n{result.stderr}"
    return result


# --- the package list ------------------------------------------------------------

def test_pyproject_lists_every_subpackage():
    """pyproject lists its packages by hand (for mne_cli.share): none may be missing."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(init.parent.relative_to(REPO).parts)
               for init in (REPO / "mne_cli").rglob("__init__.py")}
    assert on_disk - set(config["packages"]) == set()
    assert config["package-dir"] == {"mne_cli.share": "share"}
    assert (REPO / "share" / "coil_def.dat").is_file()


# --- the wheel ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the checkout."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("setuptools is not installed; pip install -e '.[test]' brings it")
    if int(version.split(".")[0]) < 77:
        pytest.skip(f"building the wheel needs setuptools>=77 (found {version}); "
                    "pip install -e '.[test]' brings it")
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "out"))
        else:
            shutil.copy2(REPO / name, source / name)
    _check(_run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                 "-w", root / "dist", source]))
    (built,) = (root / "dist").glob("mne_cli-*.whl")
    return built


@pytest.mark.slow
def test_wheel_holds_coil_defs_and_man_pages_only(wheel):
    """Every module, coil_def.dat inside the package, the man pages; no demo data."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    modules = {path.relative_to(REPO).as_posix() for path in (REPO / "mne_cli").rglob("*.py")}
    assert modules - names == set()
    assert COIL_DEF in names
    package_data = {n for n in names if n.startswith("mne_cli/") and not n.endswith(".py")}
    assert package_data == {COIL_DEF}
    data = {n.split(".data/data/", 1)[1] for n in names if ".data/" in n}
    pages = {f"share/man/man1/{page.name}" for page in (REPO / "man" / "man1").glob("*.1")}
    assert pages and data == pages
    assert not [n for n in names if "demo" in n]


# --- the installs --------------------------------------------------------------------

@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    """A 4-magnetometer measurement and a 2-source discrete space (mne_cli's writers)."""
    root = tmp_path_factory.mktemp("inputs")
    channels = []
    # Outside the default sphere-model head (90 mm around (0, 0, 40) mm).
    for k, position in enumerate([[0.0, 0.0, 0.15], [0.1, 0.0, 0.12], [0.0, 0.1, 0.12],
                                  [-0.1, 0.0, 0.12]]):
        ez = np.asarray(position) / np.linalg.norm(position)
        ex = np.cross([0.0, 1.0, 0.0], ez)
        ex /= np.linalg.norm(ex)
        loc = np.concatenate([position, ex, np.cross(ez, ex), ez])
        channels.append(Channel(scanno=k + 1, logno=k + 1, kind=ChannelKind.MEG, range=1.0,
                                cal=1.0, coil_type=3022, loc=loc, unit=112, unit_mul=0,
                                name=f"MEG {k + 1:03d}"))
    meas = root / "meg-meas.fif"
    write_meas_info(meas, MeasInfo(channels=channels, sfreq=1000.0,
                                   dev_head_t=Transform.identity(Frame.DEVICE, Frame.HEAD)))
    rr = np.array([[0.0, 0.0, 0.04], [0.01, 0.0, 0.05]])
    src = root / "two-src.fif"
    write_source_spaces(src, [SourceSpace(SourceSpaceType.DISCRETE, rr,
                                          np.tile([0.0, 0.0, 1.0], (N_SOURCES, 1)),
                                          np.ones(N_SOURCES, np.int64), coord_frame=Frame.MRI)])
    return {"meas": meas, "src": src}


def _only(paths, what: str) -> Path:
    paths = list(paths)
    assert len(paths) == 1, f"expected one {what}, found {paths}"
    return paths[0]


def _own_console_scripts() -> set[str]:
    """mne_cli's console scripts installed beside this Python (the editable install)."""
    return {p.name for p in Path(sys.executable).parent.glob("*_coil_def*")}


def _base_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "MNE_ROOT",
                        "PYTHONNOUSERSITE", "PIP_USER", "PIP_PREFIX", "PIP_TARGET")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    return env


def _install_prefix(wheel: Path, root: Path) -> tuple[dict, Path, str]:
    """``pip install --prefix``: (environment, bin folder, python) of the install."""
    prefix = root / "prefix"
    env = _base_env(root / "home")
    ours = _own_console_scripts()
    _check(_run([*PIP, "install", *INSTALL_FLAGS, "--prefix", prefix, wheel], env=env))
    assert _own_console_scripts() == ours, "pip uninstalled the tested environment's mne_cli"
    package = _only(prefix.rglob("mne_cli/__init__.py"), "installed mne_cli").parent
    bin_dir = _only(prefix.rglob("forward_solution"), "forward_solution script").parent
    env.update(PYTHONPATH=str(package.parent), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}")
    return env, bin_dir, sys.executable


def _install_user(wheel: Path, root: Path) -> tuple[dict, Path, str]:
    """``pip install --user``: (environment, bin folder, python) of the install."""
    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", venv])
    if made.returncode != 0:
        pytest.skip(f"cannot make a scratch virtual environment: {made.stderr.strip()}")
    python = venv / "bin" / "python"
    purelib = _check(_run([python, "-c",
                           "import sysconfig; print(sysconfig.get_path('purelib'))"]))
    # This environment's packages (dependencies and pip), but not its editable mne_cli:
    # a path in a .pth file is not a site folder, so its own .pth files are not run.
    outer = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    Path(purelib.stdout.strip(), "outer-env.pth").write_text("\n".join(sorted(outer)) + "\n")
    userbase = root / "userbase"
    env = _base_env(root / "home")
    env["PYTHONUSERBASE"] = str(userbase)
    ours = _own_console_scripts()
    _check(_run([python, *PIP[1:], "install", *INSTALL_FLAGS, "--user", wheel], env=env))
    assert _own_console_scripts() == ours, "pip uninstalled the tested environment's mne_cli"
    bin_dir = _only(userbase.rglob("forward_solution"), "forward_solution script").parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env, bin_dir, str(python)


INSTALLS = {"prefix": _install_prefix, "user": _install_user}


@pytest.mark.slow
@pytest.mark.parametrize("variant", INSTALLS)
def test_install_runs_meg_forward(wheel, inputs, tmp_path, variant):
    """An MEG forward and list_coil_def run from the install, on its own coil_def.dat."""
    env, bin_dir, python = INSTALLS[variant](wheel, tmp_path / "install")
    work = tmp_path / "work"
    work.mkdir()
    where = _check(_run([python, "-c", "import mne_cli; print(mne_cli.__file__)"],
                        cwd=work, env=env)).stdout.strip()
    package = Path(where).parent
    assert tmp_path in package.parents and REPO not in package.parents, where
    installed = package / "share" / "coil_def.dat"
    assert installed.is_file()

    result = _check(_run([bin_dir / "forward_solution", "--src", inputs["src"], "--meas",
                          inputs["meas"], "--notrans", "--meg", "--fwd", "out-fwd.fif"],
                         cwd=work, env=env))
    assert f"read from {installed}" in result.stderr
    fwd = read_forward(work / "out-fwd.fif")
    assert fwd.meg is not None and fwd.meg.sol.shape == (N_CHANNELS, 3 * N_SOURCES)
    assert np.all(np.isfinite(fwd.meg.sol)) and np.any(fwd.meg.sol != 0)

    listed = _check(_run([bin_dir / "list_coil_def", "--type", "3022"], cwd=work, env=env))
    assert "3022" in listed.stdout and "Vectorview" in listed.stdout


@pytest.mark.slow
def test_missing_coil_defs_error_gives_a_working_recipe(wheel, inputs, tmp_path):
    """Without the packaged file the error's recipe (list_coil_def, MNE_ROOT) works."""
    env, bin_dir, _ = _install_prefix(wheel, tmp_path / "install")
    _only(Path(env["PYTHONPATH"]).rglob("coil_def.dat"), "installed coil_def.dat").unlink()
    work = tmp_path / "work"
    work.mkdir()
    forward = [bin_dir / "forward_solution", "--src", inputs["src"], "--meas", inputs["meas"],
               "--notrans", "--meg", "--fwd", "out-fwd.fif"]
    failed = _run(forward, cwd=work, env=env)
    assert failed.returncode == 1
    assert "No coil definition file found" in failed.stderr
    recipe = re.search(r"'(mkdir [^']+)' and set MNE_ROOT=DIR", failed.stderr)
    assert recipe, failed.stderr
    mne_root = tmp_path / "mne root"
    _check(subprocess.run(recipe.group(1).replace("DIR", f'"{mne_root}"'), shell=True,
                          check=False, cwd=work, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT))
    env["MNE_ROOT"] = str(mne_root)
    result = _check(_run(forward, cwd=work, env=env))
    assert f"read from {mne_root / 'share' / 'mne' / 'coil_def.dat'}" in result.stderr
