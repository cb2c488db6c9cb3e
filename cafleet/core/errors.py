"""Typed errors raised below the faces. The CLI prints them as `Error: …`; the TUI as notices.

Every message names the offending value and says what to do instead. Where the words depend
on the face (a flag and a command for the CLI, a key or a field for the TUI), the error
carries them as data instead of a sentence: `field` (which input held the bad value), `value`
(what it held) and `hint` (the fix). `message` is the sentence worded for no face in
particular; a face words its own with `worded` (cafleet/cli/error_text.py,
screens/error_text.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Field(StrEnum):
    """The input of a request that held the bad value. Each face names it in its own terms: the
    CLI by its flag (`--to`), the TUI by what the user types or picks (the @mention)."""

    FLEET = "fleet"
    AGENT = "agent"  # an agent named by its id: the acting one, or the one acted on
    RECIPIENT = "recipient"
    SENDER = "sender"  # the agent a search keeps the messages of
    QUERY = "query"  # the words searched for
    TASK = "task"
    MEMBER = "member"
    PANE = "pane"
    DESCRIPTION = "description"
    SKILLS = "skills"
    LABEL = "label"


class Fix(StrEnum):
    """What gets a refused request through, worded for no face in particular. A face says the
    same fix as its own action: a command for the CLI, a key for the TUI."""

    FIND_FLEET = "look for the fleet among the live fleets, or create one"
    REPLACE_FLEET = "create a new fleet, or pick a live one"
    FIND_AGENT = "look for the agent among the fleet's agents"
    REGISTER_AGAIN = "register again as a new agent"
    NAME_RECIPIENT = "name the recipient by its agent id or name"
    CHECK_RECIPIENT = "look for the recipient among the fleet's agents"
    NAME_KNOWN_RECIPIENT = "name one of the fleet's active agents by its name, id or name#id"
    PICK_ACTIVE_RECIPIENT = "pick the recipient among the fleet's active agents"
    USE_HANDLE = "name the agent by its name#id as the fleet lists it"
    BROADCAST = "broadcast to reach every other agent"
    FIND_RECEIVED = "look for the task among the messages you received, read ones too"
    FIND_MEMBERS = "look for the member among the Director's members"
    FIND_ANY_SENDER = "look for the sender among all the fleet's agents, deregistered ones too"
    SEARCH_WORDS = 'search for letters or digits, e.g. parser or "exact phrase"'
    SPAWN_AGAIN = "create the member again"
    END_FLEET = "end the fleet instead"
    OWN_PANE = "register the agent from its own pane, or without a pane"
    KEEP_PANE_FLEET = "keep directing that fleet, direct a second one from this pane anyway, or end that fleet first"


@dataclass(frozen=True)
class Hint:
    """A fix and what it points at, so that a face can name it in a command or on a screen."""

    fix: Fix
    fleet_id: int | None = None  # the fleet whose agents, members or messages the fix looks at
    agent_id: int | None = None  # the agent the fix acts as (FIND_MEMBERS: the Director)
    name: str | None = None  # the agent name or handle the fix uses (USE_HANDLE, OWN_PANE)

    def __str__(self) -> str:
        return self.fix.value


class CafleetError(Exception):
    """Base class: an operation was refused. `exit_code` is what the CLI exits with.

    `problem` says what is wrong. With `names_field` it is said of the field, whose name a
    face puts first (`--skills` / `skills` + ` is not valid JSON`); a `hint` follows it after
    `fix_after`. Without field or hint, `message` is `problem` as given.
    """

    exit_code = 1
    fix_after = "; "

    def __init__(
        self,
        problem: str,
        *,
        field: Field | None = None,
        value: str | int | None = None,
        hint: Hint | None = None,
        names_field: bool = False,
    ):
        self.problem = problem
        self.field = field
        self.value = value
        self.hint = hint
        self.names_field = names_field and field is not None
        self.message = self.worded(field.value if field is not None else "", str(hint) if hint is not None else "")
        super().__init__(self.message)

    def worded(self, field_name: str, fix: str) -> str:
        """The message with the field's name and the fix in a face's own words."""
        text = f"{field_name} {self.problem}" if self.names_field else self.problem
        return f"{text}{self.fix_after}{fix}" if fix else text


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
