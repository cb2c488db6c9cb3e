"""Sending one notice to one notifier: a POST (webhook, ntfy), `notify-send`, or a command.

`posted` is called the moment the request has left (the body written, the program started
with the event on its stdin): from then on the notifier has it, and a courier that dies
before the answer must not send it again. Every error is worded without the notifier's
secrets."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Callable
from urllib.parse import urlsplit

from cafleet.core.notify import Notifier, NotifierKind, redact
from cafleet.services.notify_payloads import Notice, json_document, ntfy_headers, webhook_body

TIMEOUT_SECONDS = 10.0


class SendFailed(Exception):
    """The notifier did not take the notice; the message holds no secret."""


def send(notifier: Notifier, notice: Notice, posted: Callable[[], None] = lambda: None) -> str:
    """Send `notice`; what happened, in a few words. Raises SendFailed."""
    try:
        if notifier.kind is NotifierKind.WEBHOOK:
            return _post(notifier, webhook_body(notice, notifier.format), {"Content-Type": "application/json"}, notice, posted)
        if notifier.kind is NotifierKind.NTFY:
            headers = {"Content-Type": "text/plain; charset=utf-8", **ntfy_headers(notice)}
            if notifier.token:
                headers["Authorization"] = f"Bearer {notifier.token}"
            return _post(notifier, notice.body.encode() or notice.title.encode(), headers, notice, posted)
        if notifier.kind is NotifierKind.DESKTOP:
            return _desktop(notice, posted)
        return _command(notifier, notice, posted)
    except SendFailed as exc:
        raise SendFailed(redact(str(exc), notifier)) from None
    except Exception as exc:  # a socket, TLS or process error: its words may quote the URL
        raise SendFailed(redact(f"{type(exc).__name__}: {exc}", notifier)) from None


def _post(notifier: Notifier, body: bytes, headers: dict[str, str], notice: Notice, posted: Callable[[], None]) -> str:
    import http.client

    parts = urlsplit(notifier.url)
    if parts.scheme == "https":
        import ssl

        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT_SECONDS)
    from cafleet import __version__

    headers = {"User-Agent": f"cafleet/{__version__}", **headers}
    # Receivers that may see a retry after a lost answer can drop what they already have.
    headers["X-Cafleet-Events"] = ",".join(str(e.event_id) for e in notice.events)
    if parts.username is not None:
        credentials = f"{parts.username}:{parts.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        posted()
        response = connection.getresponse()
        response.read(65536)
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return f"HTTP {response.status}"
    raise SendFailed(f"HTTP {response.status} {response.reason}".strip())


def _desktop(notice: Notice, posted: Callable[[], None]) -> str:
    program = shutil.which("notify-send")
    if program is None:
        raise SendFailed("notify-send is not installed on this machine (Debian, Ubuntu: apt install libnotify-bin)")
    argv = [program, "--app-name=cafleet", f"--urgency={'critical' if notice.urgent else 'normal'}", notice.title, notice.body]
    return _run(argv, None, posted, "notify-send")


def _command(notifier: Notifier, notice: Notice, posted: Callable[[], None]) -> str:
    stdin = json.dumps(json_document(notice), ensure_ascii=False).encode() + b"\n"
    return _run(list(notifier.command), stdin, posted, notifier.command[0])


def _run(argv: list[str], stdin: bytes | None, posted: Callable[[], None], name: str) -> str:
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a courier's SIGTERM is not the notifier's
        )
    except OSError as exc:
        raise SendFailed(f"cannot run {name}: {exc.strerror}") from None
    try:
        if stdin is not None and process.stdin is not None:
            try:
                process.stdin.write(stdin)
                process.stdin.close()
            except BrokenPipeError:
                pass  # it exited without reading: its status says what happened
            process.stdin = None  # done with: communicate() must not touch it again
        posted()
        _, err = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise SendFailed(f"{name} did not finish within {TIMEOUT_SECONDS:g} s") from None
    if process.returncode != 0:
        said = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
        raise SendFailed(f"{name} exited with status {process.returncode}" + (f": {said[0][:200]}" if said else ""))
    return f"{name} exited 0"
