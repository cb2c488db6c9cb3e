"""A local HTTP server standing in for a webhook or an ntfy server: it records every POST and
answers as a test tells it (a 500 first, or holding its answer until released)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple


class Received(NamedTuple):
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # when it arrived (time.time())

    def json(self):
        return json.loads(self.body)


class Receiver:
    def __init__(self):
        self.requests: list[Received] = []
        self.statuses: list[int] = []  # answered in turn, then 200
        self.hold = threading.Event()  # cleared: answers wait until it is set
        self.hold.set()
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body, time.time()))
                receiver.arrived.set()
                receiver.hold.wait(60)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender is gone (a killed courier)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


def files_holding(root: Path, secrets: list[str], skip: set[Path]) -> list[str]:
    """Every file under `root` (but `skip`) that holds one of `secrets`, as bytes anywhere."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or path in skip or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        found += [f"{path}: {secret}" for secret in secrets if secret.encode() in data]
    return found
