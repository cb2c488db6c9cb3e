"""Fleet lifecycle: bootstrap with its Director and Administrator, listing, soft delete."""

from __future__ import annotations

from cafleet.broker.agents import place_in_pane
from cafleet.broker.convert import agent_record, agents_with_placements, fleet_record
from cafleet.broker.guards import any_fleet
from cafleet.core.domain import DEFAULT_MONITOR_INTERVALS, AgentKind, AgentStatus, TaskState
from cafleet.core.errors import Conflict, Field, Fix, Hint, InvalidInput
from cafleet.core.limits import MAX_LABEL_LEN
from cafleet.core.records import AgentRecord, EnvPane, FleetCreated, FleetDeleted, FleetRecord, PaneLocation
from cafleet.core.text import refuse_lone_surrogates
from cafleet.core.timestamps import utc_now
from cafleet.store.models import Agent, AgentStateRow, Fleet, MonitorConfig, MonitorRuntime, Placement, Task, database
from cafleet.store.orm import fn

DIRECTOR_NAME = "director"
ADMINISTRATOR_NAME = "Administrator"


def create_fleet(pane: PaneLocation, label: str = "", coding_agent: str = "claude", force: bool = False) -> FleetCreated:
    """One transaction: the fleet, its root Director placed in `pane`, and its Administrator.

    A pane that already holds an agent of a live fleet directs another one only with `force`:
    usually it is a Director that forgot its fleet id.
    """
    label = validate_label(label)
    now = utc_now()
    with database.atomic():
        if not force:
            _refuse_taken_pane(pane)
        fleet = Fleet.create(label=label, created_at=now)
        director = Agent.create(
            fleet=fleet,
            name=DIRECTOR_NAME,
            description="Root Director of the fleet",
            kind=AgentKind.DIRECTOR,
            registered_at=now,
        )
        administrator = Agent.create(
            fleet=fleet,
            name=ADMINISTRATOR_NAME,
            description="The human operator (sends from the TUI)",
            kind=AgentKind.ADMINISTRATOR,
            registered_at=now,
        )
        placement = place_in_pane(director, pane, coding_agent, now)
        MonitorConfig.create(agent=director, interval_seconds=DEFAULT_MONITOR_INTERVALS[AgentKind.DIRECTOR], enabled=True)
        fleet.director_id = director.id
        fleet.save()
    return FleetCreated(
        fleet=fleet_record(fleet, active_agents=2),
        director=agent_record(director, placement),
        administrator=agent_record(administrator),
    )


def _refuse_taken_pane(pane: PaneLocation) -> None:
    from cafleet.broker.identity import agents_in_pane

    here = agents_in_pane(EnvPane(pane.tmux_socket, pane.tmux_server_pid, pane.tmux_pane_id))
    if here:
        taken = here[0]
        role = "the Director" if taken.is_director else f"{taken.kind} {taken.handle}"
        raise Conflict(
            f"pane {pane.tmux_pane_id} is already {role} of fleet {taken.fleet_id}",
            field=Field.PANE,
            value=pane.tmux_pane_id,
            hint=Hint(Fix.KEEP_PANE_FLEET, taken.fleet_id),
        )


def validate_label(label: str) -> str:
    refuse_lone_surrogates(label, Field.LABEL)
    label = label.strip()
    if len(label) > MAX_LABEL_LEN:
        raise InvalidInput(
            f"is {len(label)} characters, over the {MAX_LABEL_LEN} limit; shorten it",
            field=Field.LABEL,
            value=label,
            names_field=True,
        )
    return label


def list_fleets() -> list[FleetRecord]:
    """Fleets that are not deleted, oldest first, with active-agent and unread counts."""
    active = Agent.select(fn.COUNT(Agent.id)).where((Agent.fleet == Fleet.id) & (Agent.status == AgentStatus.ACTIVE))
    unread = Task.select(fn.COUNT(Task.id)).where((Task.fleet == Fleet.id) & (Task.state == TaskState.UNREAD))
    query = (
        Fleet.select(Fleet, active.alias("active_agents"), unread.alias("unread"))
        .where(Fleet.deleted_at.is_null())
        .order_by(Fleet.id)
    )
    # The aliased counts arrive as attributes peewee adds to each row.
    return [fleet_record(f, getattr(f, "active_agents"), getattr(f, "unread")) for f in query]  # noqa: B009


def show_fleet(fleet_id: int) -> tuple[FleetRecord, list[AgentRecord]]:
    """One fleet (deleted ones too) and all its agents, active first."""
    fleet = any_fleet(fleet_id)
    records = agents_with_placements(Agent.fleet == fleet_id)
    active = sum(1 for a in records if a.status == AgentStatus.ACTIVE)
    unread = Task.select().where((Task.fleet == fleet_id) & (Task.state == TaskState.UNREAD)).count()
    return fleet_record(fleet, active, unread), records


def delete_fleet(fleet_id: int) -> FleetDeleted:
    """Soft-delete: deregister every active agent, drop placements and monitor rows, keep tasks.

    Idempotent: deleting a deleted fleet deregisters nobody.
    """
    now = utc_now()
    with database.atomic():
        fleet = any_fleet(fleet_id)
        already_deleted = fleet.deleted_at is not None
        agent_ids = Agent.select(Agent.id).where(Agent.fleet == fleet_id)
        deregistered = (
            Agent.update(status=AgentStatus.DEREGISTERED, deregistered_at=now)
            .where((Agent.fleet == fleet_id) & (Agent.status == AgentStatus.ACTIVE))
            .execute()
        )
        Placement.delete().where(Placement.agent.in_(agent_ids)).execute()
        AgentStateRow.delete().where(AgentStateRow.agent.in_(agent_ids)).execute()
        MonitorConfig.delete().where(MonitorConfig.agent.in_(agent_ids)).execute()
        MonitorRuntime.delete().where(MonitorRuntime.fleet == fleet_id).execute()
        if not already_deleted:
            Fleet.update(deleted_at=now).where(Fleet.id == fleet_id).execute()
    return FleetDeleted(fleet_id=fleet_id, deregistered=deregistered, already_deleted=already_deleted)
