"""Reading each agent's usage from the files the real agents wrote: exactly what the loopback
model reported, incrementally, and safely when a file is half-written, replaced or gone."""

from __future__ import annotations

import sqlite3

import pytest

from cafleet.backends.usage import forget, read_member_usage
from cafleet.core.usage import sum_tokens
from tests.usage_support import BACKENDS, MODELS, install, model_answers

pytestmark = pytest.mark.engine_neutral  # agents' own usage files: no database


@pytest.fixture(autouse=True)
def cold():
    forget()
    yield
    forget()


@pytest.mark.parametrize("backend", BACKENDS)
def test_usage_is_exactly_what_the_model_reported(tmp_path, backend):
    installed = install(backend, tmp_path)
    usage = read_member_usage(backend, installed.session_id, installed.environment)
    answers = model_answers(backend)
    assert usage is not None
    assert [a.tokens for a in usage.answers] == answers
    assert usage.tokens() == sum_tokens(answers)
    assert usage.model == MODELS[backend]
    assert usage.context_used == answers[-1].fresh + answers[-1].cached
    assert all(a.at is not None for a in usage.answers)


def test_codex_says_its_context_window_and_the_others_leave_it_to_the_price_table(tmp_path):
    for backend in BACKENDS:
        installed = install(backend, tmp_path / backend)
        usage = read_member_usage(backend, installed.session_id, installed.environment)
        assert usage is not None
        assert usage.context_window == (258_400 if backend == "codex" else None), backend


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_member_without_a_saved_conversation_has_no_usage(tmp_path, backend):
    assert read_member_usage(backend, "no-such-session", {"HOME": str(tmp_path)}) is None
    assert read_member_usage(backend, None, {"HOME": str(tmp_path)}) is None


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "opencode"])
def test_a_half_written_last_line_waits_until_it_is_whole(tmp_path, backend):
    installed = install(backend, tmp_path)
    lines = installed.path.read_bytes().splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if _carries_usage(backend, line))
    head, tail = b"".join(lines[:last]), b"".join(lines[last:])
    half = len(lines[last]) // 2
    installed.path.write_bytes(head + lines[last][:half])
    before = read_member_usage(backend, installed.session_id, installed.environment)
    answers = model_answers(backend)
    assert before is not None and before.tokens() == sum_tokens(answers[:-1])
    with installed.path.open("ab") as appending:  # the agent finishes the line, and the file
        appending.write(tail[half:])
    after = read_member_usage(backend, installed.session_id, installed.environment)
    assert after is not None and after.tokens() == sum_tokens(answers)


def _carries_usage(backend: str, line: bytes) -> bool:
    marks = {
        "claude": b'"usage"',
        "codex": b'"token_count"',
        "gemini": b'"tokens"',
        "qwen": b'"qwen-code.api_response"',
        "pi": b'"usage"',
    }
    return marks[backend] in line


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_file_that_vanished_reads_as_nothing(tmp_path, backend):
    installed = install(backend, tmp_path)
    assert read_member_usage(backend, installed.session_id, installed.environment) is not None
    installed.path.unlink()
    assert read_member_usage(backend, installed.session_id, installed.environment) is None


def test_a_file_replaced_by_a_shorter_one_is_read_again_from_the_start(tmp_path):
    installed = install("pi", tmp_path)
    full = read_member_usage("pi", installed.session_id, installed.environment)
    lines = installed.path.read_bytes().splitlines(keepends=True)
    first_answer = next(i for i, line in enumerate(lines) if b'"usage"' in line)
    replacement = installed.path.with_name("new.tmp")
    replacement.write_bytes(b"".join(lines[: first_answer + 1]))
    replacement.replace(installed.path)
    again = read_member_usage("pi", installed.session_id, installed.environment)
    assert full is not None and len(full.answers) == 3
    assert again is not None and [a.tokens for a in again.answers] == model_answers("pi")[:1]


def test_lines_that_are_not_json_or_not_usage_are_skipped(tmp_path):
    installed = install("claude", tmp_path)
    with installed.path.open("ab") as appending:
        appending.write(b'{"type": "assistant", "message": {"usage": "nonsense"}}\nnot json "usage"\n[1, 2]\n')
    usage = read_member_usage("claude", installed.session_id, installed.environment)
    assert usage is not None and usage.tokens() == sum_tokens(model_answers("claude"))


def test_opencode_is_read_while_opencode_holds_a_write_transaction(tmp_path):
    installed = install("opencode", tmp_path)
    writer = sqlite3.connect(installed.path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=wal")
    writer.execute("BEGIN IMMEDIATE")  # opencode writing: a reader in WAL mode neither waits nor blocks it
    writer.execute("UPDATE session SET title = 'still writing'")
    try:
        usage = read_member_usage("opencode", installed.session_id, installed.environment)
        assert usage is not None and usage.tokens() == sum_tokens(model_answers("opencode"))
        writer.execute("COMMIT")
    finally:
        writer.close()


def test_opencode_reads_again_only_when_its_database_changed(tmp_path):
    installed = install("opencode", tmp_path)
    first = read_member_usage("opencode", installed.session_id, installed.environment)
    database = sqlite3.connect(installed.path)
    with database:
        database.execute("DELETE FROM message WHERE id = (SELECT max(id) FROM message)")
    database.close()
    second = read_member_usage("opencode", installed.session_id, installed.environment)
    assert first is not None and second is not None
    assert len(second.answers) == len(first.answers) - 1


def test_a_resumed_codex_session_keeps_counting_in_the_same_file(tmp_path):
    """`fleet restore` resumed this codex member (tests/test_real_agents_restore.py): codex went
    on appending to its rollout, its running total carried over."""
    from cafleet.backends.codex_usage import CodexFold
    from cafleet.backends.usage_files import read_usage
    from tests.usage_support import FIXTURES

    usage = read_usage(FIXTURES / "codex-resumed.jsonl", CodexFold)
    assert usage is not None
    assert [a.tokens for a in usage.answers] == model_answers("codex-resumed")
