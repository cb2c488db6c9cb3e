"""The pure rules that decide whether text may be typed into a pane, and what that text becomes."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cafleet.core.records import PlacementRecord
from cafleet.panes.safety import clean, newlines_as_symbol, pane_is_alive, safe_ending, target_problem
from cafleet.panes.tmux import PaneState


class Server(NamedTuple):
    """What `target_problem` asks of a tmux server: its pid (None when nothing answers)."""

    server_pid: int | None


def placement(pane_id: str | None = "%3", server_pid: int | None = 100) -> PlacementRecord:
    return PlacementRecord(
        agent_id=4,
        director_id=1,
        tmux_socket="/tmp/tmux-test/default",
        tmux_server_pid=server_pid,
        tmux_session="main",
        tmux_window_id="@1",
        tmux_pane_id=pane_id,
        coding_agent="claude",
        created_at="2026-11-20T09:00:00.000000Z",
    )


def pane(dead: bool = False, tui: bool = False) -> PaneState:
    return PaneState(
        pane_id="%3",
        dead=dead,
        current_command="node",
        in_mode=False,
        pid=4242,
        window_id="@1",
        session="main",
        shows_cafleet_tui=tui,
    )


@pytest.mark.parametrize(
    "where, server, state, problem",
    [
        (None, Server(100), pane(), "no-placement"),
        (placement(pane_id=None), Server(100), pane(), "pending-placement"),
        (placement(), None, None, "tmux-server-gone"),
        (placement(), Server(None), None, "tmux-server-gone"),
        (placement(server_pid=100), Server(200), pane(), "other-tmux-server"),
        (placement(), Server(100), None, "pane-gone"),
        (placement(), Server(100), pane(dead=True), "pane-gone"),
        (placement(), Server(100), pane(tui=True), "pane-shows-cafleet-tui"),
        (placement(), Server(100), pane(), None),
        # A placement recorded without the server's pid cannot tell servers apart.
        (placement(server_pid=None), Server(200), pane(), None),
    ],
)
def test_target_problem(where, server, state, problem):
    assert target_problem(where, server, state) == problem


def test_only_a_live_pane_counts_as_alive():
    assert pane_is_alive(None) and pane_is_alive("pane-shows-cafleet-tui")
    assert not any(pane_is_alive(p) for p in ("pane-gone", "tmux-server-gone", "other-tmux-server", "pending-placement"))


@given(st.text())
def test_cleaned_text_holds_no_control_character(text):
    typed = clean(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in typed)
    assert set(typed) <= set(text.replace("\t", " "))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc",))))
def test_clean_keeps_printable_text_as_it_is(text):
    assert clean(text) == text


@given(st.text())
def test_newlines_as_symbol_holds_no_line_break(text):
    flat = newlines_as_symbol(text)
    assert "\n" not in flat and "\r" not in flat
    assert flat.count("⏎") == text.count("⏎") + text.replace("\r\n", "\n").count("\n") + text.replace("\r\n", "").count("\r")


@given(st.text())
def test_typed_text_never_ends_in_a_mention(text):
    ending = safe_ending(text)
    assert ending.startswith(text)
    last_word = ending.rstrip().rsplit(None, 1)[-1] if ending.strip() else ""
    assert not last_word.startswith("@")
