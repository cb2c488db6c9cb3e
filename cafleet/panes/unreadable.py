"""The message a Director gets when a member's screen cannot be read: which agent, which
version, and what to do about it."""

from __future__ import annotations

import shutil

from cafleet.backends import backend
from cafleet.backends.versions import AgentVersion
from cafleet.core.invocation import fleet_command

UNREADABLE_TAG = "[unreadable]"


def agent_version(coding_agent: str, executable: str | None) -> AgentVersion:
    """The version the member runs: from the executable it was started with, else the one on PATH."""
    spec = backend(coding_agent)
    found = executable or shutil.which(spec.binary)
    return spec.version(found) if found else AgentVersion(coding_agent, None, spec.verified_versions)


def unreadable_text(fleet_id: int, director_id: int, member_id: int, handle: str, version: AgentVersion) -> str:
    command = fleet_command(fleet_id)
    spec = backend(version.agent)
    fix = (
        f"install a verified version (npm install -g {spec.package}@{version.verified[-1]}), then "
        f"`{command} member restart --agent-id {director_id} --member-id {member_id}`"
        if version.verified and spec.package
        else f"check its screen, then `{command} member restart --agent-id {director_id} --member-id {member_id}`"
    )
    return (
        f"{UNREADABLE_TAG} {handle} runs {version.describe()}, and its screen shows no state cafleet can read; "
        f"its notices wait. See it with: {command} member capture --agent-id {director_id} --member-id {member_id}; "
        f"fix: {fix}"
    )
