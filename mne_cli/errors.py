"""Exceptions raised by mne_cli.

Every message is one sentence meant for the user: it names the file (when
there is one), says what is wrong and, when known, how to fix it. The command
runner prints it on one line of stderr and exits with status 1, or with
status 2 and the usage line for a :class:`UsageError`.
"""


class MneCliError(Exception):
    """Base class of every error a user can cause with bad input."""


class FifError(MneCliError):
    """A FIF file is missing, unreadable, corrupt or truncated."""


class InputError(MneCliError):
    """An input file (or option value) has contents we cannot use."""


class GeometryError(MneCliError):
    """A surface or source geometry fails a consistency check."""


class OutputError(MneCliError):
    """An output file cannot be created or written."""


class UsageError(MneCliError):
    """Arguments that contradict each other, or a value the job cannot use as given.

    ``option`` names the command-line option concerned, when there is one;
    the commands report the error as click's usage errors (exit status 2).
    """

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


class NotImplementedYetError(MneCliError):
    """The command parsed its options but its computation is not built yet."""
