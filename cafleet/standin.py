"""A scripted stand-in for a coding agent (claude, codex, opencode) running in a tmux pane.

Tests (and the demo) launch it in place of a real agent, so everything cafleet does to an
agent's pane runs against a real tmux server with no agent installed. It copies the parts of
the real TUIs' input handling that cafleet depends on:

- a bracketed paste followed by a separate Enter is exactly one turn, newlines included,
  while a newline typed outside a paste acts as Enter (so cafleet must paste, not type);
- an input starting with `!` runs in shell mode, and `/exit` quits (the pane closes);
- Escape interrupts a real agent, so every escape sequence outside a paste is logged and
  tests can assert that none ever arrives;
- real agents drop keystrokes for a moment after launch (`--startup-delay`).

Every event is appended to a JSON Lines log (`--log`, else $CAFLEET_STANDIN_LOG) and flushed
at once, so a test can read it while the program runs:

    python -m cafleet.standin [--name NAME] [--log FILE] [--startup-delay SECONDS] [ARGS...]
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import termios
import time
import tty

PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"
LONE_ESCAPE_SECONDS = 0.05  # an ESC with nothing after it for this long is the Escape key


class Quit(Exception):
    def __init__(self, reason: str, code: int = 0):
        super().__init__(reason)
        self.reason, self.code = reason, code


class Log:
    """The JSON Lines event log; writes nowhere without a path."""

    def __init__(self, path: str | None):
        self._file = open(path, "a", encoding="utf-8") if path else None

    def write(self, event: str, **fields) -> None:
        if self._file:
            self._file.write(json.dumps({"event": event, **fields}) + "\n")
            self._file.flush()


class InputParser:
    """Turns raw terminal bytes into events: ("text", s), ("paste", s), ("enter",),
    ("backspace",) and ("escape", sequence). Keeps its state between reads."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._unread = bytearray()
        self._escape = b""  # the escape sequence read so far, outside a paste
        self._paste: bytearray | None = None  # the paste read so far, inside a paste
        self._events: list[tuple] = []

    @property
    def pending_escape(self) -> bool:
        return bool(self._escape)

    def feed(self, data: bytes) -> list[tuple]:
        self._unread += data
        while self._unread:
            if self._paste is not None:
                self._read_paste()
                continue
            byte = bytes(self._unread[:1])
            del self._unread[:1]
            if self._escape:
                self._escape_byte(byte)
            else:
                self._plain_byte(byte)
        return self._take()

    def flush_escape(self) -> list[tuple]:
        """Nothing followed the ESC in time: it was the Escape key (or a cut-off sequence)."""
        if self._escape:
            self._events.append(("escape", self._escape.decode("utf-8", "replace")))
            self._escape = b""
        return self._take()

    def _take(self) -> list[tuple]:
        events, self._events = self._events, []
        return events

    def _read_paste(self) -> None:
        self._paste += self._unread
        self._unread.clear()
        end = self._paste.find(PASTE_END)
        if end >= 0:
            self._unread[:] = self._paste[end + len(PASTE_END):]
            text = self._paste[:end].decode("utf-8", "replace")
            self._paste = None
            # Terminals (and tmux paste-buffer) send a pasted newline as CR; editors show LF.
            self._events.append(("paste", text.replace("\r\n", "\n").replace("\r", "\n")))

    def _escape_byte(self, byte: bytes) -> None:
        seq = self._escape + byte
        if seq == b"\x1b\x1b":  # Escape pressed twice: the first was a lone Escape
            self.flush_escape()
            self._escape = b"\x1b"
            return
        is_alt_key = len(seq) == 2 and byte not in (b"[", b"O")
        is_final = len(seq) > 2 and (0x40 <= byte[0] <= 0x7E or len(seq) >= 32)
        if not (is_alt_key or is_final):
            self._escape = seq
            return
        self._escape = b""
        if seq == PASTE_START:
            self._paste = bytearray()
        else:
            self._events.append(("escape", seq.decode("utf-8", "replace")))

    def _plain_byte(self, byte: bytes) -> None:
        if byte == b"\x1b":
            self._escape = byte
        elif byte in (b"\r", b"\n"):
            self._events.append(("enter",))
        elif byte in (b"\x7f", b"\x08"):
            self._events.append(("backspace",))
        else:
            text = "".join(c for c in self._decoder.decode(byte) if c.isprintable())
            if text:
                self._events.append(("text", text))


def show(text: str) -> None:
    """Write to the screen; raw mode turns off the tty's LF -> CRLF, so do it here."""
    with contextlib.suppress(OSError):
        sys.stdout.write(text.replace("\n", "\r\n"))
        sys.stdout.flush()


def visible(text: str) -> str:
    return text.replace("\n", "⏎")


class StandIn:
    """The agent itself: an input line, submitted turns, `!` shell mode and `/exit`."""

    def __init__(self, log: Log):
        self.log = log
        self.buffer = ""

    def handle(self, event: tuple) -> None:
        kind = event[0]
        if kind in ("text", "paste"):
            self.buffer += event[1]
        elif kind == "backspace":
            self.buffer = self.buffer[:-1]
        elif kind == "escape":
            self.log.write("escape", sequence=event[1])
        elif kind == "enter" and self.buffer:
            text, self.buffer = self.buffer, ""
            self.submit(text)
        self.redraw()

    def submit(self, text: str) -> None:
        self.log.write("input", text=text)
        show(f"\r\x1b[K> {visible(text)}\n")
        if text == "/exit":
            raise Quit("/exit")
        if text.startswith("!"):
            self.run_shell(text[1:].strip())

    def run_shell(self, command: str) -> None:
        self.log.write("shell", command=command)
        try:
            # stdin from /dev/null: the command must not read keystrokes meant for the agent.
            done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30,
                                  stdin=subprocess.DEVNULL)
            show(done.stdout + done.stderr)
        except subprocess.TimeoutExpired:
            show("(shell command timed out after 30 s)\n")

    def redraw(self) -> None:
        show(f"\r\x1b[K> {visible(self.buffer)}")


@contextlib.contextmanager
def agent_terminal(fd: int):
    """Raw input and bracketed paste while inside; the terminal is restored on any exit."""
    saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    if saved:
        tty.setraw(fd, termios.TCSANOW)  # TCSANOW: keep anything already typed
    show("\x1b[?2004h")
    try:
        yield
    finally:
        show("\x1b[?2004l")
        if saved:
            with contextlib.suppress(OSError, termios.error):  # the pane may be gone (SIGHUP)
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_input(fd: int) -> bytes:
    try:
        data = os.read(fd, 4096)
    except OSError:  # EIO: the pty was closed
        data = b""
    if not data:
        raise Quit("eof")
    return data


def discard_input(fd: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if select.select([fd], [], [], left)[0]:
            read_input(fd)


def serve(fd: int, agent: StandIn) -> None:
    parser = InputParser()
    agent.redraw()
    while True:
        timeout = LONE_ESCAPE_SECONDS if parser.pending_escape else None
        if select.select([fd], [], [], timeout)[0]:
            events = parser.feed(read_input(fd))
        else:
            events = parser.flush_escape()
        for event in events:
            agent.handle(event)


def _quit_on_signal(signum, _frame):
    raise Quit(signal.Signals(signum).name, 128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Unknown options are the real agent's (--model, --permission-mode, a prompt): kept as-is.
    parser = argparse.ArgumentParser(prog="cafleet.standin", add_help=False, allow_abbrev=False)
    parser.add_argument("--name", default="standin")
    parser.add_argument("--log")
    parser.add_argument("--startup-delay", type=float, default=0.0)
    opts, _ = parser.parse_known_args(argv)
    log = Log(opts.log or os.environ.get("CAFLEET_STANDIN_LOG"))
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _quit_on_signal)
    try:
        with agent_terminal(0):
            log.write("start", argv=argv, pid=os.getpid(),
                      env_database_url=os.environ.get("CAFLEET_DATABASE_URL"), time=time.time())
            discard_input(0, opts.startup_delay)
            show(f"stand-in agent {opts.name} ready\nargv: {shlex.join(argv)}\n")
            log.write("ready")
            serve(0, StandIn(log))
    except Quit as quit:
        log.write("exit", reason=quit.reason)
        return quit.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
