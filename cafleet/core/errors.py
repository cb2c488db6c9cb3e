"""Typed errors raised by the broker. The CLI prints them as `Error: …`; the TUI as notices.

Every message names the offending value and says what to do instead.
"""


class CafleetError(Exception):
    """Base class: an operation was refused. `exit_code` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(CafleetError):
    """The request itself is malformed (a usage error): bad text, bad option value."""

    exit_code = 2


class NotFound(CafleetError):
    """The fleet, agent or task does not exist, or is invisible from the caller's fleet."""


class Refused(CafleetError):
    """The request is well-formed but not allowed in the current state or for this caller."""


class Conflict(Refused):
    """The request collides with existing data, e.g. a duplicate active agent name."""


class SchemaTooNew(CafleetError):
    """The database was written by a newer cafleet than this one."""


class NotInTmux(Refused):
    """A command that needs the caller's tmux pane was run outside tmux."""
