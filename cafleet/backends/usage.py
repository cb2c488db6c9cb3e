"""A member's usage, read from its agent's own files: one reader per built-in coding agent
(`<agent>_usage`); a backend file's agent, or a member whose conversation is not saved yet,
has none (None)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cafleet.core.usage import MemberUsage

Reader = Callable[[str, Mapping[str, str]], MemberUsage | None]


def reader(coding_agent: str) -> Reader | None:
    if coding_agent == "claude":
        from cafleet.backends.claude_usage import read
    elif coding_agent == "codex":
        from cafleet.backends.codex_usage import read
    elif coding_agent == "opencode":
        from cafleet.backends.opencode_usage import read
    elif coding_agent == "gemini":
        from cafleet.backends.gemini_usage import read
    elif coding_agent == "qwen":
        from cafleet.backends.qwen_usage import read
    elif coding_agent == "pi":
        from cafleet.backends.pi_usage import read
    else:
        return None
    return read


def read_member_usage(coding_agent: str, session_id: str | None, environment: Mapping[str, str]) -> MemberUsage | None:
    """What the member's saved conversation `session_id` records, or None when there is none to read."""
    read = reader(coding_agent)
    if read is None or not session_id:
        return None
    return read(session_id, environment)


def forget() -> None:
    """Forget every file read: the next read is a cold one."""
    from cafleet.backends import opencode_usage, usage_files

    usage_files.forget()
    opencode_usage.forget()
