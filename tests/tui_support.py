"""Deterministic data for TUI tests: fixed timestamps, fresh ids."""

from __future__ import annotations

from typing import NamedTuple

from tests.support import FAKE_PANE

BASE_DAY = "2026-11-20"


class Story(NamedTuple):
    fleet_id: int
    director_id: int
    administrator_id: int
    alice_id: int
    bob_id: int
    broadcast_id: int


def freeze_times() -> None:
    """Give every row a fixed, increasing timestamp so screens render identically each run.
    Placements keep theirs (no screen shows it): one made before this machine booted is on a
    tmux server that is gone for sure, and its agent would show `lost`."""
    from cafleet.store.models import Agent, Fleet, MonitorConfig, Task, database

    def stamp(n: int, day: str = BASE_DAY) -> str:
        return f"{day}T09:{n // 60:02d}:{n % 60:02d}.000000Z"

    with database.atomic():
        for fleet in Fleet.select():
            Fleet.update(created_at=stamp(fleet.id)).where(Fleet.id == fleet.id).execute()
            if fleet.deleted_at:
                Fleet.update(deleted_at=stamp(59)).where(Fleet.id == fleet.id).execute()
        for agent in Agent.select():
            Agent.update(registered_at=stamp(agent.id)).where(Agent.id == agent.id).execute()
            if agent.deregistered_at:
                Agent.update(deregistered_at=stamp(58)).where(Agent.id == agent.id).execute()
        MonitorConfig.update(last_ping_at=None).execute()
        for task in Task.select():
            # Tasks after id 6 fall on the next day, to show a day separator.
            day = BASE_DAY if task.id <= 6 else "2026-11-21"
            created = stamp(task.id * 3, day)
            changes = {"created_at": created, "state_changed_at": created}
            if task.acked_at:
                changes["acked_at"] = changes["state_changed_at"] = stamp(task.id * 3 + 1, day)
            Task.update(**changes).where(Task.id == task.id).execute()


def build_story(notices_settled: bool = True) -> Story:
    """A fleet with two agents, a reply thread, a partly acked broadcast and a note to the human.

    Its panes are on a tmux server that is not running; unless `notices_settled` is False,
    their notices are settled as a courier that sees the server gone settles them."""
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from cafleet.broker.messages import ack_message, broadcast_message, send_message

    created = create_fleet(FAKE_PANE, label="parser refactor")
    fleet_id = created.fleet.id
    alice = register_agent(fleet_id, "alice", "Writes the tokenizer")
    bob = register_agent(fleet_id, "bob", "Reviews every change")
    question = send_message(fleet_id, alice.id, "bob", "Please review PR 42.\nIt touches the tokenizer.")
    send_message(fleet_id, bob.id, "alice", "Looks good, two nits inline.", reply_to=question.id)
    ack_message(fleet_id, bob.id, question.id)
    sent = broadcast_message(fleet_id, created.director.id, "Standup in 5 minutes: post blockers.")
    ack_message(fleet_id, alice.id, sent.deliveries[0].id)
    send_message(fleet_id, bob.id, "Administrator", "Need a human decision: keep the old AST?")
    send_message(fleet_id, alice.id, "director", "Tokenizer split done; starting typed AST.")
    if notices_settled:
        no_tmux_server_here()
    freeze_times()
    return Story(fleet_id, created.director.id, created.administrator.id, alice.id, bob.id, sent.summary.id)


def no_tmux_server_here() -> None:
    from cafleet.broker.notifications import settle_unreachable

    settle_unreachable({FAKE_PANE.tmux_socket})


def add_member(story: Story, name: str = "coder", pane_id: str = "%7") -> int:
    """A member of the story's Director in a pane of a tmux server that is not running."""
    from cafleet.broker.members import attach_pane, register_member

    member = register_member(story.fleet_id, story.director_id, name, "Implements the steps", "claude")
    attach_pane(member.id, pane_id)
    freeze_times()
    return member.id


async def settle(pilot) -> None:
    """Wait until the loading workers (not the endless database watcher) are done, then repaint.

    An exclusive worker may be cancelled by a newer one mid-wait; that just means waiting again.
    """
    from textual.worker import WorkerCancelled, WorkerFailed

    app = pilot.app
    for _ in range(50):
        pending = [w for w in app.workers if w.group != "watch" and not w.is_finished]
        if not pending:
            break
        try:
            await app.workers.wait_for_complete(pending)
        except (WorkerCancelled, WorkerFailed):  # a failed worker is the app's to report
            continue
    # Workers hand their results over as messages: wait until the screen shows its first
    # load (screens that have a `loaded` flag), then repaint.
    for _ in range(100):
        if getattr(app.screen, "loaded", True):
            break
        await pilot.pause(0.05)
    await pilot.pause()


def place_on_host(agent_id: int, host: str | None, pane_id: str) -> None:
    """Put `agent_id` in a pane of `host` (a fake tmux server: no tmux needed)."""
    from cafleet.store.models import Placement
    from tests.support import FAKE_PANE

    Placement.insert(
        agent=agent_id,
        tmux_socket=FAKE_PANE.tmux_socket,
        tmux_server_pid=FAKE_PANE.tmux_server_pid,
        tmux_session=FAKE_PANE.tmux_session,
        tmux_window_id=FAKE_PANE.tmux_window_id,
        tmux_pane_id=pane_id,
        coding_agent="claude",
        created_at=f"{BASE_DAY}T09:00:00.000000Z",
        host=host,
    ).on_conflict(conflict_target=[Placement.agent], preserve=[Placement.host, Placement.tmux_pane_id]).execute()


def courier_seen(host: str, seen_at: str) -> None:
    """The `couriers` row of `host`, as its courier last stamped it."""
    from cafleet.broker.dialect import upsert
    from cafleet.store.models import Courier

    upsert(Courier, host=host, pid=4343, started_at=seen_at, seen_at=seen_at)


STALE_STAMP = "2026-11-21T09:00:30.000000Z"


def spread_over_two_hosts(story: Story, coder_id: int) -> None:
    """The Director and its member on host-a, alice and bob on host-b, whose courier stopped
    stamping long ago while notices for both wait there (none waits on host-a)."""
    from cafleet.core.domain import TaskState
    from cafleet.store.models import Task

    for agent_id, host, pane in (
        (story.director_id, "host-a", "%1"),
        (coder_id, "host-a", "%7"),
        (story.alice_id, "host-b", "%3"),
        (story.bob_id, "host-b", "%4"),
    ):
        place_on_host(agent_id, host, pane)
    courier_seen("host-b", STALE_STAMP)
    Task.update(notify_status="delivered").where(Task.recipient == story.director_id).execute()
    Task.update(notify_status="pending").where(
        Task.recipient.in_([story.alice_id, story.bob_id]) & (Task.state == TaskState.UNREAD)
    ).execute()


# Fixed dates make the commits of a test repository, and so their hashes, the same each run.
GIT_DATES = {"GIT_AUTHOR_DATE": "2026-11-20T09:00:00Z", "GIT_COMMITTER_DATE": "2026-11-20T09:00:00Z"}


def add_worktree_member(story: Story, repo, name: str, pane_id: str) -> int:
    """A member of the story's Director working in a worktree of `repo`, made by the same
    services `member create --worktree` uses, in a pane of a tmux server that is not running."""
    from cafleet.broker.members import attach_pane, register_member
    from cafleet.broker.worktrees import NewWorktree, record_worktree
    from cafleet.services.worktree_create import WorktreeRequest, make_worktree, plan_worktree

    member = register_member(story.fleet_id, story.director_id, name, "Implements the steps", "claude")
    made = make_worktree(plan_worktree(WorktreeRequest(skip_setup=True), story.fleet_id, name, repo))
    plan, placement = made.plan, member.placement
    assert placement is not None
    record_worktree(
        member.id,
        NewWorktree(
            path=str(plan.path),
            branch=plan.branch,
            base_ref=plan.base_ref,
            base_commit=plan.base_commit,
            git_dir=str(plan.source.common_dir),
            source=str(plan.source.root),
            host=placement.host,
            tmux_socket=placement.tmux_socket,
        ),
    )
    attach_pane(member.id, pane_id)
    freeze_times()
    return member.id


class WorktreeStory(NamedTuple):
    story: Story
    repo: object  # Path of the Director's repository
    coder_id: int  # two commits ahead of main, one file uncommitted
    reviewer_id: int  # nothing yet

    def worktree(self, name: str):
        return self.repo.parent / ".cafleet-worktrees" / self.repo.name / f"cafleet-{self.story.fleet_id}-{name}"


def build_worktree_story(home) -> WorktreeStory:
    """The story, with a repository in `home` (so its worktrees show as `~/…`) and two members
    in worktrees of it: coder has committed twice and left a file uncommitted; reviewer has
    done nothing yet. Commit hashes are fixed only under `GIT_DATES`."""
    from tests.git_support import commit, make_repo

    story = build_story()
    repo = make_repo(home / "repo", {"src/app.py": "print('hi')\n", "notes.txt": "one\ntwo\nthree\n"})
    coder = add_worktree_member(story, repo, "coder", "%7")
    reviewer = add_worktree_member(story, repo, "reviewer", "%8")
    built = WorktreeStory(story, repo, coder, reviewer)
    coder_tree = built.worktree("coder")
    commit(coder_tree, {"lexer.py": "tokens = []\n\n\ndef lex(text):\n\treturn text.split()\n"}, "Add the lexer")
    commit(coder_tree, {"notes.txt": "one\n2\nthree\n"}, "Renumber notes")
    (coder_tree / "scratch.txt").write_text("work in progress\n")
    return built
