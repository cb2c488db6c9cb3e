"""The TUI in a browser: textual-serve, on 127.0.0.1 only, every route behind a random token.

The page has no login, and whoever opens it drives the fleet as the Administrator. So every
path (the page, its scripts and the websocket that runs the TUI) starts with a secret token
that only the URL printed at start holds: another local user, or a web page in the user's
browser, cannot guess it. Requests whose Host is not a loopback name are refused (a DNS
rebinding page would send its own), and so is a websocket opened from another origin.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
import socket
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.server import Server

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
# Open websockets are closed at once on Ctrl+C; this bounds the wait for anything else.
SHUTDOWN_SECONDS = 3
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",  # the token is in the path: never send it anywhere
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


# A stylesheet from anywhere but this server (textual-serve's page links one from a font host).
REMOTE_STYLESHEET = re.compile(r"<link\b[^>]*\bhref=[\"'](?:https?:)?//[^>]*>\s*", re.IGNORECASE)
# The browser itself refuses anything from elsewhere: the page, its script, its fonts and the
# websocket all come from this server (textual-serve's page has inline scripts and styles).
CONTENT_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def listening_socket(port: int) -> socket.socket:
    """A socket bound to 127.0.0.1:`port` (0: a free port), so a taken port fails up front."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


class GuardedServer(Server):
    """textual-serve's Server with every route under `/<token>/` and the guard above."""

    def __init__(self, command: str, token: str, sock: socket.socket, on_ready=lambda: None, title: str = "cafleet"):
        port = sock.getsockname()[1]
        super().__init__(command, host="127.0.0.1", port=port, title=title)
        self.on_ready = on_ready
        self.token = token
        self.prefix = f"/{token}"
        self.sock = sock
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}/"

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get(f"{self.prefix}/", self.handle_index, name="index"),
                web.get(f"{self.prefix}/ws", self.handle_websocket, name="websocket"),
                web.static(f"{self.prefix}/static", self.statics_path, name="static"),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self._close_sockets)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler):
        first = request.path.split("/", 2)[1]
        if not secrets.compare_digest(first.encode(), self.token.encode()):
            raise web.HTTPNotFound(text="Not found. Open the URL that `cafleet web` printed (it holds a token).")
        if _hostname(request.host) not in LOOPBACK_NAMES:
            raise web.HTTPForbidden(text="Open the page as 127.0.0.1 or localhost (through an SSH tunnel if remote).")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text="Cross-origin requests are refused.")
        response = await handler(request)
        if not isinstance(response, web.WebSocketResponse):
            response.headers.update(SECURITY_HEADERS)
        return response

    async def handle_index(self, request: web.Request) -> web.Response:
        # Built from the Host the browser used, so a tunnel to another local port still works.
        static = f"{self.prefix}/static/"
        context = {
            "font_size": 16,
            "app_websocket_url": f"ws://{request.host}{self.prefix}/ws",
            "config": {"static": {"url": static}},
            "application": {"name": self.title},
        }
        page = aiohttp_jinja2.render_string("app_index.html", request, context)
        response = web.Response(text=offline_page(page, static), content_type="text/html")
        response.headers["Content-Security-Policy"] = CONTENT_POLICY
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        task = asyncio.current_task()
        assert task is not None  # aiohttp runs every handler in a task
        self._tasks.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            self._tasks.discard(task)

    async def _close_sockets(self, _app: web.Application) -> None:
        # Each browser session's handler waits on its websocket; ending them ends the TUIs.
        for task in list(self._tasks):
            task.cancel()

    async def on_startup(self, app: web.Application) -> None:
        # Ctrl+C is handled from here on, so whoever reads the banner may send it at once.
        self.on_ready()

    def serve(self, debug: bool = False) -> None:
        """Serve until Ctrl+C or SIGTERM, then end every browser session's TUI and return."""
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_exit)
        web.run_app(
            self._make_app(),
            sock=self.sock,
            handle_signals=False,
            loop=loop,
            print=None,
            access_log=None,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )


def offline_page(page: str, static: str) -> str:
    """textual-serve's page with nothing fetched from another host: its stylesheet link to a
    public font service is replaced by the Roboto Mono files textual-serve ships (Apache 2.0)
    in its own static folder, served from here like the rest."""
    page = REMOTE_STYLESHEET.sub("", page)
    faces = "".join(
        f'@font-face {{ font-family: "Roboto Mono"; font-style: {style}; font-weight: 100 700; '
        f'src: url("{static}fonts/{file}") format("truetype"); }}\n'
        for style, file in (("normal", "RobotoMono-VariableFont_wght.ttf"), ("italic", "RobotoMono-Italic-VariableFont_wght.ttf"))
    )
    return page.replace("</head>", f"<style>\n{faces}</style>\n</head>", 1)


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if ":" in host else host
