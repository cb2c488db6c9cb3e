"""`message search`: ranking, privacy (nobody finds what they could not `show`), the FTS index
kept right through sends, acks, cancels and migrations, and queries that can never break FTS5."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cafleet.core.errors import Field, InvalidInput, NotFound


def _search(fleet, agent_id, query, **kwargs):
    from cafleet.broker.search import search_messages

    return search_messages(fleet.fleet_id, agent_id, query, **kwargs)


def _ids(hits) -> list[int]:
    return [h.task.id for h in hits]


def _index_is_consistent(db_path) -> None:
    """The search index holds every task with exactly the words of its text now: on SQLite by
    FTS5's own check and its terms, with the agents (`who`) whose own task it is; on PostgreSQL
    every task's stored tsvector is its text's (who may see a task is read from its columns)."""
    from cafleet.store.db import is_postgres

    if is_postgres():
        _vectors_are_current()
        return
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("INSERT INTO tasks_fts (tasks_fts) VALUES ('integrity-check')")
        conn.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, tasks_fts, instance)")
        indexed: dict[tuple[int, str], set[str]] = {}
        for term, doc, column in conn.execute("SELECT term, doc, col FROM temp.terms"):
            indexed.setdefault((doc, column), set()).add(term)
        rows = conn.execute("SELECT id, fleet_id, kind, from_id, to_id, text FROM tasks").fetchall()
        assert {doc for doc, _ in indexed} == {row[0] for row in rows}
        for task_id, fleet_id, kind, from_id, to_id, text in rows:
            assert indexed[(task_id, "text")] == _stems(conn, text), task_id
            who = {
                "unicast": {f"a{from_id}", f"a{to_id}", f"f{fleet_id}"},
                "broadcast_summary": {f"a{from_id}", f"f{fleet_id}"},
            }.get(kind, {f"a{to_id}"})
            assert indexed[(task_id, "who")] == who, task_id
    finally:
        conn.close()


def _vectors_are_current() -> None:
    """Every task's stored tsvector is its text's words, punctuation blanked (migration 10)."""
    from cafleet.store.migrations import SEARCH_CONFIG, SEARCH_SEPARATORS
    from cafleet.store.models import database

    stale = database.execute_sql(
        f"SELECT id FROM tasks WHERE search_vector IS DISTINCT FROM to_tsvector('{SEARCH_CONFIG}', translate(text, %s, %s))",
        (SEARCH_SEPARATORS, " " * len(SEARCH_SEPARATORS)),
    ).fetchall()
    assert stale == []


def _stems(conn, text: str) -> set[str]:
    """What the porter tokenizer makes of `text`'s words (via a scratch FTS5 table)."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch USING fts5(t, tokenize='porter unicode61 remove_diacritics 2')")
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch_terms USING fts5vocab(temp, scratch, row)")
    conn.execute("DELETE FROM temp.scratch")
    conn.execute("INSERT INTO temp.scratch (t) VALUES (?)", (text,))
    return {r[0] for r in conn.execute("SELECT term FROM temp.scratch_terms")}


# --------------------------------------------------------------------------- ranking


def test_best_match_first_then_newest_among_equals(fleet):
    from cafleet.broker.messages import send_message

    weak = send_message(fleet.fleet_id, fleet.alice_id, "bob", "the parser is done, and many other unrelated words follow here")
    strong = send_message(fleet.fleet_id, fleet.alice_id, "bob", "parser parser parser")
    old_tie = send_message(fleet.fleet_id, fleet.alice_id, "bob", "lexer notes")
    new_tie = send_message(fleet.fleet_id, fleet.alice_id, "bob", "lexer notes")
    send_message(fleet.fleet_id, fleet.alice_id, "bob", "nothing to see")

    hits = _search(fleet, fleet.bob_id, "parser")
    assert _ids(hits) == [strong.id, weak.id]
    assert hits[0].score > hits[1].score > 0
    assert _ids(_search(fleet, fleet.bob_id, "lexer")) == [new_tie.id, old_tie.id]


def test_words_match_in_any_form_all_are_required_and_phrases_are_exact(fleet):
    from cafleet.broker.messages import send_message

    reviews = send_message(fleet.fleet_id, fleet.alice_id, "bob", "Two reviews of the tokenizer are pending")
    other = send_message(fleet.fleet_id, fleet.alice_id, "bob", "the pending tokenizer review, two of them")
    assert set(_ids(_search(fleet, fleet.bob_id, "review tokenizer"))) == {reviews.id, other.id}
    assert _ids(_search(fleet, fleet.bob_id, '"reviews of the tokenizer"')) == [reviews.id]
    assert _ids(_search(fleet, fleet.bob_id, "review missingword")) == []
    assert set(_ids(_search(fleet, fleet.bob_id, "tok*"))) == {reviews.id, other.id}


def test_words_inside_paths_names_and_addresses_and_common_words_are_found(fleet):
    """Punctuation separates words, and no word is too common to search for, on both engines."""
    from cafleet.broker.messages import send_message

    text = "see src/parser.py, self.parser_state and ops@parser.org from the host"
    task = send_message(fleet.fleet_id, fleet.alice_id, "bob", text)
    send_message(fleet.fleet_id, fleet.alice_id, "bob", "nothing here")
    for query in ["parser", "py", "state", "org", "the", "from", "--from", '"src/parser.py"', "self.pars*", '"from the"']:
        assert _ids(_search(fleet, fleet.bob_id, query)) == [task.id], query
    [hit] = _search(fleet, fleet.bob_id, "parser")
    assert [text[s:e] for s, e in hit.matches] == ["parser"] * 3


def test_matches_point_at_the_words_found(fleet):
    from cafleet.broker.messages import send_message

    text = "Ünïcode first: the Parser, then parsers and more parsing"
    send_message(fleet.fleet_id, fleet.alice_id, "bob", text)
    [hit] = _search(fleet, fleet.bob_id, "parser")
    assert [text[s:e] for s, e in hit.matches] == ["Parser", "parsers"]


def test_limit_since_and_from(fleet):
    from cafleet.broker.messages import send_message
    from cafleet.store.models import Task

    first = send_message(fleet.fleet_id, fleet.alice_id, "bob", "deploy one")
    second = send_message(fleet.fleet_id, fleet.director_id, "bob", "deploy two")
    third = send_message(fleet.fleet_id, fleet.alice_id, "bob", "deploy three")
    Task.update(created_at="2026-01-01T00:00:00.000000Z").where(Task.id == first.id).execute()

    assert len(_search(fleet, fleet.bob_id, "deploy", limit=2)) == 2
    assert set(_ids(_search(fleet, fleet.bob_id, "deploy", since="2026-06-01T00:00:00.000000Z"))) == {second.id, third.id}
    assert set(_ids(_search(fleet, fleet.bob_id, "deploy", sender_ref="ALICE"))) == {first.id, third.id}
    assert _ids(_search(fleet, fleet.bob_id, "deploy", sender_ref=str(fleet.director_id))) == [second.id]
    with pytest.raises(NotFound, match="sender 'nobody'") as refused:
        _search(fleet, fleet.bob_id, "deploy", sender_ref="nobody")
    assert (refused.value.field, refused.value.value) == (Field.SENDER, "nobody")


# --------------------------------------------------------------------------- privacy


def test_an_agent_finds_only_what_it_sent_or_received(fleet):
    from cafleet.broker.agents import register_agent
    from cafleet.broker.messages import send_message

    carol = register_agent(fleet.fleet_id, "carol", "a third agent")
    to_bob = send_message(fleet.fleet_id, fleet.alice_id, "bob", "secret plan")
    from_bob = send_message(fleet.fleet_id, fleet.bob_id, "director", "secret report")
    assert set(_ids(_search(fleet, fleet.bob_id, "secret"))) == {to_bob.id, from_bob.id}
    assert _ids(_search(fleet, fleet.alice_id, "secret")) == [to_bob.id]
    assert _ids(_search(fleet, carol.id, "secret")) == []


def test_the_administrator_and_the_director_see_the_whole_fleet(fleet):
    from cafleet.broker.messages import broadcast_message, send_message

    between = send_message(fleet.fleet_id, fleet.alice_id, "bob", "quiet word")
    sent = broadcast_message(fleet.fleet_id, fleet.alice_id, "quiet announcement")
    for viewer in (fleet.administrator_id, fleet.director_id):
        assert set(_ids(_search(fleet, viewer, "quiet"))) == {between.id, sent.summary.id}


def test_a_broadcast_is_found_once_as_the_task_each_one_can_open(fleet):
    from cafleet.broker.messages import broadcast_message, show_message

    sent = broadcast_message(fleet.fleet_id, fleet.alice_id, "all hands at noon")
    assert _ids(_search(fleet, fleet.alice_id, "hands")) == [sent.summary.id]
    bob_copy = next(d for d in sent.deliveries if d.to_agent_id == fleet.bob_id)
    [hit] = _search(fleet, fleet.bob_id, "hands")
    assert (hit.task.id, hit.task.kind) == (bob_copy.id, "broadcast")
    assert show_message(fleet.fleet_id, fleet.bob_id, hit.task.id).text == "all hands at noon"
    assert _ids(_search(fleet, fleet.director_id, "hands")) == [sent.summary.id]


def test_other_fleets_are_invisible(fleet):
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from cafleet.broker.messages import send_message
    from tests.support import OTHER_PANE

    other = create_fleet(OTHER_PANE, label="other")
    eve = register_agent(other.fleet.id, "eve", "elsewhere")
    send_message(other.fleet.id, eve.id, "director", "zebra crossing")
    assert _search(fleet, fleet.administrator_id, "zebra") == []
    assert _search(fleet, fleet.director_id, "zebra") == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sends=st.lists(
        st.tuples(
            st.sampled_from(["alice", "bob", "carol", "director", "Administrator"]),
            st.sampled_from(["alice", "bob", "carol", "director", "Administrator", "@all"]),
            st.sampled_from(["apple", "apple pie", "pie", "banana apple"]),
        ),
        min_size=1,
        max_size=12,
    ),
    searcher=st.sampled_from(["alice", "bob", "carol"]),
    query=st.sampled_from(["apple", "pie", "banana", "apple pie"]),
)
def test_never_a_message_that_show_would_refuse(fleet_factory, sends, searcher, query):
    """Whatever was sent between whom, a hit is always a task the searcher can `show`, and every
    message it can show that matches is found (once)."""
    from cafleet.broker.messages import broadcast_message, send_message, show_message
    from cafleet.core.errors import Refused

    fleet, ids = fleet_factory()
    for sender, to, text in sends:
        try:
            if to == "@all":
                broadcast_message(fleet.fleet_id, ids[sender], text)
            else:
                send_message(fleet.fleet_id, ids[sender], to, text)
        except Refused:
            continue
    agent_id = ids[searcher]
    hits = _search(fleet, agent_id, query, limit=500)
    for hit in hits:
        assert show_message(fleet.fleet_id, agent_id, hit.task.id).id == hit.task.id
    assert len(set(_ids(hits))) == len(hits)
    words = query.split()
    visible = _visible_matching(fleet.fleet_id, agent_id, words)
    assert set(_ids(hits)) == visible


def _visible_matching(fleet_id: int, agent_id: int, words: list[str]) -> set[int]:
    """By brute force: tasks the agent can show (its own summary, not its copies) whose text has every word."""
    from cafleet.store.models import Task

    found = set()
    for task in Task.select().where(Task.fleet == fleet_id):
        if agent_id not in (task.sender_id, task.recipient_id, task.owner_id):
            continue
        if (
            task.kind == "unicast"
            or (task.kind == "broadcast" and task.recipient_id == agent_id)
            or (task.kind == "broadcast_summary" and task.sender_id == agent_id)
        ):
            if all(w in task.text.split() for w in words):
                found.add(task.id)
    return found


@pytest.fixture
def fleet_factory(db):
    """A fresh fleet per hypothesis example (alice, bob, carol, the Director, the Administrator)."""
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from tests.support import FAKE_PANE, Fleet

    def make():
        created = create_fleet(FAKE_PANE, force=True)
        fid = created.fleet.id
        ids = {"director": created.director.id, "Administrator": created.administrator.id}
        for name in ("alice", "bob", "carol"):
            ids[name] = register_agent(fid, name, f"{name} searches").id
        return Fleet(fid, ids["director"], ids["Administrator"], ids["alice"], ids["bob"]), ids

    return make


# --------------------------------------------------------------------------- the index stays right


@pytest.mark.sqlite_only
def test_acks_and_cancels_keep_the_index_and_show_the_new_state(fleet, db_path):
    from cafleet.broker.messages import ack_message, broadcast_message, cancel_message, send_message

    acked = send_message(fleet.fleet_id, fleet.alice_id, "bob", "migrate the schema")
    canceled = send_message(fleet.fleet_id, fleet.alice_id, "bob", "schema rollback plan")
    sent = broadcast_message(fleet.fleet_id, fleet.alice_id, "schema freeze today")
    ack_message(fleet.fleet_id, fleet.bob_id, acked.id)
    cancel_message(fleet.fleet_id, fleet.alice_id, canceled.id)
    cancel_message(fleet.fleet_id, fleet.alice_id, sent.summary.id)

    states = {h.task.id: h.task.state for h in _search(fleet, fleet.bob_id, "schema")}
    bob_copy = next(d.id for d in sent.deliveries if d.to_agent_id == fleet.bob_id)
    assert states == {acked.id: "completed", canceled.id: "canceled", bob_copy: "canceled"}
    _index_is_consistent(db_path)


@pytest.mark.sqlite_only
def test_every_write_path_keeps_the_index_consistent(fleet, db_path):
    from cafleet.broker.fleets import delete_fleet
    from cafleet.broker.messages import broadcast_message, send_message
    from cafleet.store.models import Task

    send_message(fleet.fleet_id, fleet.alice_id, "bob", "alpha")
    sent = broadcast_message(fleet.fleet_id, fleet.bob_id, "beta")
    _index_is_consistent(db_path)
    # Text never changes in cafleet, but the trigger must hold if it ever did.
    Task.update(text="gamma").where(Task.id == sent.summary.id).execute()
    assert _ids(_search(fleet, fleet.bob_id, "gamma")) == [sent.summary.id]
    assert _search(fleet, fleet.bob_id, "beta") == []
    Task.delete().where(Task.origin == sent.summary.id).execute()
    _index_is_consistent(db_path)
    delete_fleet(fleet.fleet_id)
    _index_is_consistent(db_path)


@pytest.mark.sqlite_only
def test_migrating_an_older_file_indexes_its_history(tmp_path, monkeypatch):
    from cafleet.store.db import open_database
    from cafleet.store.migrations import MIGRATIONS, migrate
    from cafleet.store.models import database

    search_version = next(m.version for m in MIGRATIONS if m.name == "full-text search over message text")
    path = tmp_path / "before-search.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, str(path), up_to=search_version - 1)
    now = "2026-01-02T03:04:05.000000Z"
    conn.execute("INSERT INTO fleets (id, label, created_at, director_id) VALUES (1, 'old', ?, 1)", (now,))
    conn.executemany(
        "INSERT INTO agents (id, fleet_id, name, kind, registered_at) VALUES (?, 1, ?, ?, ?)",
        [(1, "director", "director", now), (2, "Administrator", "administrator", now), (3, "w", "agent", now)],
    )
    conn.executemany(
        "INSERT INTO tasks (id, fleet_id, owner_id, from_id, to_id, kind, state, created_at, state_changed_at, origin_id, text) "
        "VALUES (?, 1, ?, ?, ?, ?, 'input_required', ?, ?, ?, ?)",
        [
            (1, 3, 1, 3, "unicast", now, now, None, "legacy kiwi note"),
            (2, 1, 1, None, "broadcast_summary", now, now, 2, "kiwi for everyone"),
            (3, 3, 1, 3, "broadcast", now, now, 2, "kiwi for everyone"),
        ],
    )
    conn.close()
    monkeypatch.setenv("CAFLEET_DATABASE_URL", str(path))
    open_database()
    from cafleet.broker.search import search_messages

    assert set(_ids(search_messages(1, 3, "kiwi"))) == {1, 3}
    assert set(_ids(search_messages(1, 1, "kiwi"))) == {1, 2}
    database.close()
    _index_is_consistent(path)


def test_migrating_an_older_postgres_database_indexes_its_history(postgres_url, monkeypatch):
    import psycopg

    from cafleet.store.db import open_database
    from cafleet.store.migrations import MIGRATIONS
    from cafleet.store.postgres import VERSION_TABLE

    search_version = next(m.version for m in MIGRATIONS if m.name == "full-text search over message text")
    now = "2026-01-02T03:04:05.000000Z"
    monkeypatch.setenv("CAFLEET_DATABASE_URL", postgres_url)
    with psycopg.connect(postgres_url) as conn:
        for migration in MIGRATIONS[: search_version - 1]:
            for statement in migration.postgres_statements():
                conn.execute(statement)
        conn.execute(f"CREATE TABLE {VERSION_TABLE} (version INTEGER NOT NULL)")
        conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (%s)", (search_version - 1,))
        conn.execute("INSERT INTO fleets (id, label, created_at) VALUES (1, 'old', %s)", (now,))
        conn.cursor().executemany(
            "INSERT INTO agents (id, fleet_id, name, kind, registered_at) VALUES (%s, 1, %s, %s, %s)",
            [(1, "director", "director", now), (2, "Administrator", "administrator", now), (3, "w", "agent", now)],
        )
        conn.execute("UPDATE fleets SET director_id = 1")
        conn.cursor().executemany(
            "INSERT INTO tasks (id, fleet_id, owner_id, from_id, to_id, kind, state, created_at, state_changed_at, origin_id, text) "
            "VALUES (%s, 1, %s, %s, %s, %s, 'input_required', %s, %s, %s, %s)",
            [
                (1, 3, 1, 3, "unicast", now, now, None, "legacy kiwi note in notes/kiwi.md"),
                (2, 1, 1, None, "broadcast_summary", now, now, 2, "kiwi for everyone"),
                (3, 3, 1, 3, "broadcast", now, now, 2, "kiwi for everyone"),
            ],
        )
    open_database()
    from cafleet.broker.search import search_messages

    assert set(_ids(search_messages(1, 3, "kiwi"))) == {1, 3}
    assert set(_ids(search_messages(1, 1, "kiwi"))) == {1, 2}
    assert _ids(search_messages(1, 1, "md")) == [1]  # read as migration 10 reads: punctuation separates
    _vectors_are_current()


# --------------------------------------------------------------------------- queries


@pytest.mark.parametrize("query", ["", "   ", "!!!", '""', "* - ( ) :", "\0"])
def test_a_query_without_words_is_a_usage_error(fleet, query):
    with pytest.raises(InvalidInput, match="no words to search for"):
        _search(fleet, fleet.bob_id, query)


def test_fts_syntax_is_just_text(fleet):
    from cafleet.broker.messages import send_message

    task = send_message(fleet.fleet_id, fleet.alice_id, "bob", 'use NEAR(a b) OR "x" -y col:z ^start')
    for query in ["NEAR(a", "OR", '"x', "col:z", "-y", "^start", "a AND", 'x" OR "y']:
        hits = _search(fleet, fleet.bob_id, query)
        assert all(h.task.id == task.id for h in hits), query


def test_overlong_queries_are_refused(fleet):
    with pytest.raises(InvalidInput, match="over the 1,000-character limit"):
        _search(fleet, fleet.bob_id, "a" * 1001)
    with pytest.raises(InvalidInput, match="over the limit of 32"):
        _search(fleet, fleet.bob_id, " ".join(f"w{i}" for i in range(33)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=60))
def test_any_query_runs_or_is_a_usage_error(fleet, query):
    """Never an FTS5 syntax error or any other unexpected exception."""
    try:
        hits = _search(fleet, fleet.bob_id, query)
    except InvalidInput as exc:
        assert exc.exit_code == 2
    else:
        assert isinstance(hits, list)


def test_a_very_common_word_is_ranked_among_its_newest_matches(fleet, monkeypatch):
    """Scoring every match of a word that is in most messages would cost a full scan: past
    RANKED_CANDIDATES matches only the newest are ranked; a filter narrows first instead."""
    from cafleet.broker import search
    from cafleet.broker.messages import send_message

    best_but_old = send_message(fleet.fleet_id, fleet.alice_id, "bob", "status status status")
    newer = [send_message(fleet.fleet_id, fleet.alice_id, "bob", f"status report number {n} with more words") for n in range(4)]
    monkeypatch.setattr(search, "RANKED_CANDIDATES", 3)
    assert _ids(_search(fleet, fleet.bob_id, "status")) == [t.id for t in reversed(newer[1:])]
    assert _ids(_search(fleet, fleet.bob_id, "status", sender_ref="alice"))[0] == best_but_old.id
    monkeypatch.setattr(search, "RANKED_CANDIDATES", 100)
    assert _ids(_search(fleet, fleet.bob_id, "status"))[0] == best_but_old.id
