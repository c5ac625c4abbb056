"""Progress reporting: what the core announces, and how the commands show it.

The core reports through mne_cli.progress.Progress; mne_cli.cli.progress.TerminalProgress
draws bars on a terminal and writes plain lines elsewhere, both only with
normal logging. A recorder checks that each stage's advances add up to its
total; a fake clock checks the plain-line rule.
"""

from __future__ import annotations

import io
import logging
import re

import numpy as np
import pytest

from mne_cli.bem.solution import make_bem_solution
from mne_cli.cli import progress as cli_progress
from mne_cli.cli.prepare_bem_model import main as prepare_bem_model
from mne_cli.cli.progress import TerminalProgress
from mne_cli.forward.compute import ForwardInputs, SphereModel, compute_forward
from mne_cli.io.bem import write_bem_surfaces
from mne_cli.io.coil_def import find_coil_def_file, read_coil_defs
from mne_cli.objects import MeasInfo
from mne_cli.progress import Progress, format_duration

from .bem_helpers import three_layer_head
from .test_forward_physics import (
    BEM_SOURCES,
    MAGNETOMETER,
    _device_helmet,
    _head_frames,
    _source_space,
)


class Recorder(Progress):
    """Keeps (label, total, units advanced) per stage."""

    def __init__(self):
        self.stages = []

    def start(self, label, total):
        self.stages.append([label, total, 0])

    def advance(self, count=1):
        self.stages[-1][2] += count


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def info_logging():
    logger = logging.getLogger("mne_cli")
    old = logger.level
    logger.setLevel(logging.INFO)
    yield logger
    logger.setLevel(old)


def test_bem_solution_counts_every_coefficient_chunk():
    recorder = Recorder()
    make_bem_solution(three_layer_head(1), "linear", progress=recorder)
    [(label, total, done)] = recorder.stages
    assert label == "BEM coefficients" and total >= 9 and done == total


def test_forward_counts_sources_and_grad_evaluations():
    mri_head, dev_head = _head_frames()
    chans = _device_helmet(MAGNETOMETER, 0.12, 20, np.zeros(3), dev_head)
    sources = _source_space(mri_head.inverse().apply(BEM_SOURCES))
    for grad, factor in ((False, 1), (True, 7)):
        recorder = Recorder()
        inputs = ForwardInputs(spaces=[sources], info=MeasInfo(chans, dev_head_t=dev_head),
                               mri_head_t=mri_head,
                               coil_defs=read_coil_defs(find_coil_def_file()),
                               conductor=SphereModel(np.zeros(3), None, 0.09), meg=True, eeg=False,
                               grad=grad)
        compute_forward(inputs, recorder)
        assert recorder.stages == [["Sources", factor * len(BEM_SOURCES),
                                    factor * len(BEM_SOURCES)]]


def test_bar_drawn_on_a_terminal(info_logging, monkeypatch):
    """A bar, and no plain lines, even with no delay or interval."""
    _no_waiting(monkeypatch)
    stream = FakeTerminal()
    with TerminalProgress(stream) as progress:
        assert progress.draws_bars
        progress.start("Sources", 10)
        for _ in range(10):
            progress.advance()
    assert "Sources" in stream.getvalue() and "100%" in stream.getvalue()
    assert "done in" not in stream.getvalue() and "elapsed" not in stream.getvalue()


@pytest.mark.parametrize("tty", [False, True], ids=["not-a-terminal", "terminal"])
def test_silent_when_quiet(info_logging, tty, monkeypatch):
    """--quiet: neither a bar nor plain lines, even with no delay or interval."""
    _no_waiting(monkeypatch)
    info_logging.setLevel(logging.WARNING)
    stream = FakeTerminal() if tty else io.StringIO()
    with TerminalProgress(stream) as progress:
        assert not progress.enabled
        progress.start("Sources", 10)
        for _ in range(10):
            progress.advance()
    assert stream.getvalue() == ""


class FakeClock:
    """Stands in for the ``time`` module of mne_cli.cli.progress."""

    def __init__(self):
        self.now = 100.0

    def monotonic(self):
        return self.now


PLAIN_LINE = re.compile(r"^(.+): (\d+)/(\d+) \((\d+) %\), (.+) elapsed, about (.+) left$")
FINAL_LINE = re.compile(r"^(.+): (\d+)/(\d+) done in (.+)$")


def _no_waiting(monkeypatch):
    monkeypatch.setattr(cli_progress, "PLAIN_DELAY_S", 0.0)
    monkeypatch.setattr(cli_progress, "PLAIN_INTERVAL_S", 0.0)


def _plain_counts(text, label):
    """(done, total) of each progress line of stage ``label``, and its final line."""
    lines = [line for line in text.splitlines() if line.startswith(f"{label}: ")]
    assert lines, text
    *progress_lines, final = lines
    counts = []
    for line in progress_lines:
        match = PLAIN_LINE.match(line)
        assert match, line
        counts.append((int(match[2]), int(match[3])))
        assert int(match[4]) == 100 * counts[-1][0] // counts[-1][1]
    assert FINAL_LINE.match(final), final
    return counts, final


def test_plain_lines_off_a_terminal(info_logging, monkeypatch):
    """No delay or interval: a line per tenth of the stage, counts rising, then the end."""
    _no_waiting(monkeypatch)
    stream = io.StringIO()
    with TerminalProgress(stream) as progress:
        assert progress.enabled and not progress.draws_bars
        progress.start("Sources", 95)
        for _ in range(19):
            progress.advance(5)
    counts, final = _plain_counts(stream.getvalue(), "Sources")
    done = [d for d, _ in counts]
    assert {t for _, t in counts} == {95}
    assert done == sorted(done) and len(set(done)) == len(done)
    # Lines at least a tenth (9.5) apart, the first at 10, none at the end itself.
    assert done == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert final.startswith("Sources: 95/95 done in ")
    assert "\x1b" not in stream.getvalue() and "#" not in stream.getvalue()


def _clocked_stage(monkeypatch, label: str, total: int, steps: int, seconds: float,
                   units: int) -> str:
    """What a stage writes off a terminal when each step takes ``seconds`` (fake clock)."""
    clock = FakeClock()
    monkeypatch.setattr(cli_progress, "time", clock)
    stream = io.StringIO()
    with TerminalProgress(stream) as progress:
        progress.start(label, total)
        for _ in range(steps):
            clock.now += seconds
            progress.advance(units)
    return stream.getvalue()


def test_plain_line_rule_with_a_clock(info_logging, monkeypatch):
    """Default thresholds: silent for 2 s, then lines >= 10 % and >= 5 s apart, then the end."""
    # 100 units a second for 10 s (exact binary steps)
    written = _clocked_stage(monkeypatch, "Distances", 1000, 40, 0.25, 25)
    counts, final = _plain_counts(written, "Distances")
    # 2 s: 200 done (> 10 %); 7 s: 700 done; 12 s would be after the end.
    assert counts == [(200, 1000), (700, 1000)]
    assert "Distances: 200/1000 (20 %), 2.0 s elapsed, about 8.0 s left" in written
    assert final == "Distances: 1000/1000 done in 10.0 s"


def test_short_stage_writes_nothing_off_a_terminal(info_logging, monkeypatch):
    """A stage over before the delay leaves no line, not even the final one."""
    assert _clocked_stage(monkeypatch, "BEM coefficients", 30, 30, 0.06, 1) == ""


def test_stage_ended_early_says_so(info_logging, monkeypatch):
    _no_waiting(monkeypatch)
    stream = io.StringIO()
    with TerminalProgress(stream) as progress:
        progress.start("Sources", 10)
        progress.advance(4)
    assert stream.getvalue().splitlines()[-1].startswith("Sources: stopped at 4/10 after ")


@pytest.mark.parametrize("seconds, text", [(4.24, "4.2 s"), (185, "3 min 05 s"),
                                           (7650, "2 h 07 min")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_prepare_bem_model_off_a_terminal(runner, tmp_path, monkeypatch):
    """Plain coefficient lines adding up to the total, and both inversions logged with
    their sizes; --quiet shows none of it."""
    _no_waiting(monkeypatch)
    bem = tmp_path / "head-bem.fif"
    write_bem_surfaces(bem, three_layer_head(1))
    result = runner.invoke(prepare_bem_model, ["--bem", str(bem)])
    assert result.exit_code == 0, result.output
    counts, final = _plain_counts(result.stderr, "BEM coefficients")
    done = [d for d, _ in counts]
    total = counts[0][1]
    assert done == sorted(done) and len(set(done)) == len(done) and done[-1] < total
    assert final.startswith(f"BEM coefficients: {total}/{total} done in ")
    # 3 x 42 vertices; the isolated-skull approach inverts the inner skull's 42 x 42 too.
    assert re.search(r"Inverting the coefficient matrix \(126 x 126; about .+ s, 2 n\^3 flops "
                     r"at half the .+ GFLOP/s of a 64 x 64 matrix product timed just now\)",
                     result.stderr), result.stderr
    assert re.search(r"Inverting the coefficient matrix \(homog\) \(42 x 42; about .+ s, 2 n\^3 "
                     r"flops at the same rate\)", result.stderr), result.stderr
    assert len(re.findall(r"^    Inverted in \d+\.\d s\.$", result.stderr, re.MULTILINE)) == 2

    quiet = runner.invoke(prepare_bem_model, ["--bem", str(bem), "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""


def test_distances_count_every_source(tmp_path):
    from mne_cli.geometry.icosahedron import icosahedron
    from mne_cli.io.surface import write_freesurfer_surface
    from mne_cli.source_space.surface import add_patch_info, make_surface_source_space

    rr, tris = icosahedron(3)
    write_freesurfer_surface(tmp_path / "lh.white", 0.05 * rr, tris)
    space = make_surface_source_space(tmp_path / "lh.white", spacing=2)
    recorder = Recorder()
    add_patch_info(space, 0.01, recorder)
    assert recorder.stages == [["Distances", space.nuse, space.nuse]]
