"""Peewee models over the tables that `cafleet.store.migrations` creates.

Only the broker layer uses these; everything above it sees `cafleet.core.records` dataclasses.
Timestamps are TEXT in the fixed-width format of `cafleet.core.timestamps`.
"""

from typing import TYPE_CHECKING

from cafleet.core.domain import AgentStatus
from cafleet.store.orm import (
    AutoField,
    BooleanField,
    CompositeKey,
    DatabaseProxy,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

# The engine (SQLite or PostgreSQL) is chosen when `cafleet.store.db.open_database` connects.
# `database.atomic()` is a write transaction on both, writers queueing one behind another;
# `database.atomic(lock_type="DEFERRED")` is a read-only snapshot.
database = DatabaseProxy()


# Peewee adds an `id` primary key and a `<name>_id` column attribute for every foreign key
# when each class is created; the TYPE_CHECKING blocks below declare them for mypy, the one
# place where peewee's dynamic attributes meet the type checker.


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Fleet(BaseModel):
    if TYPE_CHECKING:
        id: AutoField[int]

    label = TextField(default="")
    created_at = TextField()
    deleted_at = TextField(null=True)
    # A plain integer: fleets and agents reference each other, and the root Director is
    # inserted after its fleet.
    director_id = IntegerField(null=True)

    class Meta:
        table_name = "fleets"


class Agent(BaseModel):
    if TYPE_CHECKING:
        id: AutoField[int]
        fleet_id: int

    fleet = ForeignKeyField(Fleet, backref="agents", lazy_load=False)
    name = TextField()
    description = TextField(default="")
    kind = TextField()
    status = TextField(default=AgentStatus.ACTIVE)
    registered_at = TextField()
    deregistered_at = TextField(null=True)
    skills = TextField(null=True)

    class Meta:
        table_name = "agents"


class Placement(BaseModel):
    if TYPE_CHECKING:
        agent_id: int
        director_id: int | None

    agent = ForeignKeyField(Agent, primary_key=True, lazy_load=False)
    director = ForeignKeyField(Agent, null=True, lazy_load=False, backref="owned_placements")
    tmux_socket = TextField()
    tmux_server_pid = IntegerField(null=True)
    tmux_session = TextField()
    tmux_window_id = TextField()
    tmux_pane_id = TextField(null=True)
    coding_agent = TextField()
    created_at = TextField()
    spawn_token = TextField(null=True)
    spawner_pid = IntegerField(null=True)
    spawner_identity = TextField(null=True)
    host = TextField(null=True)

    class Meta:
        table_name = "placements"


class Task(BaseModel):
    if TYPE_CHECKING:
        id: AutoField[int]
        fleet_id: int
        owner_id: int
        sender_id: int
        recipient_id: int | None
        origin_id: int | None
        reply_to_id: int | None

    fleet = ForeignKeyField(Fleet, lazy_load=False)
    owner = ForeignKeyField(Agent, lazy_load=False, backref="owned_tasks")
    sender = ForeignKeyField(Agent, column_name="from_id", object_id_name="sender_id", lazy_load=False, backref="sent_tasks")
    recipient = ForeignKeyField(
        Agent,
        column_name="to_id",
        object_id_name="recipient_id",
        null=True,
        lazy_load=False,
        backref="received_tasks",
    )
    kind = TextField()
    state = TextField()
    created_at = TextField()
    state_changed_at = TextField()
    acked_at = TextField(null=True)
    origin = ForeignKeyField("self", null=True, lazy_load=False, backref="deliveries")
    reply_to = ForeignKeyField("self", null=True, lazy_load=False, backref="replies")
    text = TextField()
    notified_at = TextField(null=True)
    notify_status = TextField(null=True)
    notice_claim = TextField(null=True)  # the courier typing it: "pid identity" (migration 11)
    notice_step = TextField(null=True)  # how far that courier got: cafleet.core.domain.NoticeStep
    notice_lease_until = TextField(null=True)
    # The fleet's change sequence (`cafleet.broker.revisions`): set on insert and on every
    # change of state, in commit order.
    revision = IntegerField()

    class Meta:
        table_name = "tasks"


class MonitorConfig(BaseModel):
    if TYPE_CHECKING:
        agent_id: int

    agent = ForeignKeyField(Agent, primary_key=True, lazy_load=False)
    interval_seconds = IntegerField()
    enabled = BooleanField(default=True)
    last_ping_at = TextField(null=True)

    class Meta:
        table_name = "monitor_config"


class MonitorRuntime(BaseModel):
    if TYPE_CHECKING:
        fleet_id: int

    fleet = ForeignKeyField(Fleet, primary_key=True, lazy_load=False)
    pid = IntegerField()
    started_at = TextField()
    last_tick_at = TextField()
    tick_seconds = FloatField()

    class Meta:
        table_name = "monitor_runtime"


class AgentStateRow(BaseModel):
    if TYPE_CHECKING:
        agent_id: int

    agent = ForeignKeyField(Agent, primary_key=True, lazy_load=False)
    state = TextField()
    reason = TextField(default="")
    question = TextField(null=True)
    changed_at = TextField()
    # While a limit holds it (`cafleet.core.agent_state.HELD`): when it resets, as the agent
    # shows it and as a time; when its Director was told; when the monitor last woke it.
    resets = TextField(default="")
    resets_at = TextField(null=True)
    told_at = TextField(null=True)
    woken_at = TextField(null=True)
    wakes = IntegerField(default=0)

    class Meta:
        table_name = "agent_states"


class Courier(BaseModel):
    """The courier running on one host, stamped while it runs."""

    host = TextField(primary_key=True)
    pid = IntegerField()
    started_at = TextField()
    seen_at = TextField()

    class Meta:
        table_name = "couriers"


class Worktree(BaseModel):
    """A member's git worktree (`cafleet.core.records.WorktreeRecord` says what each column holds)."""

    if TYPE_CHECKING:
        agent_id: int
        fleet_id: int
        director_id: int | None

    agent = ForeignKeyField(Agent, primary_key=True, lazy_load=False)
    fleet = ForeignKeyField(Fleet, lazy_load=False)
    director = ForeignKeyField(Agent, null=True, lazy_load=False, backref="directed_worktrees")
    path = TextField()
    branch = TextField()
    base_ref = TextField(null=True)
    base_commit = TextField()
    git_dir = TextField()
    source = TextField()
    host = TextField(null=True)
    tmux_socket = TextField(null=True)
    created_at = TextField()
    closed_at = TextField(null=True)

    class Meta:
        table_name = "worktrees"


class WorktreeOverlap(BaseModel):
    """A file that two members' branches both change: the Director was told of it once."""

    if TYPE_CHECKING:
        fleet_id: int
        first_id: int
        second_id: int

    fleet = ForeignKeyField(Fleet, lazy_load=False)
    first = ForeignKeyField(Agent, lazy_load=False, backref="overlaps_as_first")
    second = ForeignKeyField(Agent, lazy_load=False, backref="overlaps_as_second")
    path = TextField()
    seen_at = TextField()

    class Meta:
        table_name = "worktree_overlaps"
        primary_key = CompositeKey("first", "second", "path")


class MemberSession(BaseModel):
    """What resumes a member's conversation, and what it was started with
    (`cafleet.core.records.SessionRecord` says what each column holds)."""

    if TYPE_CHECKING:
        agent_id: int

    agent = ForeignKeyField(Agent, primary_key=True, lazy_load=False)
    session_id = TextField(null=True)
    marker = TextField()
    cwd = TextField()
    started_at = TextField()
    executable = TextField()
    state_environment = TextField(default="{}")
    prompt = TextField()
    model = TextField(null=True)
    autonomy = TextField(default="{}")
    restored_at = TextField(null=True)
    restores = IntegerField(default=0)

    class Meta:
        table_name = "member_sessions"


class NotifyEventRow(BaseModel):
    """Something the human's notifiers are told of, recorded once (`dedupe_key`) in the
    transaction that caused it; `fanned_out_at` once a delivery row exists per notifier."""

    if TYPE_CHECKING:
        id: AutoField[int]

    fleet_id = IntegerField(null=True)
    agent_id = IntegerField(null=True)
    kind = TextField()
    dedupe_key = TextField(unique=True)
    title = TextField()
    body = TextField()
    created_at = TextField()
    fanned_out_at = TextField(null=True)

    class Meta:
        table_name = "notify_events"


class NotifyDelivery(BaseModel):
    """One event for one notifier (named as the user's config names it): `pending`, `sending`
    under a courier's `claim` (`step` says whether the request went out), `sent` or `failed`."""

    if TYPE_CHECKING:
        id: AutoField[int]
        event_id: int

    event = ForeignKeyField(NotifyEventRow, lazy_load=False, backref="deliveries")
    notifier = TextField()
    status = TextField()
    attempts = IntegerField(default=0)
    next_at = TextField()
    claim = TextField(null=True)
    step = TextField(null=True)
    attempted_at = TextField(null=True)
    sent_at = TextField(null=True)
    outcome = TextField(null=True)

    class Meta:
        table_name = "notify_deliveries"
        indexes = ((("event", "notifier"), True),)


class MemberBudget(BaseModel):
    """A member's token budget: when its use passed 80 % (`warned_at`) and 100 %
    (`exhausted_at`) and its Director was told, each once."""

    if TYPE_CHECKING:
        agent_id: int

    agent = ForeignKeyField(Agent, primary_key=True, lazy_load=False)
    tokens = IntegerField()
    warned_at = TextField(null=True)
    exhausted_at = TextField(null=True)

    class Meta:
        table_name = "member_budgets"


ALL_MODELS = (
    Fleet,
    Agent,
    Placement,
    Task,
    MonitorConfig,
    MonitorRuntime,
    AgentStateRow,
    Courier,
    Worktree,
    WorktreeOverlap,
    MemberSession,
    NotifyEventRow,
    NotifyDelivery,
    MemberBudget,
)
