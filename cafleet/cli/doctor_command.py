"""`cafleet doctor`: where am I, which database, which backends, and what is wrong (with fixes)."""

from __future__ import annotations

import os
import shutil

import click

from cafleet.cli.output import emit
from cafleet.cli.settings import CafleetCommand, FleetScope, settings
from cafleet.core.domain import CODING_AGENTS

# A courier checks in as its first round starts: a fraction of a second on an idle machine.
CHECK_IN_SECONDS = 10.0


@click.command("doctor", cls=CafleetCommand, fleet_scope=FleetScope.NARROWS)
def doctor_command():
    """Report the calling tmux pane, the database, the coding agents on PATH, and problems.

    Exits 1 when the database cannot be used (damaged, unreadable, refused, too new, a server
    that refuses), after the whole report."""
    from cafleet import __version__
    from cafleet.core.errors import CafleetError
    from cafleet.panes.calling_pane import calling_pane, in_tmux
    from cafleet.store.migrations import LATEST_VERSION

    problems: list[str] = []

    from cafleet.services.tmux_probe import ServerSeen, probe_tmux

    pane = None
    if not in_tmux():
        problems.append("not inside tmux: `fleet create` and member commands need a tmux pane; start tmux and run them there")
    elif probe_tmux(os.environ["TMUX"].split(",")[0]) != ServerSeen.FORBIDDEN:  # a sandbox: see the agent checks
        try:
            pane = calling_pane("doctor")
        except CafleetError as exc:
            problems.append(exc.message)

    blocking: list[str] = []  # the problems that make every database command fail
    database = _database_report(problems, blocking)
    known = len(problems)
    files = _files_report(problems, blocking)
    # Opening a SQLite file tightens its mode: doctor reads the courier rows only from a file
    # it would not change (or from a PostgreSQL server).
    from cafleet.core.config import PostgresServer, database_target

    try:
        on_postgres = isinstance(database_target(), PostgresServer)
    except CafleetError:  # a bad setting: the database section says so
        on_postgres = False
    readable = on_postgres or (database["exists"] and len(problems) == known)

    backends = {name: shutil.which(name) for name in CODING_AGENTS}
    if not any(backends.values()):
        problems.append(f"no coding agent ({', '.join(CODING_AGENTS)}) on PATH; install one to spawn members")
    versions = _versions_report(backends, problems)

    skills = _skill_report(problems)
    agent = _agent_report(problems, database["exists"])
    hosts = _hosts_report(readable, problems)
    lost = _lost_report(readable, problems)
    _unreadable_report(readable, problems)
    notifiers = _notifiers_report(readable, problems)

    document = {
        "version": __version__,
        "tmux": None
        if pane is None
        else {
            "socket_path": pane.tmux_socket,
            "server_pid": pane.tmux_server_pid,
            "session_name": pane.tmux_session,
            "window_id": pane.tmux_window_id,
            "pane_id": pane.tmux_pane_id,
        },
        "database": database,
        "files": files,
        "backends": backends,
        "backend_versions": {name: v._asdict() | {"unverified": v.unverified} for name, v in versions.items()},
        "skills": skills,
        "agent": agent,
        "hosts": hosts,
        "lost_fleets": lost,
        "notifiers": notifiers,
        "problems": problems,
    }

    def render() -> str:
        lines = [f"cafleet {__version__}"]
        if pane is None:
            lines.append("tmux: not inside a tmux pane")
        else:
            lines.append(
                f"tmux: pane {pane.tmux_pane_id} window {pane.tmux_window_id} "
                f"session {pane.tmux_session} socket {pane.tmux_socket}"
            )
        where = database["path"] or f"PostgreSQL {database['server']}"
        lines.append(
            f"database: {where} schema {database['schema_version'] if database['exists'] else 'none'} "
            f"(this cafleet: {LATEST_VERSION})"
        )
        if files:
            lines.append(f"locks: {files['lock_directory']} (courier log: {files['courier_log']})")
        seen = ", ".join(
            f"{c['host']} pid {c['pid']} {'alive' if c['alive'] else 'not seen since ' + c['seen_at']}" for c in hosts["couriers"]
        )
        started = f" (started this host's courier, pid {hosts['courier_started']})" if hosts["courier_started"] else ""
        lines.append(f"host: {hosts['this_host']}; couriers: {seen or 'none'}{started}")
        lines.append("backends: " + ", ".join(_backend_entry(n, p, versions.get(n)) for n, p in backends.items()))
        lines.append("skills: " + ", ".join(f"{n} {s['status']}" for n, s in skills.items()))
        if agent is not None:
            lines.append(f"this pane: {agent['name']}#{agent['agent_id']} of fleet {agent['fleet_id']} ({agent['coding_agent']})")
            lines.extend(f"  {'ok  ' if c['ok'] else 'FAIL'} {c['name']}: {c['detail']}" for c in agent["checks"])
        lines.append("notifiers: none" if not notifiers else "notifiers:")
        lines.extend(f"  {_notifier_entry(n)}" for n in notifiers)
        lines.append("problems: none" if not problems else "problems:")
        lines.extend(f"  - {p}" for p in problems)
        return "\n".join(lines)

    emit(document, render)
    if blocking:
        click.get_current_context().exit(1)


def _versions_report(backends: dict, problems: list[str]) -> dict:
    """Each installed agent's version against the ones cafleet's screen reader was verified
    with; a newer one is a problem to know of, not a refusal."""
    from cafleet.backends import backend

    versions = {}
    for name, path in backends.items():
        if path is None:
            continue
        spec = backend(name)
        version = versions[name] = spec.version(path)
        if version.unverified:
            problems.append(
                f"{name} {version.installed} is not a version cafleet's screen reader was verified with "
                f"({', '.join(version.verified)}); it is used anyway: if its members show `unreadable`, install a verified "
                f"one (npm install -g {spec.package}@{version.verified[-1]})"
            )
    return versions


def _unreadable_report(readable: bool, problems: list[str]) -> None:
    """Members of this host whose screens show no state cafleet can read, with the fix."""
    if not readable:
        return
    from cafleet.broker.agent_states import seen_states, watched_agents
    from cafleet.core.agent_state import AgentState
    from cafleet.panes.unreadable import agent_version
    from cafleet.store.db import open_database

    try:
        open_database()
        watched = {agent.agent_id: agent for agent in watched_agents()}
        seen_now = seen_states(list(watched))
    except Exception:  # a database doctor cannot read: its own section says why
        return
    for agent_id, seen in seen_now.items():
        if seen.state is AgentState.UNREADABLE:
            agent = watched[agent_id]
            version = agent_version(agent.placement.coding_agent, None)
            fix = f"install a verified version ({', '.join(version.verified)}), then " if version.unverified else ""
            problems.append(
                f"{agent.name}#{agent_id} of fleet {agent.fleet_id} runs {version.describe()} and its screen shows no state "
                f"cafleet can read; {fix}`cafleet --fleet-id {agent.fleet_id} member restart --agent-id "
                f"{agent.placement.director_id} --member-id {agent_id}`"
            )


def _notifiers_report(readable: bool, problems: list[str]) -> list[dict]:
    """Each notifier (secrets masked) and its last delivery: when, how it ended, and why."""
    from cafleet.core.errors import CafleetError
    from cafleet.services.notifier_config import config_path, load

    try:
        config = load()
    except CafleetError as exc:
        problems.append(exc.message)
        return []
    path = config_path()
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = 0o600
    if mode & 0o077:
        problems.append(f"the notifier config {path} (mode {mode:o}) holds secrets others can read; chmod 600 {path}")
    last: dict = {}
    if readable and config.notifiers:
        from cafleet.broker.notify_events import last_deliveries
        from cafleet.store.db import open_database

        try:
            open_database()
            last = last_deliveries([n.name for n in config.notifiers])
        except Exception:  # a database doctor cannot read: its own section says why
            last = {}
    report = []
    for notifier in config.notifiers:
        delivery = last.get(notifier.name)
        entry = {
            "name": notifier.name,
            "kind": notifier.kind.value,
            "target": notifier.shown_target(),
            "fleet_id": notifier.fleet_id,
            "last_delivery": delivery._asdict() if delivery is not None else None,
        }
        report.append(entry)
        if delivery is not None and delivery.status == "failed":
            problems.append(
                f"notifier {notifier.name} failed at {delivery.at}: {delivery.outcome}; check it with `cafleet notify test {notifier.name}`"
            )
    return report


def _notifier_entry(entry: dict) -> str:
    last = entry["last_delivery"]
    scope = f"fleet {entry['fleet_id']}" if entry["fleet_id"] is not None else "every fleet"
    if not last or not last["at"]:
        return f"{entry['name']}: {entry['kind']} {entry['target']} ({scope}); never sent"
    waiting = f"; {last['waiting']} waiting" if last["waiting"] else ""
    return f"{entry['name']}: {entry['kind']} {entry['target']} ({scope}); last {last['at']} {last['status']}: {last['outcome']}{waiting}"


def _backend_entry(name: str, path: str | None, version) -> str:
    if path is None:
        return f"{name} missing"
    return f"{name} {path}" + (f" {version.installed}" if version is not None and version.installed else "")


def _database_report(problems: list[str], blocking: list[str]) -> dict:
    """Which database (a file, or a server shown without its password), at which schema."""
    from cafleet.core.config import PostgresServer, database_target, shown_target
    from cafleet.core.errors import CafleetError
    from cafleet.store.db import current_version
    from cafleet.store.migrations import LATEST_VERSION

    database = {
        "engine": "sqlite",
        "path": None,
        "server": None,
        "exists": False,
        "schema_version": None,
        "latest_schema_version": LATEST_VERSION,
    }
    where = "the database"
    try:
        target = database_target()
        where = shown_target(target)
        if isinstance(target, PostgresServer):
            database.update(engine="postgresql", server=target.shown())
        else:
            database["path"] = str(target)
        version = current_version(target)
        database["exists"] = version is not None
        database["schema_version"] = version
        if version is None and isinstance(target, PostgresServer):
            problems.append(f"{where} has no cafleet tables yet; they are created on first use, or run `cafleet db init`")
        elif version is None:
            problems.append(f"database {where} does not exist yet; it is created on first use, or run `cafleet db init`")
        elif version < LATEST_VERSION:
            problems.append(
                f"database schema {version} is older than {LATEST_VERSION}; any command upgrades it, or run `cafleet db init`"
            )
        elif version > LATEST_VERSION:
            problems.append(
                f"database schema {version} is newer than this cafleet understands ({LATEST_VERSION}); upgrade cafleet"
            )
            blocking.append(problems[-1])
        if version is not None and not isinstance(target, PostgresServer):
            from cafleet.store.db import page_damage
            from cafleet.store.db_faults import write_problem

            damage = page_damage(target)
            _add(problems, blocking, damage.message if damage else write_problem(target))
    except CafleetError as exc:
        _add(problems, blocking, exc.message)
    except Exception as exc:  # an unreadable file must not stop the rest of the report
        from cafleet.store.db_faults import fault_of

        fault = fault_of(exc)
        _add(
            problems,
            blocking,
            fault.message if fault else f"cannot read {where}: {exc}; check the file or set CAFLEET_DATABASE_URL",
        )
    return database


def _add(problems: list[str], blocking: list[str], problem: str | None) -> None:
    """Report a problem that makes the database unusable, once."""
    if problem and problem not in problems:
        problems.append(problem)
    if problem and problem not in blocking:
        blocking.append(problem)


def _files_report(problems: list[str], blocking: list[str]) -> dict | None:
    """Who may reach the database's directory and file (following a symbolic link to the real
    file), and where locks and the courier log are."""
    from cafleet.core.config import PostgresServer, database_target, local_directory
    from cafleet.core.errors import CafleetError
    from cafleet.store.db_files import file_problem, location_problems, private_directory_problem
    from cafleet.store.lock_files import courier_log_path, lock_directory
    from cafleet.store.lock_files import directory_problem as lock_problem

    try:
        target = database_target()
        if isinstance(target, PostgresServer):
            directory = local_directory()  # its locks and the courier's log: refused unless private
            _add(problems, blocking, private_directory_problem(directory) if directory.is_dir() else None)
        else:
            refusals = location_problems(target)
            for problem in refusals:
                _add(problems, blocking, problem)
            loose = None if refusals or not target.is_file() else file_problem(target)
            if loose:
                problems.append(loose)
        locks = lock_problem(lock_directory())
        if locks:
            problems.append(locks)
    except CafleetError:
        return None  # the database section already says what is wrong with the setting
    except OSError as exc:
        problems.append(f"cannot inspect the database's files: {exc.strerror} ({exc.filename})")
    return {"lock_directory": str(lock_directory()), "courier_log": str(courier_log_path())}


def _agent_report(problems: list[str], database_exists: bool) -> dict | None:
    """When this pane is a fleet agent's: can it run cafleet (permission, sandbox, PATH)?"""
    from cafleet.setup.agent_check import check_agent, pane_agent
    from cafleet.store.db import open_database

    if not database_exists or not os.environ.get("TMUX_PANE"):
        return None
    try:
        open_database(create=False)
        here = pane_agent(settings().fleet_id)
    except Exception:  # the database section above already reports an unusable file
        return None
    if here is None:
        return None
    checks = check_agent(here)
    problems.extend(f"{c.detail}; {c.fix}" for c in checks if not c.ok)
    return {**here._asdict(), "checks": [c._asdict() for c in checks]}


def _hosts_report(readable: bool, problems: list[str]) -> dict:
    """This host's id (checked before any command runs), and each host's courier as its
    heartbeat row says (alive: stamped lately). This host's courier is started first when it
    should run and does not, as the agents' commands do, and given a moment to check in."""
    from cafleet.core.hosts import this_host

    host = this_host()
    if not readable:
        return {"this_host": host, "couriers": [], "courier_started": None}
    from cafleet.broker.couriers import couriers
    from cafleet.store.db import open_database

    try:
        open_database(create=False)
        started = _start_courier(problems)
        rows = couriers() if started is None else _checked_in(started, host, problems)
    except Exception:  # no database yet, or an unusable one: the database section says which
        return {"this_host": host, "couriers": [], "courier_started": None}
    return {"this_host": host, "couriers": [row._asdict() for row in rows], "courier_started": started}


def _lost_report(readable: bool, problems: list[str]) -> list[dict]:
    """The live fleets placed on this host (the one --fleet-id names, if given) whose
    Director's or members' panes are gone, each a problem that names `fleet restore`."""
    if not readable:
        return []
    from cafleet.panes.lost_fleets import fleet_losses

    try:
        losses = fleet_losses(settings().fleet_id)
    except Exception:  # an unusable database: the database section says why
        return []
    report = []
    for loss in losses:
        problems.append(f"fleet {loss.fleet_id}: {loss.what()} ({loss.why()}); {loss.fix()}")
        report.append(
            {
                "fleet_id": loss.fleet_id,
                "members": loss.members,
                "lost_members": [_lost_json(agent) for agent in loss.lost_members],
                "director": _lost_json(loss.director) if loss.director else None,
                "restore": loss.restore_command,
            }
        )
    return report


def _lost_json(agent) -> dict:
    return {"agent_id": agent.agent_id, "name": agent.name, "tmux_socket": agent.tmux_socket, "why": agent.lost}


def _start_courier(problems: list[str]) -> int | None:
    """The pid of the courier started for this host, if it had to be."""
    from cafleet.core.errors import CafleetError
    from cafleet.services.courier_launcher import ensure_courier

    try:
        return ensure_courier(always=True)
    except CafleetError as exc:
        problems.append(f"this host's courier cannot be started: {exc.message}")
        return None


def _checked_in(pid: int, host: str, problems: list[str]) -> list:
    """The courier rows once the courier `pid` stamped its own (or, after a while, without it)."""
    import time

    from cafleet.broker.couriers import couriers
    from cafleet.store.lock_files import courier_log_path

    deadline = time.monotonic() + CHECK_IN_SECONDS
    while True:
        rows = couriers()
        if any(row.host == host and row.pid == pid for row in rows):
            return rows
        if time.monotonic() >= deadline:
            problems.append(
                f"this host's courier (pid {pid}) was started but did not check in within {CHECK_IN_SECONDS:g} s; "
                f"its log says why: {courier_log_path()}"
            )
            return rows
        time.sleep(0.1)


def _skill_report(problems: list[str]) -> dict:
    """Per coding agent: are all cafleet skills installed, and each the same as the packaged one.
    An agent that is not on this machine and has none of them is `no-agent`, as `cafleet setup`
    leaves it: no problem to fix."""
    from cafleet.setup.skill_install import (
        CURRENT,
        MISSING,
        NO_AGENT,
        OUTDATED,
        UNREADABLE,
        packaged_skills,
        presence,
        skill_dirs,
        status,
        targets,
    )

    skills = packaged_skills()
    dirs = skill_dirs()
    here = presence()
    found: dict[str, list] = {}
    for target in targets(skills=skills):
        found.setdefault(target.agent, []).append(status(target, skills[target.skill]))
    report = {}
    stale: dict[str, list[str]] = {}
    unreadable_paths: list[str] = []
    for agent, states in found.items():
        kinds = {s.status for s in states}
        if UNREADABLE in kinds:
            overall = UNREADABLE
            unreadable_paths += [str(s.path.parent / name) for s in states if s.status == UNREADABLE for name in s.stale]
        elif kinds == {MISSING}:
            overall = MISSING if here[agent].found else NO_AGENT
        elif kinds == {CURRENT}:
            overall = CURRENT
        else:
            overall = OUTDATED
        report[agent] = {
            "path": str(dirs[agent]),
            "status": overall,
            "modified": any(s.modified for s in states),
            "skills": {s.skill: s.status for s in states},
        }
        if overall not in (CURRENT, NO_AGENT):
            stale.setdefault(overall, []).append(agent)
    if stale:
        which = "; ".join(f"{state} for {', '.join(agents)}" for state, agents in stale.items())
        edited = any(r["modified"] and r["status"] == OUTDATED for r in report.values())
        keeps = "it keeps your edited files as NAME.bak; " if edited else ""
        if unreadable_paths:
            keeps += "first remove or fix " + ", ".join(unreadable_paths) + "; "
        problems.append(f"cafleet agent skills {which}: run `cafleet setup` ({keeps}`--skip AGENT` leaves an agent out)")
    return report
