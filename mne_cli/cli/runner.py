"""What every command shares: logging set-up and error handling.

``ToolCommand`` is the click command class of all seven tools. Before the
command body runs it sends log records to stderr at the level chosen with
``--verbose``/``--quiet``; an :class:`~mne_cli.errors.MneCliError` raised by
the core becomes one line on stderr and exit status 1. Usage errors stay
click's (exit status 2).
"""

from __future__ import annotations

import logging
import shlex
import sys

import click

from ..errors import MneCliError

_LEVELS = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}


class ToolError(click.ClickException):
    """A runtime error reported as ``<program>: <message>``, exit status 1."""

    exit_code = 1

    def __init__(self, program: str, message: str):
        super().__init__(message)
        self.program = program

    def show(self, file=None) -> None:
        click.echo(f"{self.program}: {self.message}", err=True)


class ToolCommand(click.Command):
    """A click command that configures logging and reports our errors.

    The raw argument list is kept in ``ctx.meta["raw_args"]`` for commands
    whose options act on the item named before them (``surf2bem``).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["raw_args"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        configure_logging(ctx.meta.get("verbosity", 0))
        for message in ctx.meta.get("unit_warnings", []):
            logging.getLogger("mne_cli").warning("%s", message)
        try:
            return super().invoke(ctx)
        except MneCliError as err:
            raise ToolError(ctx.info_name, _one_line(str(err))) from None
        except KeyboardInterrupt:
            raise ToolError(ctx.info_name, "interrupted; no output was written") from None


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
