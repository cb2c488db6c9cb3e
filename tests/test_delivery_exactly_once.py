"""Every notice typed exactly once, into the agent and nothing else, through crashes and faults.

Private tmux servers with stand-in agents; the courier is the real process. A dead courier is
staged two ways: for each step of the delivery state machine, by a claim held by a process
that has ended (exactly as a killed courier leaves it), and in a campaign that kills the real
courier with SIGKILL and SIGTERM at random moments while broadcasts are being typed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cafleet.core.domain import NoticeStep
from tests.delivery_campaign import HEADER, Campaign, cli_runner
from tests.panes_support import (  # noqa: F401 (agents is a fixture)
    agents,
    couriers_of,
    inputs,
    panes_fleet,
    run,
    run_as_human,
    spawn,
    task_row,
    wait_for_notify,
)
from tests.support import cafleet_command
from tests.waiting import wait_for

fleet = panes_fleet("delivery")


def ready(agents, name):
    return agents.wait_for(name, lambda ev: any(e["event"] == "ready" for e in ev))


def spawn_ready(cli, fleet, agents, *names) -> dict[str, int]:
    members = {name: spawn(cli, fleet, name) for name in names}
    for name in names:
        ready(agents, name)
    return members


def send(cli, fleet, to, text) -> int:
    sent = run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", to, "--quiet", "--text", text)
    assert sent.code == 0, sent.err
    return int(sent.out)


def stored_message(fleet_id: int, sender: int, to: str, text: str):
    """A message stored without a courier being started (as a send killed after its commit)."""
    from cafleet.broker.messages import send_message
    from cafleet.store.db import open_database

    open_database()
    return send_message(fleet_id, sender, to, text)


def headers_typed(agents, name) -> list[int]:
    return [int(m.group(1)) for text in inputs(agents.log_of(name)) for m in [HEADER.match(text)] if m]


def stop_couriers() -> None:
    for pid in couriers_of():
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not couriers_of(), what="the courier to be gone")


def pane_of(member_id: int) -> str:
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    open_database()
    pane = Placement.get_by_id(member_id).tmux_pane_id
    assert pane is not None
    return pane


def box_of(tmux_server, pane: str) -> str:
    """The stand-in's input line (what `> ` shows), '' when empty."""
    screen = tmux_server.tmux("capture-pane", "-p", "-t", pane).stdout.splitlines()
    lines = [line for line in screen if line.startswith(">")]
    return lines[-1][1:].strip() if lines else ""


def ended_process_claim() -> str:
    """What a claim looks like when the courier that holds it has died."""
    from cafleet.panes.courier.loop import claimer_id

    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    claim = claimer_id(child.pid)
    child.communicate(b"")
    return claim


def leave_claimed(task_id: int, claim: str, step: NoticeStep) -> None:
    """Put a notice where a courier killed at `step` leaves it."""
    from cafleet.store.db import open_database
    from cafleet.store.models import Task

    open_database()
    Task.update(
        notify_status="claimed", notice_claim=claim, notice_step=step, notice_lease_until="9999-12-31T00:00:00.000000Z"
    ).where(Task.id == task_id).execute()


def notice_line(task_id: int) -> str:
    from cafleet.panes.preview import preview_text

    row = task_row(task_id)
    return preview_text(task_id, "director", row.sender_id, row.created_at, row.text)


def paste_into(tmux_server, pane: str, text: str, enter: bool) -> None:
    buffer = f"t-{uuid.uuid4().hex[:8]}"
    tmux_server.tmux("set-buffer", "-b", buffer, "--", text)
    tmux_server.tmux("paste-buffer", "-p", "-d", "-b", buffer, "-t", pane)
    if enter:
        time.sleep(0.3)
        tmux_server.tmux("send-keys", "-t", pane, "Enter")


# -- the claim itself ---------------------------------------------------------------------


def test_a_notice_is_claimed_once_and_settled_only_by_its_claimer(db):
    from cafleet.broker import agents as agent_ops
    from cafleet.broker import fleets, notifications
    from cafleet.broker.messages import send_message
    from tests.support import FAKE_PANE

    created = fleets.create_fleet(FAKE_PANE, label="claims")
    member = agent_ops.register_agent(created.fleet.id, "ana", "helps", pane=FAKE_PANE._replace(tmux_pane_id="%5"))
    task = send_message(created.fleet.id, created.director.id, str(member.id), "hello")
    assert task_row(task.id).notify_status == "pending"
    assert notifications.claim(task.id, "111 a")
    assert not notifications.claim(task.id, "222 b")  # already taken
    assert not notifications.advance(task.id, "222 b", NoticeStep.PASTING)
    assert not notifications.settle(task.id, "222 b", "delivered")
    assert notifications.advance(task.id, "111 a", NoticeStep.PASTING)
    assert not notifications.take_over(task.id, "222 b", "333 c")  # only from the claim's holder
    assert notifications.take_over(task.id, "111 a", "333 c")
    row = task_row(task.id)
    assert (row.notify_status, row.notice_claim, row.notice_step) == ("claimed", "333 c", "pasting")
    assert notifications.settle(task.id, "333 c", "deferred:asking")
    assert notifications.claim(task.id, "444 d")  # deferred is due again
    assert notifications.release("444 d") == 1
    row = task_row(task.id)
    assert (row.notify_status, row.notice_claim, row.notice_step) == ("pending", None, None)
    assert notifications.claim(task.id, "555 e") and notifications.settle(task.id, "555 e", "delivered")
    assert not notifications.claim(task.id, "666 f")  # settled for good
    assert task_row(task.id).notified_at is not None


# -- a courier killed at each step --------------------------------------------------------


def test_killed_after_the_claim_the_notice_is_typed_once_by_the_next_courier(cli, fleet, agents):
    members = spawn_ready(cli, fleet, agents, "ana")
    stop_couriers()
    task = stored_message(fleet.fleet_id, fleet.director_id, str(members["ana"]), "claimed, then the courier died")
    leave_claimed(task.id, ended_process_claim(), NoticeStep.CLAIMED)
    assert run(cli, fleet, "message", "poll", "--agent-id", fleet.director_id).code == 0  # starts a courier
    assert wait_for_notify(task.id, timeout=20) == "delivered"
    assert headers_typed(agents, "ana") == [task.id]


def test_killed_between_paste_and_enter_the_next_courier_submits_the_draft(cli, fleet, agents, tmux_server):
    members = spawn_ready(cli, fleet, agents, "bea")
    pane = pane_of(members["bea"])
    stop_couriers()
    task = stored_message(fleet.fleet_id, fleet.director_id, str(members["bea"]), "pasted, never entered")
    paste_into(tmux_server, pane, notice_line(task.id), enter=False)
    wait_for(lambda: box_of(tmux_server, pane).startswith(f"[cafleet msg {task.id} "), what="the notice in the box")
    leave_claimed(task.id, ended_process_claim(), NoticeStep.ENTERING)
    later = send(cli, fleet, "bea", "a later notice must not queue behind it forever")
    assert wait_for_notify(task.id, timeout=20) == "delivered"
    assert wait_for_notify(later, timeout=20) == "delivered"
    agents.wait_for("bea", lambda ev: len(inputs(ev)) >= 2)
    assert headers_typed(agents, "bea") == [task.id, later]
    assert box_of(tmux_server, pane) == ""


def test_killed_while_pasting_the_draft_is_submitted_and_not_typed_again(cli, fleet, agents, tmux_server):
    members = spawn_ready(cli, fleet, agents, "cal")
    pane = pane_of(members["cal"])
    stop_couriers()
    task = stored_message(fleet.fleet_id, fleet.director_id, str(members["cal"]), "the paste landed")
    paste_into(tmux_server, pane, notice_line(task.id), enter=False)
    wait_for(lambda: box_of(tmux_server, pane).startswith(f"[cafleet msg {task.id} "), what="the notice in the box")
    leave_claimed(task.id, ended_process_claim(), NoticeStep.PASTING)
    assert run(cli, fleet, "message", "poll", "--agent-id", fleet.director_id).code == 0
    assert wait_for_notify(task.id, timeout=20) == "delivered"
    assert headers_typed(agents, "cal") == [task.id]


def test_killed_while_pasting_before_the_paste_landed_the_notice_is_typed(cli, fleet, agents):
    members = spawn_ready(cli, fleet, agents, "dee")
    stop_couriers()
    task = stored_message(fleet.fleet_id, fleet.director_id, str(members["dee"]), "the paste never landed")
    leave_claimed(task.id, ended_process_claim(), NoticeStep.PASTING)
    assert run(cli, fleet, "message", "poll", "--agent-id", fleet.director_id).code == 0
    assert wait_for_notify(task.id, timeout=20) == "delivered"
    assert headers_typed(agents, "dee") == [task.id]


@pytest.mark.parametrize("step", [NoticeStep.PASTING, NoticeStep.ENTERING])
def test_killed_after_enter_the_notice_is_never_typed_again(cli, fleet, agents, tmux_server, step):
    members = spawn_ready(cli, fleet, agents, "eli")
    pane = pane_of(members["eli"])
    stop_couriers()
    task = stored_message(fleet.fleet_id, fleet.director_id, str(members["eli"]), "submitted just before the kill")
    paste_into(tmux_server, pane, notice_line(task.id), enter=True)
    agents.wait_for("eli", lambda ev: inputs(ev))
    leave_claimed(task.id, ended_process_claim(), step)
    assert run(cli, fleet, "message", "poll", "--agent-id", fleet.director_id).code == 0
    assert wait_for_notify(task.id, timeout=20) == "delivered"
    follow_up = send(cli, fleet, "eli", "proof that the courier went past it")
    assert wait_for_notify(follow_up, timeout=20) == "delivered"
    agents.wait_for("eli", lambda ev: len(inputs(ev)) >= 2)
    assert headers_typed(agents, "eli") == [task.id, follow_up]


def test_a_claim_of_a_live_courier_is_left_alone(cli, fleet, agents):
    """A claim is taken over only from a courier that ended, never from one that runs."""
    from cafleet.panes.courier.loop import claimer_id

    members = spawn_ready(cli, fleet, agents, "fay")
    stop_couriers()
    holder = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        task = stored_message(fleet.fleet_id, fleet.director_id, str(members["fay"]), "held by a live process")
        leave_claimed(task.id, claimer_id(holder.pid), NoticeStep.PASTING)
        assert run(cli, fleet, "message", "poll", "--agent-id", fleet.director_id).code == 0
        wait_for(couriers_of, what="a courier")
        time.sleep(1.5)  # several courier rounds
        assert task_row(task.id).notify_status == "claimed" and headers_typed(agents, "fay") == []
    finally:
        holder.communicate(b"")
    assert wait_for_notify(task.id, timeout=20) == "delivered"  # once its holder is gone
    assert headers_typed(agents, "fay") == [task.id]


# -- SIGTERM ------------------------------------------------------------------------------


def test_sigterm_finishes_what_is_being_typed_and_gives_back_the_rest(cli, fleet, agents):
    members = spawn_ready(cli, fleet, agents, "gus", "hal", "ivy")
    wait_for(couriers_of, what="a courier")
    sent = run(cli, fleet, "--json", "message", "broadcast", "--agent-id", fleet.director_id, "--text", "stand by")
    deliveries = [d["task_id"] for d in sent.json()["deliveries"]]
    (courier,) = couriers_of()
    os.kill(courier, signal.SIGTERM)
    wait_for(lambda: not couriers_of(), 30, "the courier to leave")
    rows = [task_row(t) for t in deliveries]
    assert all(r.notice_claim is None for r in rows if r.notify_status != "claimed")
    assert all(r.notice_step != NoticeStep.CLAIMED for r in rows), "a claim with nothing typed was not given back"
    assert run(cli, fleet, "message", "poll", "--agent-id", fleet.director_id).code == 0
    assert [wait_for_notify(t, timeout=30) for t in deliveries] == ["delivered"] * 3
    for name in members:
        assert len(headers_typed(agents, name)) == 1


# -- fairness -----------------------------------------------------------------------------


def test_one_member_stuck_on_a_question_does_not_delay_another(cli, fleet, agents):
    members = spawn_ready(cli, fleet, agents, "jay", "kim")
    args = ("--agent-id", fleet.director_id, "--member-id", members["jay"])
    assert run(cli, fleet, "member", "send-input", *args, "--freetext", "ask: deploy now? | yes | no").code == 0
    waiting = [stored_message(fleet.fleet_id, fleet.director_id, str(members["jay"]), f"queued {n}").id for n in range(501)]
    assert wait_for_notify(waiting[0], until=lambda s: s == "deferred:asking", timeout=20) == "deferred:asking"
    other = send(cli, fleet, "kim", "you are not behind jay's queue")
    assert wait_for_notify(other, timeout=20) == "delivered"
    assert task_row(waiting[-1]).notify_status == "pending"
    assert headers_typed(agents, "jay") == []


# -- bracketed paste off ------------------------------------------------------------------


def test_with_bracketed_paste_off_a_notice_is_still_one_input_and_never_a_command(cli, fleet, agents, tmux_server, tmp_path):
    members = spawn_ready(cli, fleet, agents, "lou")
    pane = pane_of(members["lou"])
    tty = tmux_server.tmux("display-message", "-p", "-t", pane, "#{pane_tty}").stdout.strip()
    with open(tty, "w") as terminal:  # the program's own output switches the mode off in tmux
        terminal.write("\x1b[?2004l")
    marker = tmp_path / "RAN"
    task_id = send(cli, fleet, "lou", f"!touch {marker}\nsecond line")
    assert wait_for_notify(task_id) == "delivered"
    (typed,) = inputs(agents.wait_for("lou", lambda ev: inputs(ev)))
    assert typed.startswith(f"[cafleet msg {task_id} ") and typed.endswith(f"] ！touch {marker}⏎second line")
    assert not marker.exists() and [e for e in agents.log_of("lou") if e["event"] == "shell"] == []


# -- resources ----------------------------------------------------------------------------


def test_a_courier_limited_to_few_open_files_delivers_everything(cli, fleet, agents, tmp_path):
    """Its connections are one per worker, not one per delivery (47 of 100 leaked before)."""
    from cafleet.core.config import database_setting

    members = spawn_ready(cli, fleet, agents, "mia", "ned")
    stop_couriers()
    env = {**os.environ, **fleet.env, "CAFLEET_DATABASE_URL": database_setting()}
    courier = subprocess.Popen(
        ["prlimit", "--nofile=60", sys.executable, "-m", "cafleet.panes.courier"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "courier.log", "wb"),
    )
    try:
        wait_for(couriers_of, what="the limited courier")
        task_ids = []
        for round_ in range(30):
            for name in members:
                task_ids.append(send(cli, fleet, name, f"note {round_}"))
        assert [wait_for_notify(t, timeout=60) for t in task_ids] == ["delivered"] * len(task_ids)
        (pid,) = couriers_of()
        assert len(os.listdir(f"/proc/{pid}/fd")) < 40
    finally:
        courier.send_signal(signal.SIGTERM)
        courier.wait(timeout=30)
    assert "Too many open files" not in (tmp_path / "courier.log").read_text()
    for name in members:
        assert sorted(headers_typed(agents, name)) == sorted(set(headers_typed(agents, name)))


# -- leaving ------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_courier_whose_database_file_is_moved_aside_leaves_and_says_why(cli, fleet, agents, db_path):
    from cafleet.broker.couriers import couriers
    from cafleet.store.db import close_database, open_database

    open_database()
    spawn_ready(cli, fleet, agents, "oli")
    (courier,) = wait_for(couriers_of, what="a courier")
    wait_for(lambda: courier in {row.pid for row in couriers()}, what="the courier to check in (its database open)")

    close_database()
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{db_path}{suffix}")
        if source.exists():
            source.rename(f"{db_path}.broken{suffix}")
    wait_for(lambda: not Path(f"/proc/{courier}").exists() or _zombie(courier), 30, "the courier to leave")
    log = "".join(p.read_text() for p in (db_path.parent / "locks").glob("courier-*.log"))
    assert f"database file {db_path} was moved, removed or replaced" in log


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


def test_a_sandboxed_send_that_cannot_see_tmux_settles_nothing(cli, fleet, agents, tmp_path):
    """A process with a private /tmp sees no tmux server at all: not the same as a dead one.

    The sender runs in its own mount namespace with an empty /tmp, into which only the
    checkout and this test's directory (its database, or the PostgreSQL server's socket
    directory) are bound back: the tmux socket directory is not there for it, as in a
    sandbox."""
    from urllib.parse import parse_qs, urlsplit

    from cafleet.core.config import database_setting
    from tests.support import REPO

    members = spawn_ready(cli, fleet, agents, "pat", "quin")
    stop_couriers()
    waiting = stored_message(fleet.fleet_id, fleet.director_id, str(members["quin"]), "for quin, before the sandboxed send").id
    old_tmp = Path("/dev/shm") / f"cafleet-test-{uuid.uuid4().hex[:8]}"
    old_tmp.mkdir()
    server_sockets = parse_qs(urlsplit(database_setting()).query).get("host", [])
    kept = [path for path in (REPO, tmp_path, *map(Path, server_sockets)) if path.is_relative_to("/tmp")]
    rebinds = "".join(f"mkdir -p {path} && mount --bind {old_tmp}/{path.relative_to('/tmp')} {path} && " for path in kept)
    script = (
        f"mount --rbind /tmp {old_tmp} && mount -t tmpfs tmpfs /tmp && {rebinds}"
        f"exec {' '.join(cafleet_command())} --fleet-id {fleet.fleet_id} "
        f"message send --agent-id {members['pat']} --to quin --quiet --text 'from the sandbox'"
    )
    env = {**os.environ, **fleet.env, "TMUX": "", "TMUX_PANE": ""}
    try:
        done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    finally:
        old_tmp.rmdir()
    assert done.returncode == 0, done.stderr
    sandboxed = int(done.stdout)
    assert task_row(waiting).notify_status == "pending"
    assert task_row(sandboxed).notify_status == "pending"
    assert couriers_of() == []
    assert run(cli, fleet, "message", "poll", "--agent-id", fleet.director_id).code == 0
    assert [wait_for_notify(t, timeout=20) for t in (waiting, sandboxed)] == ["delivered", "delivered"]


# -- the campaign -------------------------------------------------------------------------


def test_broadcasts_under_courier_kills_are_typed_exactly_once_with_no_pane_wedged(cli, fleet, agents, tmux_server):
    names = ["r1", "r2", "r3", "r4", "r5", "r6"]
    members = spawn_ready(cli, fleet, agents, *names)
    panes = {name: pane_of(agent_id) for name, agent_id in members.items()}
    campaign = Campaign(
        send=cli_runner(cafleet_command(), fleet.fleet_id, {**os.environ, **fleet.env}),
        member_inputs=lambda name: inputs(agents.log_of(name)),
        courier_pids=couriers_of,
        member_boxes=lambda: {name: box_of(tmux_server, pane) for name, pane in panes.items()},
        director_id=fleet.director_id,
        members=members,
        seed=21,
        kill_probability=0.6,
    )
    result = campaign.run(seconds=25)
    notices = _campaign_notices(fleet.fleet_id)
    wait_for(
        lambda: all(
            status not in ("pending", "claimed") and not status.startswith("deferred:")
            for _, status in _campaign_notices(fleet.fleet_id).values()
        ),
        90,
        "every notice to settle",
    )
    wait_for(lambda: sum(len(headers_typed(agents, n)) for n in names) >= len(notices), 30, "the stand-ins to log")
    result = campaign.count(result, _campaign_notices(fleet.fleet_id))
    assert result.kills, "the campaign killed no courier"
    assert result.exactly_once, result.summary()
    assert set(result.outcomes) == {"delivered"}, result.summary()


def _campaign_notices(fleet_id: int) -> dict[int, tuple[int, str]]:
    from cafleet.store.db import open_database
    from cafleet.store.models import Task

    open_database()
    query = Task.select(Task.id, Task.recipient, Task.notify_status).where(
        (Task.fleet == fleet_id)
        & Task.recipient.is_null(False)
        & (Task.notify_status != "skipped:self")
        & (Task.notify_status != "skipped:no-placement")
    )
    return {row.id: (row.recipient_id, row.notify_status) for row in query}


# -- a database that refuses the outcome ------------------------------------------------------


def test_an_outcome_the_database_refuses_is_kept_and_the_notice_never_retyped(db, monkeypatch):
    """Typed, then the disk is full when the outcome is written: the claim stays the courier's
    (nobody types the notice again) and the outcome is written once writes work again."""
    from peewee import OperationalError

    from cafleet.broker import agents as agent_ops
    from cafleet.broker import fleets, notifications
    from cafleet.broker.messages import send_message
    from cafleet.panes.courier.loop import Courier, pane_key
    from tests.support import FAKE_PANE

    created = fleets.create_fleet(FAKE_PANE, label="full disk")
    member = agent_ops.register_agent(created.fleet.id, "ana", "helps", pane=FAKE_PANE._replace(tmux_pane_id="%5"))
    task = send_message(created.fleet.id, created.director.id, str(member.id), "hello")
    courier = Courier("test-host")
    assert notifications.claim(task.id, courier.claimer)
    real_settle = notifications.settle

    def full_disk(*args):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(notifications, "settle", full_disk)
    courier._record(task.id, "delivered")
    assert task_row(task.id).notify_status == "claimed"
    (head,) = notifications.due_heads()
    (job,) = notifications.notice_jobs([head.task_id])
    assert courier._take(pane_key(head), job) is None  # its own claim: never typed again
    assert not notifications.claim(task.id, "another courier")
    monkeypatch.setattr(notifications, "settle", real_settle)
    courier._record_unrecorded()
    row = task_row(task.id)
    assert (row.notify_status, row.notice_claim) == ("delivered", None)


@pytest.mark.sqlite_only
def test_a_courier_leaves_on_a_damaged_database(db, db_path):
    """A damaged file never heals: the courier leaves (releasing its lock) instead of logging
    the same error every second (a full disk may be freed: `FaultKind.permanent` tells)."""
    import sqlite3

    from cafleet.panes.courier.loop import _unusable_database

    damaged = db_path.parent / "damaged.db"
    damaged.write_bytes(b"this is not a database " * 200)
    with pytest.raises(sqlite3.DatabaseError) as raised:
        sqlite3.connect(damaged).execute("SELECT * FROM sqlite_master")
    why = _unusable_database(raised.value)
    assert why is not None and why.startswith("its database can no longer be used: ")
    assert _unusable_database(RuntimeError("a bug, not the database")) is None
