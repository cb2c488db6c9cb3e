"""Plain, immutable values that broker operations return. Nothing above the broker sees a peewee row.

NamedTuples rather than frozen dataclasses: the CLI builds these classes on every call,
and generating dataclass methods cost ~10 ms of a ~100 ms budget (NamedTuple: ~2.5 ms).
"""

from __future__ import annotations

from typing import NamedTuple


class PaneLocation(NamedTuple):
    """Where a tmux pane lives. Pane ids restart at %0 with a new server, hence socket and pid."""

    tmux_socket: str
    tmux_server_pid: int | None
    tmux_session: str
    tmux_window_id: str
    tmux_pane_id: str


class EnvPane(NamedTuple):
    """A pane as its own processes see it in `$TMUX` and `$TMUX_PANE` (no tmux call needed)."""

    tmux_socket: str
    tmux_server_pid: int | None
    tmux_pane_id: str

    def describe(self) -> str:
        return f"pane {self.tmux_pane_id} of the tmux server at {self.tmux_socket}"


class PlacementRecord(NamedTuple):
    agent_id: int
    director_id: int | None
    tmux_socket: str
    tmux_server_pid: int | None
    tmux_session: str
    tmux_window_id: str
    tmux_pane_id: str | None
    coding_agent: str
    created_at: str
    # The machine the pane lives on (`cafleet.core.hosts`); None for placements made before hosts
    # were recorded (the one machine of a SQLite database).
    host: str | None = None

    @property
    def pending(self) -> bool:
        return self.tmux_pane_id is None


class AgentRecord(NamedTuple):
    id: int
    fleet_id: int
    name: str
    description: str
    kind: str
    status: str
    registered_at: str
    deregistered_at: str | None
    skills: object | None = None
    placement: PlacementRecord | None = None

    @property
    def handle(self) -> str:
        """`name#id`, how agents are shown in messages."""
        return f"{self.name}#{self.id}"


class RosterAgent(NamedTuple):
    """An agent as the TUI's roster shows it: a fleet may hold 100,000 of them, so only what
    its entry needs (`AgentRecord` has the rest)."""

    id: int
    name: str
    kind: str
    status: str
    placement: PlacementRecord | None = None


class CourierRecord(NamedTuple):
    """One host's courier: `alive` when it stamped its row lately (a killed one stops)."""

    host: str
    pid: int
    started_at: str
    seen_at: str
    alive: bool


class FleetRecord(NamedTuple):
    id: int
    label: str
    created_at: str
    deleted_at: str | None
    director_id: int | None
    active_agents: int = 0
    unread: int = 0


class FleetCreated(NamedTuple):
    fleet: FleetRecord
    director: AgentRecord
    administrator: AgentRecord


class DeliveryCounts(NamedTuple):
    """How a broadcast's deliveries stand, all of them counted."""

    total: int
    acked: int
    unread: int


class TaskRecord(NamedTuple):
    id: int
    fleet_id: int
    owner_id: int
    from_agent_id: int
    from_name: str
    to_agent_id: int | None
    to_name: str | None
    kind: str
    state: str
    created_at: str
    state_changed_at: str
    acked_at: str | None
    origin_task_id: int | None
    reply_to_id: int | None
    text: str
    notified_at: str | None
    notify_status: str | None
    # For a broadcast summary shown to its sender: the delivery tasks it fanned out to.
    deliveries: tuple = ()
    # True when `text` is only the beginning of the message (the TUI's list entries hold a
    # bounded prefix; `cafleet.broker.reads.message_text` has the whole).
    text_truncated: bool = False
    # Set when `deliveries` holds only the first of a broadcast's deliveries (the TUI's list
    # entries hold a bounded number): how all of them stand.
    delivery_counts: DeliveryCounts | None = None
    # The entry a reply answers in a fleet-wide list, where a broadcast appears once, as its
    # summary: the summary's id for a reply to one recipient's delivery, else `reply_to_id`.
    reply_to_entry_id: int | None = None

    @property
    def delivery_totals(self) -> DeliveryCounts:
        """How every delivery of this broadcast stands, whether or not `deliveries` holds all."""
        if self.delivery_counts is not None:
            return self.delivery_counts
        from cafleet.core.domain import TaskState

        states = [d.state for d in self.deliveries]
        return DeliveryCounts(len(states), states.count(TaskState.ACKED), states.count(TaskState.UNREAD))


class Inbox(NamedTuple):
    """One page of a poll: the tasks shown and how many more match after them."""

    tasks: tuple[TaskRecord, ...]
    remaining: int
    next_since: str | None


class BroadcastSent(NamedTuple):
    summary: TaskRecord
    deliveries: tuple[TaskRecord, ...]


class FleetDeleted(NamedTuple):
    fleet_id: int
    deregistered: int
    already_deleted: bool


class WorktreeRecord(NamedTuple):
    """A member's git worktree: where it is, its branch, and the base it branched from. The
    row outlives the member until nothing of the worktree is left on disk (`closed_at`)."""

    agent_id: int
    fleet_id: int
    director_id: int | None
    path: str
    branch: str  # without refs/heads/
    base_ref: str | None  # the full ref it branched from (refs/heads/main), None for a bare commit
    base_commit: str  # the commit it branched from
    git_dir: str  # the repository's common git directory
    source: str  # the Director's work tree it was made from
    host: str | None
    tmux_socket: str | None  # the tmux server whose panes may be working in it
    created_at: str
    closed_at: str | None = None

    @property
    def base_name(self) -> str:
        return ref_name(self.base_ref, self.base_commit)


def ref_name(ref: str | None, commit: str) -> str:
    """A base as a reader knows it: `main`, `origin/main`, `v1.2`, or a short hash."""
    if ref is None:
        return commit[:7]
    for prefix in ("refs/heads/", "refs/remotes/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


class SessionRecord(NamedTuple):
    """What brings a member's agent back after its pane is lost: the conversation it saved and
    what it was started with."""

    agent_id: int
    session_id: str | None  # the agent's own id for its conversation; None until found
    marker: str  # text only this member's first prompt holds (`SessionProbe.marker`)
    cwd: str  # where the agent was started
    started_at: str  # when its pane was spawned
    executable: str
    state_environment: dict[str, str]  # where the agent keeps its state (HOME, CODEX_HOME …)
    prompt: str  # its starting prompt as first typed, for a fresh start
    model: str | None
    autonomy: dict  # `cafleet.backends.Autonomy` as it was chosen
    restored_at: str | None = None
    restores: int = 0
