"""A scripted stand-in for a coding agent (claude, codex, opencode) running in a tmux pane.

Tests and the demo launch it in place of a real agent, so everything cafleet does to an agent's
pane runs against a real tmux server with no agent installed. It copies the parts of the real
TUIs' input handling that cafleet depends on:

- a bracketed paste plus a separate Enter is exactly one turn, newlines included, while a
  newline typed outside a paste acts as Enter (so cafleet must paste text, never type it);
- an input starting with `!` runs in shell mode, and `/exit` quits (the pane closes);
- Escape interrupts a real agent, so every escape sequence outside a paste is logged;
- real agents drop keystrokes for a moment after launch (`--startup-delay`);
- gemini may show a paste a moment late, and an Enter pressed before it shows lands on the
  empty box and is lost (`--paste-delay SECONDS`);
- an input `ask: QUESTION | OPTION | OPTION…` shows a choice menu that a digit answers;
- an input `limit: WHAT | RESETS` (or `limit: WHAT`, no reset time shown) shows a usage-limit
  line, and its input box below it, until the next submitted input (codex, too, shows its
  limit as the last line of the refused turn until its next turn); a wait (`in 5s`) counts
  down, as claude's and opencode's do; and
- an input holding "take your time" keeps it busy for `BUSY_SECONDS` ("take your time 8s":
  eight; "take your time until PATH": until that file exists, for a test to end the turn when
  it has seen what it waits for; input typed meanwhile is queued by the terminal, as a real
  agent queues it).

    python -m cafleet.demo.standin_agent [--name NAME] [--log FILE] [--startup-delay SECONDS]
        [--paste-delay SECONDS] [ARGS...]

Events go to a JSON Lines log (`--log`, else $CAFLEET_STANDIN_LOG), flushed at once so tests
can read it while the program runs: start, ready (input accepted from now on), input, escape,
shell and exit.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import math
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import termios
import time
import tty

from cafleet.demo.standin_conversation import Conversation, SessionArgs, SessionRefused, session_args

PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"
LONE_ESCAPE_SECONDS = 0.05  # an ESC with nothing after it for this long is the Escape key
BUSY_SECONDS = 3.0
LIMIT_MARK = "(limited: "
WAIT = re.compile(r"in (\d+)s")
SLOW = re.compile(r"take your time(?: (\d+)s\b| until (\S+))?")
RELEASE_LOOK_SECONDS = 0.05
COUNTDOWN_SECONDS = 0.5


def limit_line(what: str, resets: str) -> str:
    return f"{LIMIT_MARK}{what}{f' · resets {resets}' if resets else ''})"


class Quit(Exception):
    """Leave the program: `reason` goes into the exit event, `code` is the exit status."""

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
    """Raw terminal bytes -> events: ("text", s), ("paste", s), ("enter",), ("backspace",),
    ("escape", sequence). State survives between reads, so any split of the bytes works."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._unread = bytearray()
        self.escape = b""  # the escape sequence read so far (outside a paste)
        self._paste: bytearray | None = None  # the paste read so far (inside a paste)
        self._events: list[tuple] = []

    def feed(self, data: bytes) -> list[tuple]:
        self._unread += data
        while self._unread:
            if self._paste is not None:
                self._read_paste()
                continue
            byte = bytes(self._unread[:1])
            del self._unread[:1]
            if self.escape:
                self._escape_byte(byte)
            else:
                self._plain_byte(byte)
        events, self._events = self._events, []
        return events

    def flush_escape(self) -> list[tuple]:
        """Nothing followed the ESC in time: it was the Escape key (or a cut-off sequence)."""
        self._end_escape(self.escape)
        return self.feed(b"")

    def _end_escape(self, seq: bytes) -> None:
        self.escape = b""
        if seq:
            self._events.append(("escape", seq.decode("utf-8", "replace")))

    def _read_paste(self) -> None:
        self._paste += self._unread
        self._unread.clear()
        end = self._paste.find(PASTE_END)
        if end >= 0:
            self._unread[:] = self._paste[end + len(PASTE_END) :]
            text = self._paste[:end].decode("utf-8", "replace")
            self._paste = None
            # Terminals (and tmux paste-buffer) send a pasted newline as CR; editors show LF.
            self._events.append(("paste", text.replace("\r\n", "\n").replace("\r", "\n")))

    def _escape_byte(self, byte: bytes) -> None:
        seq = self.escape + byte
        alt_key = len(seq) == 2 and byte not in (b"[", b"O")  # otherwise CSI/SS3 continues
        final = len(seq) > 2 and (0x40 <= byte[0] <= 0x7E or len(seq) >= 32)
        if seq == b"\x1b\x1b":  # Escape pressed twice: the first one stands alone
            self._end_escape(b"\x1b")
            self.escape = b"\x1b"
        elif not (alt_key or final):
            self.escape = seq
        elif seq == PASTE_START:
            self.escape, self._paste = b"", bytearray()
        else:
            self._end_escape(seq)

    def _plain_byte(self, byte: bytes) -> None:
        if byte == b"\x1b":
            self.escape = byte
        elif byte in (b"\r", b"\n"):
            self._events.append(("enter",))
        elif byte in (b"\x7f", b"\x08"):
            self._events.append(("backspace",))
        elif text := "".join(c for c in self._decoder.decode(byte) if c.isprintable()):
            self._events.append(("text", text))


def show(text: str) -> None:
    """Write to the screen; raw mode turns off the tty's LF -> CRLF, so do it here."""
    with contextlib.suppress(OSError):  # the pane may already be gone
        sys.stdout.write(text.replace("\n", "\r\n"))
        sys.stdout.flush()


class StandIn:
    """The agent itself: an input line, submitted turns, `!` shell mode and `/exit`."""

    def __init__(self, log: Log, on_submit=None, conversation: Conversation | None = None, paste_delay: float = 0.0):
        self.log, self.buffer = log, ""
        self.paste_delay = paste_delay
        self.late_pastes: list[tuple[float, str]] = []  # (when it shows, its text)
        self.on_submit = on_submit  # e.g. the demo's responder
        self.conversation = conversation  # saved turn by turn, when started as claude starts
        self.asking = False
        self.countdown: tuple[str, float] | None = None  # a shown limit's words and when its wait ends

    def handle(self, event: tuple) -> None:
        kind = event[0]
        if self.asking:
            self.answer(event)
            return
        if kind == "paste" and self.paste_delay:
            self.late_pastes.append((time.monotonic() + self.paste_delay, event[1]))
            return
        if kind in ("text", "paste"):
            self.buffer += event[1]
        elif kind == "backspace":
            self.buffer = self.buffer[:-1]
        elif kind == "escape":
            self.log.write("escape", sequence=event[1])
        elif kind == "enter" and self.buffer:
            text, self.buffer = self.buffer, ""
            self.submit(text)
        if not self.asking:
            self.redraw()

    def tick_seconds(self) -> float | None:
        """How soon `tick` wants to run (None: only input wakes the agent)."""
        waits = [COUNTDOWN_SECONDS] if self.countdown else []
        waits += [max(0.0, due - time.monotonic()) for due, _ in self.late_pastes[:1]]
        return min(waits) if waits else None

    def tick(self) -> None:
        self.show_due_pastes()
        self._count_down()

    def show_due_pastes(self) -> None:
        while self.late_pastes and self.late_pastes[0][0] <= time.monotonic():
            self.buffer += self.late_pastes.pop(0)[1]
            self.redraw()

    def _count_down(self) -> None:
        """Count a shown wait down, as claude and opencode do: the limit line, above the box,
        says `resets in 3s`, then `in 2s`, …"""
        if self.countdown is None:
            return
        what, until = self.countdown
        left = max(0, math.ceil(until - time.monotonic()))
        show("\x1b[1A\r\x1b[K" + limit_line(what, f"in {left}s") + "\n")
        self.redraw()
        if not left:
            self.countdown = None

    def submit(self, text: str) -> None:
        self.countdown = None
        self.log.write("input", text=text, time=time.time())
        if self.conversation is not None and text != "/exit":
            self.conversation.save_turn(text)
        show("\r\x1b[K» " + text.replace("\n", "⏎") + "\n")  # no longer in the box: not "> "
        if text == "/exit":
            raise Quit("/exit")
        if text.startswith("ask:"):
            self.ask(text[4:])
        elif text.startswith("limit:"):
            what, _, resets = (part.strip() for part in text[6:].partition("|"))
            wait = WAIT.fullmatch(resets)
            self.countdown = (what, time.monotonic() + int(wait[1])) if wait else None
            # The limit and the empty box under it in one write: never seen without its box.
            show(limit_line(what, resets) + "\n\r\x1b[K> ")
        elif slow := SLOW.search(text):
            show("(working…)\n")
            if slow[2]:
                while not os.path.exists(slow[2]):
                    time.sleep(RELEASE_LOOK_SECONDS)
            else:
                time.sleep(int(slow[1]) if slow[1] else BUSY_SECONDS)
            show("done\n")
        elif text.startswith("!"):
            self.run_shell(text[1:].strip())
        elif self.on_submit:
            self.on_submit(text)

    def run_shell(self, command: str) -> None:
        self.log.write("shell", command=command)
        try:
            # stdin from /dev/null: the command must not eat keystrokes meant for the agent.
            done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
            show(done.stdout + done.stderr)
        except subprocess.TimeoutExpired:
            show("(shell command timed out after 30 s)\n")

    def ask(self, spec: str) -> None:
        question, *options = [part.strip() for part in spec.split("|")]
        show(f"? {question}\n" + "".join(f"  {n}. {option}\n" for n, option in enumerate(options, 1)))
        self.asking = True

    def answer(self, event: tuple) -> None:
        """While the menu shows, a digit picks an option; anything else is ignored."""
        if event[0] == "text" and event[1][:1].isdigit():
            self.asking = False
            self.log.write("choice", choice=event[1][:1])
            show(f"(chose {event[1][:1]})\n")
            self.redraw()

    def print_above(self, text: str) -> None:
        """Output that must not look like input: the box is drawn again below it."""
        show("\r\x1b[K" + text)
        if not self.asking:
            self.redraw()

    def redraw(self, text: str | None = None) -> None:
        shown = self.buffer if text is None else text
        show("\r\x1b[K> " + shown.replace("\n", "⏎"))


@contextlib.contextmanager
def agent_terminal(fd: int):
    """Raw input and bracketed paste inside; the terminal is restored however we leave."""
    saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    if saved:
        tty.setraw(fd, termios.TCSANOW)  # TCSANOW: keep anything typed already
    show("\x1b[?2004h")
    try:
        yield
    finally:
        show("\x1b[?2004l")
        if saved:
            with contextlib.suppress(OSError, termios.error):  # the pane may be gone (SIGHUP)
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_input(fd: int, timeout: float | None) -> bytes | None:
    """The next bytes typed, None after `timeout` seconds; Quit when the terminal closes."""
    if not select.select([fd], [], [], timeout)[0]:
        return None
    with contextlib.suppress(OSError):  # EIO: the pty was closed
        if data := os.read(fd, 4096):
            return data
    raise Quit("eof")


def discard_input(fd: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        read_input(fd, left)


def serve(fd: int, agent: StandIn) -> None:
    parser = InputParser()
    agent.redraw()
    while True:
        data = read_input(fd, LONE_ESCAPE_SECONDS if parser.escape else agent.tick_seconds())
        if data is None and not parser.escape:
            agent.tick()
            continue
        for event in parser.feed(data) if data is not None else parser.flush_escape():
            agent.handle(event)
        agent.show_due_pastes()


def _conversation(args: SessionArgs | None, log: Log) -> Conversation | None:
    """The conversation claude's session options ask for; Quit with claude's own words when it
    would refuse. Its first turn is saved once the agent is up (`_save_first_turn`)."""
    if args is None:
        return None
    try:
        conversation = Conversation.open(args)
    except SessionRefused as refused:
        show(f"{refused}\n")
        raise Quit(str(refused), 1) from None
    if args.resume:
        show(f"resumed conversation {conversation.session_id}: {len(conversation.earlier)} earlier turns\n")
        log.write("resume", session_id=conversation.session_id, earlier=conversation.earlier)
    return conversation


def _save_first_turn(conversation: Conversation | None, args: SessionArgs | None) -> None:
    """As claude saves its conversation only once it has drawn and taken the prompt: an agent
    that hung starting has saved nothing."""
    if conversation is not None and args is not None and args.prompt:
        conversation.save_turn(args.prompt)


def _quit_on_signal(signum, _frame):
    raise Quit(signal.Signals(signum).name, 128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Unknown options are the real agent's (--model, --permission-mode, a prompt): only logged.
    parser = argparse.ArgumentParser(prog="cafleet.demo.standin_agent", add_help=False, allow_abbrev=False)
    parser.add_argument("--name", default="standin")
    parser.add_argument("--log")
    parser.add_argument("--startup-delay", type=float, default=0.0)
    parser.add_argument("--paste-delay", type=float, default=0.0)
    parser.add_argument("--demo", action="store_true", help="answer cafleet notices (cafleet demo)")
    opts, rest = parser.parse_known_args(argv)
    log = Log(opts.log or os.environ.get("CAFLEET_STANDIN_LOG"))
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _quit_on_signal)
    try:
        with agent_terminal(0):
            log.write(
                "start",
                argv=argv,
                pid=os.getpid(),
                env_database_url=os.environ.get("CAFLEET_DATABASE_URL"),
                env_opencode_permission=os.environ.get("OPENCODE_PERMISSION"),
                time=time.time(),
            )
            session = session_args(argv)
            conversation = _conversation(session, log)
            discard_input(0, opts.startup_delay)
            _save_first_turn(conversation, session)
            show(f"stand-in agent {opts.name} ready\nargv: {shlex.join(argv)}\n")
            log.write("ready")
            responder = None
            if opts.demo:
                from cafleet.demo.responder import Responder

                responder = Responder(opts.name, rest[-1] if rest else "", lambda text: agent.print_above(text))
            agent = StandIn(log, responder, conversation, opts.paste_delay)
            serve(0, agent)
    except Quit as quit:
        log.write("exit", reason=quit.reason)
        return quit.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
