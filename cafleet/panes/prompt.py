"""The prompt a member starts with, and `{placeholder}` substitution in custom prompts."""

from __future__ import annotations

import string

from cafleet.errors import InvalidInput

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


def check_template(template: str) -> None:
    """Refuse unknown or malformed placeholders before anything is written."""
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise InvalidInput(
            f"prompt has a malformed placeholder ({exc}); write literal braces as {{{{ and }}}}"
        ) from None
    for field in fields:
        if field not in PLACEHOLDERS:
            shown = "{" + field + "}"
            raise InvalidInput(
                f"prompt placeholder {shown} is unknown; use {', '.join('{' + p + '}' for p in PLACEHOLDERS)} "
                "or write literal braces as {{ and }}"
            )
    if not template.strip():
        raise InvalidInput("prompt is empty; omit --prompt to use the built-in one")


def render(template: str | None, **values) -> str:
    check_template(template if template is not None else DEFAULT_PROMPT)
    return (template if template is not None else DEFAULT_PROMPT).format(**values)
