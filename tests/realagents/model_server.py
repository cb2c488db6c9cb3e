"""The scripted loopback model server: 127.0.0.1 only, one thread per request.

Protocol modules register a handler per path; each handler gets the parsed JSON body and
returns a `Reply`. Every request that reached a handler is kept in `requests` (and appended
to `log_path` when given) so tests can count turns, and each carries its conversation's key
and every user text the agent sent in it, so a test can prove that a resumed agent's next
request still carries its earlier turns (`remembers`). `fail` makes the model answer with
an error in each API's own shape (`tests.realagents.faults`) until `heal` (a usage limit with
a reset time lifts at that time by itself).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

from tests.realagents.faults import Fault, FaultKind
from tests.realagents.script import Conversation, Turn, Usage, usage_of


class Reply(NamedTuple):
    status: int
    content_type: str
    body: bytes | Iterable[bytes]  # an iterable is streamed chunk by chunk (SSE)
    headers: tuple[tuple[str, str], ...] = ()  # beside Content-Type (e.g. Retry-After)


class Record(NamedTuple):
    """One request as the script saw it."""

    path: str
    protocol: str
    last_text: str
    after_tool_result: bool
    tools: tuple[str, ...]
    text: str | None
    command: str | None
    tool_output: str = ""  # the tool result this request carried (a denial shows here)
    # The agent's own id for the conversation (a session header) or, when it sends none, its
    # first user text: the same key before and after the agent is resumed.
    conversation: str = ""
    texts: tuple[str, ...] = ()  # every user text of the request, oldest first
    fault: str | None = None  # the error the model answered instead of a turn
    usage: tuple[int, int, int] | None = None  # the `Usage` the answer reported (none with a fault)

    @classmethod
    def of(
        cls,
        path: str,
        protocol: str,
        conv: Conversation,
        turn: Turn,
        conversation: str,
        fault: Fault | None,
        usage: tuple[int, int, int] | None,
    ) -> Record:
        """What the script read from a request (`conv`) and answered (`turn`, or `fault`)."""
        return cls(
            path=path,
            protocol=protocol,
            last_text=conv.last_text,
            after_tool_result=conv.after_tool_result,
            tools=tuple(sorted(conv.tool_names)),
            text=turn.text,
            command=turn.command,
            tool_output=conv.tool_output,
            conversation=conversation,
            texts=conv.texts,
            fault=fault.kind if fault else None,
            usage=usage,
        )

    def is_agent_turn(self, shell_tool: str) -> bool:
        return shell_tool in self.tools

    def carries(self, text: str) -> bool:
        """Whether one of the request's user texts contains `text`."""
        return any(text in t for t in self.texts)


Handler = Callable[[dict, dict, "ModelServer"], Reply]
# The request's path, among the headers a handler gets (a wildcard route serves many paths).
PATH_HEADER = ":path"
_NAMED = re.compile(r"^(?P<prefix>/.+/)[^/:]+(?P<method>:[A-Za-z]+)$")


def route(routes: dict[str, Handler], path: str) -> Handler | None:
    """The handler for `path`: its own route, or one that names its last segment `*` before a
    method (`/v1beta/models/*:generateContent` serves every model)."""
    if path in routes:
        return routes[path]
    named = _NAMED.match(path)
    return routes.get(f"{named['prefix']}*{named['method']}") if named else None


class ModelServer:
    """`with ModelServer(routes) as server:` serves on `server.url` until the block ends."""

    def __init__(self, routes: dict[str, Handler], log_path: Path | None = None):
        self.routes = routes
        self.log_path = log_path
        self.requests: list[Record] = []
        self._lock = threading.Lock()
        self._fault: Fault | None = None
        self._fault_times: int | None = None  # answers left with the fault; None = until healed
        self._answers = 0  # answers given so far: the next one's `usage_of` serial
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._httpd.daemon_threads = True
        # A short poll: leaving the `with` block waits at most this long for the server to stop.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def record(self, record: Record) -> None:
        with self._lock:
            self.requests.append(record)
            if self.log_path is not None:
                with self.log_path.open("a") as log:
                    log.write(json.dumps(record._asdict()) + "\n")

    def next_usage(self) -> Usage:
        """The token counts the next answer reports (protocol handlers call it once per answer)."""
        with self._lock:
            self._answers += 1
            return usage_of(self._answers)

    def fail(self, fault: Fault, times: int | None = None) -> None:
        """Answer the next `times` model requests (every one until `heal` when None) with `fault`."""
        with self._lock:
            self._fault, self._fault_times = fault, times

    def heal(self) -> None:
        with self._lock:
            self._fault, self._fault_times = None, None

    def take_fault(self) -> Fault | None:
        """The fault this request must get, if any (protocol handlers call it once per request).
        A usage limit given a reset time lifts by itself then, as a provider's does."""
        with self._lock:
            fault = self._fault
            if fault is not None and fault.kind == FaultKind.USAGE_LIMIT and fault.resets_at is not None:
                if time.time() >= fault.resets_at:
                    self._fault, self._fault_times = None, None
                    return None
            if fault is not None and self._fault_times is not None:
                self._fault_times -= 1
                if self._fault_times <= 0:
                    self._fault, self._fault_times = None, None
            return fault

    def conversation(self, key: str) -> list[Record]:
        """Every request of one conversation, in order."""
        with self._lock:
            return [r for r in self.requests if r.conversation == key]

    def remembers(self, earlier: str, later: str) -> list[Record]:
        """The requests whose latest input contains `later` and that still carry `earlier` as an
        earlier user text: the proof that a conversation kept its first turn."""
        with self._lock:
            return [r for r in self.requests if later in r.last_text and any(earlier in t and later not in t for t in r.texts)]

    def __enter__(self) -> ModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler_class(server: ModelServer):
    class RequestHandler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            # Model listings and health checks: an empty but well-formed answer.
            self._send(Reply(200, "application/json", json.dumps({"object": "list", "data": [], "models": []}).encode()))

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.end_headers()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            handler = route(server.routes, path)
            if handler is None:
                self._send(Reply(404, "application/json", json.dumps({"error": {"message": f"no route {path}"}}).encode()))
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(Reply(400, "application/json", b'{"error":{"message":"bad json"}}'))
                return
            self._send(handler(body, {**dict(self.headers), PATH_HEADER: path}, server))

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers:
                self.send_header(name, value)
            if isinstance(reply.body, bytes):
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                return
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for chunk in reply.body:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the agent dropped the stream (interrupted or steered turn): nothing to answer

    return RequestHandler


def sse(events: Iterable[tuple[str | None, dict | str]]) -> Iterable[bytes]:
    """Server-sent events: (event name or None, data) pairs."""
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        head = f"event: {name}\n" if name else ""
        yield f"{head}data: {payload}\n\n".encode()
