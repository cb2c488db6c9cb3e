"""The real app in a real terminal: tmux on a private socket runs `cafleet ui`; we read the
screen with capture-pane, type into it, and quit with Ctrl-Q."""

from __future__ import annotations

import os
import re
import shlex

from cafleet.core.config import database_setting
from tests.support import cafleet_command
from tests.tui_support import build_story
from tests.waiting import wait_for


def screen(tmux_server, pane):
    return tmux_server.tmux("capture-pane", "-p", "-t", pane).stdout


def wait_for_screen(tmux_server, pane, text, timeout=15):
    def showing():
        shown = screen(tmux_server, pane)
        return shown if text in shown else None

    try:
        return wait_for(showing, timeout, f"{text!r} on screen")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the screen shows:\n{screen(tmux_server, pane)}") from None


def start_ui(tmux_server, *args: str) -> str:
    """`cafleet [ARGS] ui` in a new 100×30 window of the private server; its pane id."""
    command = " ".join(shlex.quote(part) for part in [*cafleet_command(), *args, "ui"])
    env = f"CAFLEET_DATABASE_URL={shlex.quote(database_setting())} HOME={shlex.quote(os.environ['HOME'])}"
    pane = tmux_server.tmux("new-window", "-P", "-F", "#{pane_id}", "-t", "main", f"env {env} {command}; sleep 30").stdout.strip()
    tmux_server.tmux("resize-window", "-t", pane, "-x", "100", "-y", "30")
    return pane


def test_ui_in_a_real_terminal(db, tmux_server, db_path):
    from cafleet.store.models import Task

    story = build_story()
    pane = start_ui(tmux_server)

    shown = wait_for_screen(tmux_server, pane, "parser refactor")
    assert "Fleet" in shown and "Unread" in shown

    tmux_server.tmux("send-keys", "-t", pane, "Enter")
    shown = wait_for_screen(tmux_server, pane, "Standup in 5 minutes")
    assert "monitor ○ stopped" in shown and "alice" in shown

    # The TUI marks its pane so no inline preview is ever typed into it.
    marked = tmux_server.tmux("show-options", "-p", "-t", pane, "-v", "@cafleet_tui").stdout.strip()
    assert marked == "1"

    tmux_server.tmux("send-keys", "-t", pane, "-l", "@alice typed in a real terminal")
    tmux_server.tmux("send-keys", "-t", pane, "Enter")
    # The composer shows the text before Enter sends it.
    sent = wait_for(lambda: Task.get_or_none(Task.text == "typed in a real terminal"), 10, "the typed message")
    wait_for_screen(tmux_server, pane, "Administrator → alice")
    assert (sent.sender_id, sent.recipient_id) == (story.administrator_id, story.alice_id)

    tmux_server.tmux("send-keys", "-t", pane, "C-q")
    wait_for(lambda: "parser refactor" not in screen(tmux_server, pane), 10, "the TUI to quit")

    def unmarked():
        return tmux_server.tmux("show-options", "-p", "-t", pane, "-v", "@cafleet_tui").stdout.strip() == ""

    wait_for(unmarked, 10, "the TUI to unmark its pane")


def test_keys_typed_in_one_burst_after_a_focus_change_all_arrive(db, tmux_server, db_path):
    """A terminal delivers Ctrl+T, Ctrl+N and the text in one read: the text must still land
    in the composer, every character of it."""
    build_story()
    pane = start_ui(tmux_server, "--fleet-id", "1")
    wait_for_screen(tmux_server, pane, "Standup in 5 minutes")
    for hop in ("C-t", "C-o", "C-r"):
        # One send-keys call: the keys reach the app in a single write.
        tmux_server.tmux("send-keys", "-t", pane, hop, "C-n", *"zq7", "x")
        wait_for_screen(tmux_server, pane, "zq7x")
        tmux_server.tmux("send-keys", "-t", pane, *["BSpace"] * 4)
        wait_for(lambda: "zq7x" not in screen(tmux_server, pane), 15, "the composer to be empty again")
    tmux_server.tmux("send-keys", "-t", pane, "C-q")


def test_slash_and_a_word_in_one_write_or_pasted_searches_for_the_word(db, tmux_server, db_path):
    """`/review` sent in one send-keys (one write to the terminal), then pasted (bracketed
    paste): each opens the search with "review" in it, and the composer keeps nothing."""
    build_story()
    pane = start_ui(tmux_server, "--fleet-id", "1")
    wait_for_screen(tmux_server, pane, "Standup in 5 minutes")
    wait_for_screen(tmux_server, pane, "@name message · @all message")  # the composer is up
    tmux_server.tmux("set-buffer", "-b", "cafleet-test", "/review")
    for deliver in (
        lambda: tmux_server.tmux("send-keys", "-t", pane, "-l", "/review"),
        lambda: tmux_server.tmux("paste-buffer", "-p", "-b", "cafleet-test", "-t", pane),
    ):
        deliver()
        wait_for_screen(tmux_server, pane, "1 message, best match first")
        # The search field holds the whole word (its border may be drawn a frame later).
        whole_word = lambda: re.search(r"▊ +review +▎", screen(tmux_server, pane))  # noqa: E731
        try:
            wait_for(whole_word, 15, "the search field to hold 'review'")
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}; the screen:\n{screen(tmux_server, pane)}") from None
        tmux_server.tmux("send-keys", "-t", pane, "Escape")
        # The composer shows under the search too: wait for the search to be gone.
        wait_for(lambda: "best match first" not in screen(tmux_server, pane), 15, "the search to close")
    tmux_server.tmux("send-keys", "-t", pane, "C-q")
