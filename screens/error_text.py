"""The TUI's words for a refused request: each field as what the user types or picks, each fix
as the key or place that does it. The broker says what is wrong and which fix helps
(`cafleet.core.errors`); a fix the TUI has no way of its own to do keeps its neutral words."""

from __future__ import annotations

from cafleet.core.errors import CafleetError, Field, Fix
from cafleet.services.worktree_refusals import ReviewRefused

FIELDS: dict[Field, str] = {
    Field.RECIPIENT: "the @mention",
}

_TYPE_A_NAME = "type @ and a name (→ completes it)"

FIXES: dict[Fix, str] = {
    Fix.FIND_FLEET: "go back to the fleet list (Escape) and pick one",
    Fix.REPLACE_FLEET: "go back to the fleet list (Escape) and pick a live one",
    Fix.FIND_AGENT: "the fleet's roster (Ctrl+R) lists its agents",
    Fix.NAME_RECIPIENT: _TYPE_A_NAME,
    Fix.CHECK_RECIPIENT: _TYPE_A_NAME,
    Fix.NAME_KNOWN_RECIPIENT: _TYPE_A_NAME,
    Fix.USE_HANDLE: _TYPE_A_NAME,
    Fix.PICK_ACTIVE_RECIPIENT: "type @ and the name of an active agent (→ completes it)",
    Fix.BROADCAST: "type @all to message everyone",
    Fix.FIND_RECEIVED: "the Inbox tab (Ctrl+O) lists the messages you received",
    Fix.FIND_MEMBERS: "the fleet's roster (Ctrl+R) lists the Director's members",
    Fix.SEARCH_WORDS: 'type letters or digits, e.g. parser or "exact phrase"',
}


def error_text(error: CafleetError) -> str:
    """What a notice or an error line shows for `error`, in the TUI's terms."""
    if isinstance(error, ReviewRefused):
        from .review_words import review_refusal_text

        return review_refusal_text(error)
    field = FIELDS.get(error.field, error.field.value) if error.field is not None else ""
    fix = FIXES.get(error.hint.fix, error.hint.fix.value) if error.hint is not None else ""
    return error.worded(field, fix)
