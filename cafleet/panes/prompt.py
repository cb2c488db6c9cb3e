"""The prompt a member starts with, and `{placeholder}` substitution in custom prompts."""

from __future__ import annotations

import re
import string

from cafleet.core.errors import InvalidInput
from cafleet.core.terminal import escape_char, one_line
from cafleet.core.text import is_blank

# Every C0 control but tab, newline and CR (CRLF files), DEL and the C1 controls: a prompt
# travels as one argument of the agent's command line (a NUL cannot) and shows in its pane.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

PLACEHOLDERS = ("fleet_id", "agent_id", "director_id", "name", "coding_agent", "cafleet")

# Commands are spelled with {cafleet}, the absolute path of this cafleet: the member's shell
# tool may be a login shell that does not see the Director's PATH.
DEFAULT_PROMPT = """\
You are {name}, a member of cafleet fleet {fleet_id}: your agent id is {agent_id} and your \
Director is agent {director_id}. Messages for you arrive as notices that start with \
"[cafleet msg TASK from NAME#ID". Run these commands exactly as written (the path is part of \
them). Read your inbox: {cafleet} --fleet-id {fleet_id} message poll --agent-id {agent_id} \
-- acknowledge a message once handled: {cafleet} --fleet-id {fleet_id} message ack \
--agent-id {agent_id} --task-id TASK -- report to your Director: {cafleet} --fleet-id {fleet_id} \
message send --agent-id {agent_id} --to {director_id} --text "..." (to answer a message, send to \
its sender's id and add --reply-to TASK). Unsure of your ids? {cafleet} --fleet-id {fleet_id} whoami \
-- it answers from this pane. Wait for your first notice."""


# Added after any starting prompt, default or custom, of a member made with `--worktree`.
WORKTREE_NOTE = """\
You work in a git worktree of your own, {path}, on branch {branch} (made from {base}): make your \
changes there and commit them on that branch (git add, git commit); your Director reviews and \
merges them. Do not switch branches."""


def with_session_mark(prompt: str, mark: str) -> str:
    """`prompt` ending in a line only this member's first prompt holds: how its conversation is
    told apart, among those its agent saved, from one started beside it in the same second."""
    return f"{prompt}\n\n(cafleet session mark {mark})"


FRESH_RESTART_NOTE = (
    "Note: your pane was lost and your earlier conversation could not be resumed, so you start "
    "afresh with your starting prompt below. Read your messages first: they say where the work stands."
)
HUNG_START_NOTE = (
    "Note: your coding agent showed nothing for a minute after it first started, so cafleet started "
    "it again. Read your messages first: some may have waited for you."
)


def worktree_note(path: str, branch: str, base: str) -> str:
    return WORKTREE_NOTE.format(path=path, branch=branch, base=base)


def check_template(template: str) -> None:
    """Refuse unknown or malformed placeholders, and text no coding agent should be started
    with, before anything is written."""
    if is_blank(template):
        raise InvalidInput("prompt is empty; omit --prompt to use the built-in one")
    control = _CONTROL.search(template)
    if control:
        raise InvalidInput(
            f"prompt holds the control character {escape_char(control.group())} at character {control.start()}; "
            "remove it (newlines and tabs are fine)"
        )
    allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    try:
        fields = [
            (field, spec, conversion) for _, field, spec, conversion in string.Formatter().parse(template) if field is not None
        ]
    except ValueError as exc:
        raise InvalidInput(
            f"prompt has a malformed placeholder ({exc}); use {allowed}, and write literal braces as {{{{ and }}}}"
        ) from None
    for field, spec, conversion in fields:
        written = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if field not in PLACEHOLDERS:
            raise InvalidInput(
                f"prompt placeholder {one_line(written)} is unknown; use {allowed}, or write literal braces as {{{{ and }}}}"
            )
        if spec or conversion:
            raise InvalidInput(
                f"prompt placeholder {one_line(written)} has a format spec or conversion; write it as {{{field}}} "
                f"(placeholders: {allowed}), or write literal braces as {{{{ and }}}}"
            )


def render(template: str | None, **values) -> str:
    check_template(template if template is not None else DEFAULT_PROMPT)
    return (template if template is not None else DEFAULT_PROMPT).format(**values)
