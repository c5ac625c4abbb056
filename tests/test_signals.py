"""Signals end a command cleanly and then kill it with the same signal (issue 14, item 5).

Ctrl-C (SIGINT), ``kill``/``timeout``/Slurm (SIGTERM) and a closed terminal
(SIGHUP) must leave no partial or temporary file and an earlier output as it
was, print one line, and end the process by that signal so that a calling
shell stops (bash ends a ``for`` loop whose command died of SIGINT). These
are subprocess tests: the behaviour belongs to a real process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "share" / "demo" / "subjects" / "demo" / "bem"
BIN = Path(sys.executable).parent     # the installed console scripts


def _script(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed beside {sys.executable}")
    return str(path)

#: A command that is stopped by a signal while its output is half written.
_HALF_WRITTEN = textwrap.dedent("""
    import os, signal, sys
    import click
    from mne_cli.atomic import atomic_output
    from mne_cli.cli.runner import ToolCommand

    @click.command("half_written", cls=ToolCommand)
    @click.argument("out")
    @click.argument("signame")
    def main(out, signame):
        with atomic_output(out) as fid:
            fid.write(b"partial" * 1000)
            fid.flush()
            os.kill(os.getpid(), getattr(signal, signame))
            fid.write(b"never")

    main(prog_name="half_written")
""")


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_during_write_leaves_nothing(tmp_path, signame):
    out = tmp_path / "result-fwd.fif"
    out.write_bytes(b"earlier output")
    run = subprocess.run([sys.executable, "-c", _HALF_WRITTEN, str(out), signame],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == -getattr(signal, signame), run.stderr
    assert run.stderr.splitlines() == [f"half_written: stopped by {signame}; no output was written"]
    assert out.read_bytes() == b"earlier output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result-fwd.fif"]


def _bem_model(tmp_path: Path) -> Path:
    """The demo head's three ico-4 shells as a -bem.fif (a BEM solve of several seconds)."""
    bem = tmp_path / "demo-bem.fif"
    args = []
    for name, surf_id, sigma in (("outer_skin", 4, 0.3), ("outer_skull", 3, 0.006),
                                 ("inner_skull", 1, 0.3)):
        args += ["--surf", str(DEMO / f"{name}.surf"), "--id", str(surf_id), "--sigma",
                 str(sigma)]
    subprocess.run([_script("surf2bem"), *args, "--fif", str(bem), "-q"], check=True,
                   timeout=120)
    return bem


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_signal_stops_a_shell_loop(tmp_path, signame):
    """bash runs prepare_bem_model for three subjects; one signal stops the whole loop."""
    if not (DEMO / "inner_skull.surf").exists():
        pytest.skip(f"demo subject not found under {DEMO}")
    bem = _bem_model(tmp_path)
    loop = (f"for i in 1 2 3; do {_script('prepare_bem_model')} --bem {bem} --sol $i-sol.fif; "
            "echo \"after $i\"; done")
    proc = subprocess.Popen(["bash", "-c", loop], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The coefficient stage is announced before the long work starts.
    for line in proc.stderr:
        if "coefficients" in line.lower():
            break
    os.killpg(proc.pid, getattr(signal, signame))
    out, err = proc.communicate(timeout=120)
    assert f"prepare_bem_model: stopped by {signame}; no output was written" in err
    assert "after" not in out
    if signame == "SIGINT":
        assert proc.returncode == -signal.SIGINT      # bash itself stopped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-bem.fif"]
