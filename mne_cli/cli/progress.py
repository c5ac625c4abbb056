"""Progress of the commands' long stages on stderr.

With normal logging (not ``--quiet``) every long stage is reported:

- on a terminal, by a click progress bar. Each bar appears with the first
  finished unit of work, after the stage's log lines, and is closed before
  the next stage logs anything;
- elsewhere (pipes, log files, batch jobs), by plain lines such as
  ``Sources: 2560/5124 (50 %), 6.1 s elapsed, about 6.1 s left``. A stage
  stays silent for its first :data:`PLAIN_DELAY_S` seconds; after that a line
  is written when the stage has gone at least :data:`PLAIN_STEP` of its total
  further *and* at least :data:`PLAIN_INTERVAL_S` seconds have passed since
  the previous line, whichever comes later, so a stage writes at most ten
  lines however long it runs. A stage that wrote a line ends with
  ``Sources: 5124/5124 done in 12.3 s`` (or ``stopped at`` when it ended
  early); a stage shorter than the delay writes nothing.

``--quiet`` silences both.
"""

from __future__ import annotations

import logging
import sys
import time

import click

from ..progress import Progress, format_duration

# Plain-line thresholds (read when a reporter is made, so tests can patch them).
PLAIN_DELAY_S = 2.0
"""No line before a stage has run this long (seconds)."""
PLAIN_INTERVAL_S = 5.0
"""At least this many seconds between two lines of a stage."""
PLAIN_STEP = 0.1
"""At least this fraction of the stage's total between two lines."""


class TerminalProgress(Progress):
    """Bars on a terminal, plain lines elsewhere; used as ``with TerminalProgress() as progress:``."""

    def __init__(self, stream=None):
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._enabled = logging.getLogger("mne_cli").isEnabledFor(logging.INFO)
        self._delay, self._interval, self._step = PLAIN_DELAY_S, PLAIN_INTERVAL_S, PLAIN_STEP
        self._label, self._total, self._bar = "", 0, None
        self._done, self._started, self._last_done, self._last_time = 0, 0.0, 0, None

    @property
    def enabled(self) -> bool:
        """Whether anything is reported (normal logging)."""
        return self._enabled

    @property
    def draws_bars(self) -> bool:
        """Whether stages are bars (a terminal) rather than plain lines."""
        return self._enabled and self._tty

    def start(self, label: str, total: int) -> None:
        self.finish()
        self._label, self._total = label, total
        self._done, self._started = 0, time.monotonic()
        self._last_done, self._last_time = 0, None

    def advance(self, count: int = 1) -> None:
        if not self._enabled or self._total <= 0:
            return
        self._done += count
        if self._tty:
            if self._bar is None:
                self._bar = click.progressbar(length=self._total, label=self._label,
                                              file=self._stream)
                self._bar.__enter__()
            self._bar.update(count)
        elif self._line_due(time.monotonic()):
            self._plain_line()

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
        if self._last_time is not None:
            elapsed = format_duration(time.monotonic() - self._started)
            if self._done >= self._total:
                self._write(f"{self._label}: {self._done}/{self._total} done in {elapsed}")
            else:
                self._write(f"{self._label}: stopped at {self._done}/{self._total} "
                            f"after {elapsed}")
        self._total, self._last_time = 0, None

    def _line_due(self, now: float) -> bool:
        """The plain-line rule of the module docstring; the end is left to finish()."""
        if self._done >= self._total or self._done - self._last_done < self._step * self._total:
            return False
        if self._last_time is None:
            return now - self._started >= self._delay
        return now - self._last_time >= self._interval

    def _plain_line(self) -> None:
        now = time.monotonic()
        elapsed = now - self._started
        left = elapsed * (self._total - self._done) / self._done
        percent = 100 * self._done // self._total
        self._write(f"{self._label}: {self._done}/{self._total} ({percent} %), "
                    f"{format_duration(elapsed)} elapsed, about {format_duration(left)} left")
        self._last_done, self._last_time = self._done, now

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        self.finish()
        return False
