"""How long computations report how far they are.

The core never draws anything: it calls ``start(label, total)`` when a stage
begins, ``advance(count)`` as units of work finish and ``finish()`` when the
stage ends, always from the calling thread. :data:`SILENT` ignores all of
it; the commands pass a terminal progress bar (``mne_cli.cli.progress``).
"""

from __future__ import annotations


class Progress:
    """A progress sink that reports nowhere; subclasses draw or record."""

    def start(self, label: str, total: int) -> None:
        """A stage of ``total`` work units begins."""

    def advance(self, count: int = 1) -> None:
        """``count`` more units of the current stage are done."""

    def finish(self) -> None:
        """The current stage is over (also when it ended early)."""


SILENT = Progress()
