"""Progress reporting: what the core announces, and when the bars are drawn.

The core reports through mne_cli.progress.Progress; the bars
(mne_cli.cli.progress.TerminalProgress) appear only on a terminal with normal
logging. A recorder checks that each stage's advances add up to its total.
"""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

from mne_cli.bem.solution import make_bem_solution
from mne_cli.cli.progress import TerminalProgress
from mne_cli.forward.compute import ForwardInputs, SphereModel, compute_forward
from mne_cli.io.coil_def import find_coil_def_file, read_coil_defs
from mne_cli.objects import MeasInfo
from mne_cli.progress import Progress

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


def test_bar_drawn_on_a_terminal(info_logging):
    stream = FakeTerminal()
    with TerminalProgress(stream) as progress:
        progress.start("Sources", 10)
        for _ in range(10):
            progress.advance()
    assert "Sources" in stream.getvalue() and "100%" in stream.getvalue()


@pytest.mark.parametrize("tty, level", [(False, logging.INFO), (True, logging.WARNING)],
                         ids=["not-a-terminal", "quiet"])
def test_bar_silent_off_terminal_or_quiet(info_logging, tty, level):
    info_logging.setLevel(level)
    stream = FakeTerminal() if tty else io.StringIO()
    with TerminalProgress(stream) as progress:
        assert not progress.enabled
        progress.start("Sources", 10)
        progress.advance(10)
    assert stream.getvalue() == ""


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
