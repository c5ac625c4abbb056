"""Progress bars on stderr for the commands' long stages.

A bar is drawn only when stderr is a terminal and normal logging is on
(not ``--quiet``); pipes, files and batch jobs get the log lines alone. Each
bar appears with the first finished unit of work, after the stage's log
lines, and is closed before the next stage logs anything.
"""

from __future__ import annotations

import logging
import sys

import click

from ..progress import Progress


class TerminalProgress(Progress):
    """click progress bars, one per stage, used as ``with TerminalProgress() as progress:``."""

    def __init__(self, stream=None):
        self._stream = stream or sys.stderr
        self._enabled = (self._stream.isatty()
                         and logging.getLogger("mne_cli").isEnabledFor(logging.INFO))
        self._label, self._total, self._bar = "", 0, None

    @property
    def enabled(self) -> bool:
        return self._enabled

    def start(self, label: str, total: int) -> None:
        self.finish()
        self._label, self._total = label, total

    def advance(self, count: int = 1) -> None:
        if not self._enabled or self._total <= 0:
            return
        if self._bar is None:
            self._bar = click.progressbar(length=self._total, label=self._label,
                                          file=self._stream)
            self._bar.__enter__()
        self._bar.update(count)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
        self._total = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        self.finish()
        return False
