"""How long computations report how far they are.

The core never draws anything: it calls ``start(label, total)`` when a stage
begins, ``advance(count)`` as units of work finish and ``finish()`` when the
stage ends, always from the calling thread. :data:`SILENT` ignores all of
it; the commands pass a reporter that draws a bar on a terminal and writes
plain lines elsewhere (``mne_cli.cli.progress``).
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


def format_duration(seconds: float) -> str:
    """``seconds`` for a log line: ``4.2 s``, ``3 min 05 s`` or ``2 h 07 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        minutes, secs = divmod(int(seconds), 60)
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(int(seconds // 60), 60)
    return f"{hours} h {minutes:02d} min"
