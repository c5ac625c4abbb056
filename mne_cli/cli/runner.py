"""What every command shares: logging set-up, error and signal handling.

``ToolCommand`` is the click command class of all seven tools. Before the
command body runs it sends log records to stderr at the level chosen with
``--verbose``/``--quiet``; an :class:`~mne_cli.errors.MneCliError` raised by
the core becomes one line on stderr and exit status 1. Usage errors stay
click's (exit status 2).

Signals: SIGINT (Ctrl-C), SIGTERM (``kill``, ``timeout``, Slurm's time
limit) and SIGHUP unwind the command like an error, so that the temporary
file of an output being written is removed and an earlier output is left as
it was; one line says so, and the process then dies of the same signal
(status 128 + n in a shell), the Unix convention that makes a calling
``for`` loop or ``make`` stop instead of going on with the next subject.
Run in-process (click's test runner) the command exits with 128 + n instead.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shlex
import signal
import sys
import threading

import click

from ..errors import MneCliError, UsageError

_LEVELS = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}


class ToolError(click.ClickException):
    """A runtime error reported as ``<program>: <message>``, exit status 1."""

    exit_code = 1

    def __init__(self, program: str, message: str):
        super().__init__(message)
        self.program = program

    def show(self, file=None) -> None:
        click.echo(f"{self.program}: {self.message}", err=True)


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like KeyboardInterrupt does for SIGINT."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


#: Signals that end a command cleanly (SIGINT arrives as KeyboardInterrupt).
UNWINDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class ToolCommand(click.Command):
    """A click command that configures logging and reports our errors.

    The raw argument list is kept in ``ctx.meta["raw_args"]`` for commands
    whose options act on the item named before them (``surf2bem``).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["raw_args"] = list(args)
        options = {opt: param for param in self.params if isinstance(param, click.Option)
                   for opt in (*param.opts, *param.secondary_opts)}
        _refuse_lookalikes(args, options, ctx)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as err:
            hint = _value_given_to_switch(ctx.meta["raw_args"], options)
            if hint and "extra argument" in err.format_message():
                raise click.UsageError(f"{err.format_message()} {hint}", ctx) from None
            raise

    def invoke(self, ctx: click.Context):
        configure_logging(ctx.meta.get("verbosity", 0))
        for message in ctx.meta.get("unit_warnings", []):
            logging.getLogger("mne_cli").warning("%s", message)
        from ..parallel import limits

        try:
            with _signals_unwind(), limits(ctx.meta.get("jobs")):
                return super().invoke(ctx)
        except UsageError as err:
            if err.option:
                raise click.BadParameter(str(err), ctx, param_hint=err.option) from None
            raise click.UsageError(str(err), ctx) from None
        except MneCliError as err:
            raise ToolError(ctx.info_name, _one_line(str(err))) from None
        except KeyboardInterrupt:
            _stopped_by(ctx, signal.SIGINT)
        except Terminated as stop:
            _stopped_by(ctx, stop.signum)

    def main(self, args=None, **kwargs):
        """Run the command; stopped by a signal, die of that signal (module docstring).

        Only a real process entry (``args`` taken from ``sys.argv``) re-raises
        the signal; the test runner passes ``args`` and sees 128 + n.
        """
        try:
            return super().main(args, **kwargs)
        except SystemExit as done:
            signum = done.code - 128 if isinstance(done.code, int) else 0
            if args is None and signum in (signal.SIGINT, *UNWINDING_SIGNALS):
                sys.stderr.flush()
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            raise


#: Dashes that a word processor or a web page puts where "--" was typed.
_DASH_LOOKALIKES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"


def _refuse_lookalikes(args: list[str], options: dict, ctx: click.Context) -> None:
    """A pasted en dash (``\u2013overwrite``) or a single-dash long option
    (``-spacing``, MNE-C habit elsewhere) is a usage error naming the option meant."""
    for arg in args:
        if arg == "--":
            return
        name = arg.split("=", 1)[0]
        stripped = name.lstrip("-" + _DASH_LOOKALIKES)
        if name[:1] in _DASH_LOOKALIKES:
            meant = "--" + stripped if "--" + stripped in options else "-" + stripped
            raise click.UsageError(f"{arg!r} starts with a typographic dash, not '-' (pasted "
                                   f"from a document?); did you mean {meant}?", ctx)
        if name.startswith("-") and not name.startswith("--") and len(name) > 2 \
                and name not in options:
            if "--" + stripped in options:
                raise click.UsageError(f"No such option {name}; long options take two "
                                       f"dashes: did you mean --{stripped}?", ctx)
            shorts = {opt[1] for opt in options if len(opt) == 2}
            if stripped.isalpha() and not set(stripped) <= shorts:  # not -vq
                raise click.UsageError(f"No such option {name}: {ctx.info_name} has no "
                                       f"--{stripped} either (see --help)", ctx)


def _value_given_to_switch(args: list[str], options: dict) -> str | None:
    """The hint for a value written after an on/off switch (``--mricoord file``)."""
    for before, arg in itertools.pairwise(args):
        param = options.get(before)
        if param is not None and param.is_flag and not arg.startswith("-"):
            return f"({before} is a switch and takes no value: drop {arg!r} after it.)"
    return None


def _stopped_by(ctx: click.Context, signum: int):
    click.echo(f"{ctx.info_name}: stopped by {signal.Signals(signum).name}; no output was "
               "written", err=True)
    raise click.exceptions.Exit(128 + signum)


@contextlib.contextmanager
def _signals_unwind():
    """While the command runs, SIGTERM and SIGHUP raise :class:`Terminated`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def unwind(signum, frame):
        raise Terminated(signum)

    previous = {signum: signal.signal(signum, unwind) for signum in UNWINDING_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def command_line(ctx: click.Context) -> str:
    """The invocation as a shell line, for the provenance (ENV) block."""
    return shlex.join([ctx.info_name or "", *ctx.meta.get("raw_args", [])])


def configure_logging(verbosity: int) -> None:
    """Send mne_cli's log records to stderr; -1 quiet, 0 normal, 1 verbose."""
    logger = logging.getLogger("mne_cli")
    logger.setLevel(_LEVELS[max(-1, min(1, verbosity))])
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.propagate = False


def _one_line(message: str) -> str:
    return " ".join(message.split())
