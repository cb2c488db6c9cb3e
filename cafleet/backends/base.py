"""What every coding-agent backend provides: how to start it so it can run cafleet."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from cafleet.backends.versions import AgentVersion
from cafleet.core.agent_state import ScreenReading
from cafleet.core.errors import InvalidInput
from cafleet.panes.processes import Program


class Autonomy(NamedTuple):
    """How much a member may do without asking, as the Director chose it (None = default)."""

    permission_mode: str | None = None  # claude
    sandbox: str | None = None  # codex
    approval: str | None = None  # codex
    extra_args: tuple[str, ...] = ()  # passed to the agent as they are, before the prompt


class WorktreeAccess(NamedTuple):
    """A member that works in a git worktree: the worktree, and the directories of the
    repository that a commit made there writes (`cafleet.git.worktrees.commit_directories`)."""

    path: Path
    commit_directories: tuple[Path, ...]


# What a member in a worktree may run without asking, besides editing files there: staging and
# committing its work, and looking at the state of its worktree.
GIT_COMMANDS = ("git add *", "git commit *", "git status *")


# Where the agents keep their saved conversations: a member resumed later must look where it saved.
STATE_VARIABLES = (
    "HOME",
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
    "GEMINI_CLI_HOME",
    "QWEN_HOME",
    "PI_CODING_AGENT_DIR",
    "PI_CODING_AGENT_SESSION_DIR",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
)


class SpawnContext(NamedTuple):
    executable: str
    name: str
    prompt: str
    model: str | None
    fleet_id: int
    database_dir: Path  # where the member must write: the SQLite file's directory, or the locks'
    autonomy: Autonomy
    environment: Mapping[str, str]
    database_over_network: bool = False  # PostgreSQL: the member must reach the server
    # Set when the prompt was too long for the command line: `prompt` then tells the agent to
    # read this file first, and the plan must let the agent read it.
    prompt_file: Path | None = None
    worktree: WorktreeAccess | None = None  # set when the member starts in a worktree of its own
    # The agent's saved conversation: with `resume`, the plan resumes it (and types `prompt`
    # as its next turn only when it is not empty); without, a backend that can choose its
    # session's id (`Backend.chosen_session_id`) starts the new conversation under it.
    session_id: str | None = None
    resume: bool = False


class SessionProbe(NamedTuple):
    """What cafleet knows of a member's agent when it looks for the conversation the agent saved."""

    cwd: Path  # where the agent was started
    marker: str  # text only this member's first prompt holds: it tells apart two agents started together
    started_at: float  # when its pane was spawned (epoch seconds): older sessions are not looked at
    environment: Mapping[str, str]  # the pane's environment: where the agent keeps its state (HOME, CODEX_HOME …)
    executable: str = ""  # the agent's executable that started it (opencode lists its sessions with it)


class SpawnPlan(NamedTuple):
    argv: list[str]
    env: dict[str, str]
    grants: tuple[str, ...]  # what was granted, in words the Director sees
    # Files the agent is started with (gemini's policy): written, private, before it starts.
    files: tuple[tuple[Path, str], ...] = ()
    # Environment variables the agent must not inherit from its pane (CI=true turns gemini
    # headless: in a pane it would exit at once).
    unset: tuple[str, ...] = ()

    @property
    def launch_argv(self) -> list[str]:
        """What the pane runs: `argv`, under `env -u` when variables are to be unset (`env`
        rather than the shell's `unset`, which fish lacks)."""
        if not self.unset:
            return self.argv
        return ["env", *(arg for name in self.unset for arg in ("-u", name)), *self.argv]


def ci_variables(environment: Mapping[str, str], always: tuple[str, ...]) -> tuple[str, ...]:
    """`always`, and every `CI_*` variable in `environment`: what tells a program it runs in a
    CI job, for an agent that then stops drawing for a terminal (a member never is a CI job)."""
    return (*always, *sorted(name for name in environment if name.startswith("CI_") and name not in always))


def write_plan_files(plan: SpawnPlan) -> None:
    """Write the plan's files (0600, each in a 0700 directory). They are named by their content,
    so one already there is left as it is: a running agent's file never changes under it."""
    for path, text in plan.files:
        if path.exists():
            continue
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)


class Backend:
    """One coding agent. Subclasses set `name`/`binary` and build the spawn plan."""

    name: str  # a `CodingAgent`, or a backend file's own name
    binary: str = ""
    exit_line: str = "/exit"  # typed to make the agent quit
    # Options of `Autonomy` this backend understands, e.g. {"permission_mode"}.
    autonomy_options: frozenset[str] = frozenset()
    # The key that submits input while a turn runs, so it waits for the next turn.
    queue_key: str = "Enter"
    # Its npm package, and the versions its screen reader was built from and proven with.
    package: str = ""
    verified_versions: tuple[str, ...] = ()
    # The fewest rows its pane may have for its screen to be read (the input box drawn whole);
    # a member is never spawned into a smaller pane (cafleet.panes.pane_room).
    min_rows: int = 10

    def version(self, executable: str) -> AgentVersion:
        """The installed version `executable` runs, against the verified ones."""
        from cafleet.backends.versions import installed_version

        found = installed_version(executable, self.package) if self.package else None
        return AgentVersion(self.name, found, self.verified_versions)

    # True when the agent keeps running after its pane is closed (it ignores the hang-up):
    # whoever closes the pane, or finds it lost, ends its processes too.
    outlives_its_pane: bool = False
    # True when the agent may take a moment to show pasted text (and drops an Enter pressed
    # before it does): typing waits until the box shows the text before pressing Enter.
    paste_shows_late: bool = False
    # Keys that turn the agent's shell mode off, for an agent that keeps it on after a
    # command (`member exec`); empty when shell mode ends with the command.
    shell_mode_off_keys: tuple[str, ...] = ()

    # The values `--approval` takes, and its default, for an agent whose only autonomy option
    # it is (gemini, qwen, pi).
    approvals: tuple[str, ...] = ()
    default_approval = ""

    def check_autonomy(self, autonomy: Autonomy) -> Autonomy:
        """Refuse options meant for another backend; returns `autonomy` with defaults filled in."""
        for option, flag in (("permission_mode", "--permission-mode"), ("sandbox", "--sandbox"), ("approval", "--approval")):
            if getattr(autonomy, option) is not None and option not in self.autonomy_options:
                raise InvalidInput(f"{flag} is not an option of {self.name}; it applies to {_owners(option)} members only")
        if self.approvals:
            return autonomy._replace(approval=self.approval_of(autonomy))
        return autonomy

    def approval_of(self, autonomy: Autonomy) -> str:
        """The approval `autonomy` asks for (the default when it names none), checked."""
        return choose(autonomy.approval, self.approvals, self.default_approval, "--approval")

    def plan(self, context: SpawnContext) -> SpawnPlan:
        raise NotImplementedError

    # The agent starts a conversation under an id it is given (`--session-id`); otherwise it
    # picks its own and `find_session` finds it afterwards.
    takes_session_id = False

    def chosen_session_id(self) -> str | None:
        """A fresh id to start a new member's conversation under (`SpawnContext.session_id`),
        or None when the agent picks its own."""
        if not self.takes_session_id:
            return None
        import uuid  # it imports platform (~1 ms): only a spawn that needs an id pays for it

        return str(uuid.uuid4())

    def find_session(self, probe: SessionProbe) -> str | None:
        """The id of the conversation this member's agent saved, once it has saved one (its
        first prompt submitted); None before that, or when there is none to resume."""
        raise NotImplementedError

    def session_saved(self, session_id: str, environment: Mapping[str, str]) -> bool:
        """Whether the conversation `session_id` is saved where this agent would resume it
        from (a member killed before its first prompt was submitted saved none)."""
        return True

    def choice_keys(self, choice: int) -> list[str]:
        """tmux key names that pick option `choice` of the agent's menu."""
        return [str(choice)]

    def runs_agent(self, program: Program) -> bool:
        """True when `program` is this agent itself (the allow-list for typing)."""
        raise NotImplementedError

    def read_screen(self, lines: list[str]) -> ScreenReading:
        """The agent's state from its captured screen (scrollback included)."""
        raise NotImplementedError


def _owners(option: str) -> str:
    """The coding agents that understand an `Autonomy` option, in words."""
    from cafleet.backends import BACKENDS  # the registry imports this module first

    names = [name for name, spec in BACKENDS.items() if option in spec.autonomy_options]
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def choose(value: str | None, allowed: tuple[str, ...], default: str, flag: str) -> str:
    """`value` if allowed (None means `default`), else a usage error listing the choices."""
    if value is None:
        return default
    if value not in allowed:
        raise InvalidInput(f"{flag} {value!r} is not one of {', '.join(allowed)}")
    return value


def model_args(model: str | None) -> list[str]:
    return ["--model", model] if model else []
