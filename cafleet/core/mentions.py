"""Parsing the TUI composer: `@name text` sends to one agent, `@all text` to everyone."""

from __future__ import annotations

import re
from typing import NamedTuple

from cafleet.core.errors import InvalidInput

_LEADING_MENTIONS = re.compile(r"^((?:@\S+\s*)+)(.*)$", re.S)


class Composed(NamedTuple):
    """A message to send: `to` is an agent name, or None for a broadcast."""

    to: str | None
    text: str


def parse(line: str, names: list[str]) -> Composed:
    """Resolve the leading mention against the active agents' `names`.

    A mention matches a name case-insensitively, or as the unique prefix of one.
    """
    line = line.strip()
    match = _LEADING_MENTIONS.match(line)
    if not match:
        raise InvalidInput("start with @name to message one agent, or @all to message everyone")
    mentions = [m[1:] for m in match.group(1).split()]
    text = match.group(2).strip()
    if "all" in (m.lower() for m in mentions) and len(mentions) > 1:
        raise InvalidInput("@all cannot be mixed with other mentions; send to @all or to one @name")
    if len(mentions) > 1:
        raise InvalidInput(f"one recipient per message ({' '.join('@' + m for m in mentions)}); use @all to reach everyone")
    if not text:
        raise InvalidInput(f"the message to @{mentions[0]} is empty; write something after the mention")
    mention = mentions[0]
    if mention.lower() == "all":
        return Composed(None, text)
    return Composed(resolve(mention, names), text)


def resolve(mention: str, names: list[str]) -> str:
    wanted = mention.lower()
    exact = [n for n in names if n.lower() == wanted]
    if exact:
        return exact[0]
    candidates = sorted(n for n in names if n.lower().startswith(wanted))
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise InvalidInput(f"@{mention} is ambiguous: it could be {', '.join('@' + c for c in candidates)}")
    raise InvalidInput(f"no active agent named @{mention}; the roster lists who can be reached")


def complete(prefix_line: str, names: list[str]) -> str | None:
    """The line with its trailing `@partial` completed to a unique name (for the Input suggester)."""
    match = re.search(r"@(\S*)$", prefix_line)
    if not match or not match.group(1):
        return None
    partial = match.group(1).lower()
    if any(n.lower() == partial for n in names):
        return None  # already a whole name: `@al` for agent "al" must not become `@all`
    candidates = sorted(n for n in names + ["all"] if n.lower().startswith(partial) and n.lower() != partial)
    if len(candidates) != 1:
        return None
    return prefix_line[: match.start(1)] + candidates[0] + " "
