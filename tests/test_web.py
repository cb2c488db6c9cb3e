"""`cafleet web`: the TUI in a real browser (headless Chromium), the token guard, and a clean stop."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest

from tests.support import cafleet_command

pytestmark = pytest.mark.engine_neutral  # the TUI's pages in a browser: the TUI's tests prove its data

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# textual.js keeps its xterm.js Terminal in `this.terminal` and draws on a canvas, so the text
# is not in the DOM: catch the Terminal when it is assigned and read its screen buffer.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    window.cafleetTerminal = value;
  },
});
"""
READ_SCREEN = """() => {
  const terminal = window.cafleetTerminal;
  if (!terminal) return "";
  const buffer = terminal.buffer.active, lines = [];
  for (let row = 0; row < terminal.rows; row++) {
    const line = buffer.getLine(buffer.viewportY + row);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
}"""


class Served(NamedTuple):
    process: subprocess.Popen
    url: str
    host: str
    port: int
    token: str
    banner: str
    later: list[str]  # what it printed after the banner
    reader: threading.Thread

    def request(self, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request("GET", path, headers=headers or {})
        return conn.getresponse()


@pytest.fixture
def served(fleet):
    """`cafleet web --port 0` running against the test database; stopped with Ctrl+C (SIGINT)."""
    process = subprocess.Popen(
        cafleet_command() + ["web", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    banner = _read_banner(process, lines)
    first = banner.split("\n", 1)[0]
    url = first.split()[-1]
    parts = urlsplit(url)
    yield Served(process, url, parts.hostname, parts.port, parts.path.strip("/"), banner, lines, reader)
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def _read_banner(process: subprocess.Popen, lines: list[str], timeout: float = 20.0) -> str:
    """The lines printed before serving starts (up to "Press Ctrl+C"), or a failure with stderr."""
    deadline = time.monotonic() + timeout
    while not "".join(lines).endswith("Press Ctrl+C to stop.\n"):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"`cafleet web` did not start serving; stdout: {''.join(lines)!r} stderr: {process.stderr.read()!r}")
        time.sleep(0.05)
    banner = "".join(lines)
    del lines[:]
    assert banner.startswith("Serving the cafleet TUI at http://127.0.0.1:"), banner
    return banner


def _stop(served: Served) -> tuple[int, str, str]:
    served.process.send_signal(signal.SIGINT)
    code = served.process.wait(timeout=20)
    served.reader.join(timeout=10)
    return code, "".join(served.later), served.process.stderr.read()


def _session_processes() -> list[str]:
    """Browser-session TUIs (`python -m cafleet.web.session`) running on this test's database."""
    from cafleet.core.config import database_setting

    found = subprocess.run(["pgrep", "-f", "cafleet[.]web[.]session"], capture_output=True, text=True)
    wanted = f"CAFLEET_DATABASE_URL={database_setting()}\0".encode()
    pids = []
    for pid in found.stdout.split():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                is_python = b"\0-m\0cafleet.web.session" in handle.read()  # not the shell that started it
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if is_python and wanted in handle.read():
                    pids.append(pid)
        except OSError:
            continue
    return pids


# --------------------------------------------------------------------------- the guard


def test_the_url_with_its_token_serves_the_page(served):
    response = served.request(f"/{served.token}/")
    page = response.read().decode()
    assert response.status == 200
    assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/{served.token}/ws"' in page
    assert response.getheader("Referrer-Policy") == "no-referrer"
    assert served.request(f"/{served.token}/static/js/textual.js").status == 200
    assert len(served.token) >= 32


@pytest.mark.parametrize(
    "path",
    ["/", "/ws", "/static/js/textual.js", "/{wrong}/", "/{wrong}/ws", "/{prefix}/", "/download/x", "/{token}x/"],
)
def test_without_the_token_nothing_is_served(served, path):
    wrong = "A" * len(served.token)
    path = path.format(wrong=wrong, prefix=served.token[:-1], token=served.token)
    response = served.request(path)
    body = response.read().decode()
    assert response.status == 404, path
    assert "textual" not in body.lower() and "websocket" not in body.lower()


def test_the_websocket_needs_the_token_and_the_same_origin(served):
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    assert served.request("/ws", upgrade).status == 404
    hostile = served.request(f"/{served.token}/ws", {**upgrade, "Origin": "http://evil.example"})
    assert hostile.status == 403
    assert _session_processes() == []  # refused before any TUI was started
    # A page served by DNS rebinding names its own host.
    assert served.request(f"/{served.token}/", {"Host": f"evil.example:{served.port}"}).status == 403
    # Through an SSH tunnel the browser says localhost and another port: still served.
    assert served.request(f"/{served.token}/", {"Host": "localhost:9000"}).status == 200


def test_ctrl_c_stops_it_cleanly(served):
    code, out, err = _stop(served)
    assert code == 0, err
    assert "Traceback" not in out + err
    assert out == "Stopped.\n"
    assert served.banner == (
        f"Serving the cafleet TUI at {served.url}\n"
        "Only this URL opens it (it holds a random token); listening on 127.0.0.1 only.\n"
        f"From another machine: ssh -L {served.port}:127.0.0.1:{served.port} THIS-HOST, then open the URL there.\n"
        "Press Ctrl+C to stop.\n"
    )


# --------------------------------------------------------------------------- errors


def test_a_taken_port_is_an_error(cli, served):
    result = cli("web", "--port", served.port)
    assert result.code == 1
    assert result.err.startswith(f"Error: cannot listen on 127.0.0.1:{served.port}") and "--port" in result.err


def test_without_the_web_extra_it_says_how_to_install_it(fleet):
    probe = (
        "import sys\n"
        "class Missing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('textual_serve', 'aiohttp'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Missing())\n"
        "sys.argv = ['cafleet', 'web']\n"
        "from cafleet.cli import main\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr == "Error: cafleet web needs the web extra: pip install 'cafleet[web]'\n"
    assert result.stdout == ""


def test_an_agent_pane_cannot_serve_the_fleet(cli, fleet):
    from cafleet.broker.members import attach_pane, register_member
    from tests.support import FAKE_PANE

    member = register_member(fleet.fleet_id, fleet.director_id, "coder", "codes", "claude")
    attach_pane(member.id, "%9")
    env = {"TMUX": f"{FAKE_PANE.tmux_socket},{FAKE_PANE.tmux_server_pid},0", "TMUX_PANE": "%9"}
    result = cli("web", "--port", "0", env=env, timeout=30)
    assert result.code == 1 and "serves the whole fleet as the Administrator" in result.err


# --------------------------------------------------------------------------- a real browser


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"the browser test needs Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _screen_until(page, wanted: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = page.evaluate(READ_SCREEN)
        if wanted in screen:
            return screen
        page.wait_for_timeout(100)
    raise AssertionError(f"{wanted!r} never appeared in the browser; the screen showed:\n{screen}")


class Traffic(NamedTuple):
    """Everything a page asked for (requests and websockets), what came back, and what its
    console said."""

    urls: list[str]
    statuses: dict[str, int]
    console: list[str]


def _record(page) -> Traffic:
    traffic = Traffic([], {}, [])
    page.on("request", lambda request: traffic.urls.append(request.url))
    page.on("websocket", lambda socket: traffic.urls.append(socket.url))
    page.on("response", lambda response: traffic.statuses.__setitem__(response.url, response.status))
    page.on("console", lambda message: traffic.console.append(message.text))
    return traffic


def _off_host(urls: list[str], port: int) -> list[str]:
    """The URLs that would leave this server (data: and blob: never leave the browser)."""
    local = {("http", f"127.0.0.1:{port}"), ("ws", f"127.0.0.1:{port}")}
    return [
        url
        for url in urls
        if urlsplit(url).scheme not in ("data", "blob") and (urlsplit(url).scheme, urlsplit(url).netloc) not in local
    ]


def test_off_host_detects_a_request_elsewhere():
    """Guard against a check that can never fail."""
    urls = [
        "http://127.0.0.1:80/t/",
        "ws://127.0.0.1:80/t/ws",
        "data:font/ttf;base64,AA",
        "https://fonts.example/css",
        "http://127.0.0.1:81/",
    ]
    assert _off_host(urls, 80) == ["https://fonts.example/css", "http://127.0.0.1:81/"]


def test_the_page_names_no_other_host(served):
    page = served.request(f"/{served.token}/").read().decode()
    assert "googleapis" not in page and "//fonts." not in page
    assert f'src: url("/{served.token}/static/fonts/RobotoMono-VariableFont_wght.ttf")' in page
    font = served.request(f"/{served.token}/static/fonts/RobotoMono-VariableFont_wght.ttf")
    assert (font.status, font.read()[:4]) == (200, b"\x00\x01\x00\x00")  # a TrueType font, from here


def test_a_browser_drives_the_fleet(served, browser, cli, fleet):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    traffic = _record(page)
    page.add_init_script(CATCH_TERMINAL)
    page.goto(served.url, wait_until="domcontentloaded")
    picker = _screen_until(page, "Fleet  Label")
    assert f"{fleet.fleet_id}      test" in picker

    page.locator(".xterm-helper-textarea").focus()
    page.keyboard.press("Enter")  # open the highlighted (only) fleet
    _screen_until(page, "Timeline")

    sent = cli(
        "--fleet-id",
        fleet.fleet_id,
        "message",
        "send",
        "--agent-id",
        fleet.alice_id,
        "--to",
        "Administrator",
        "--text",
        "hello from the CLI",
    )
    assert sent.code == 0, sent
    screen = _screen_until(page, "hello from the CLI")
    assert "alice → Administrator" in screen

    # The Administrator's composer works from the browser too.
    page.keyboard.type("@alice thanks, seen")
    page.keyboard.press("Enter")
    _screen_until(page, "thanks, seen")
    poll = cli("--fleet-id", fleet.fleet_id, "message", "poll", "--agent-id", fleet.alice_id)
    assert "thanks, seen" in poll.out and "from Administrator" in poll.out
    assert len(_session_processes()) == 1

    # Everything the page loaded came from this server: its fonts too, and nothing was refused.
    assert _off_host(traffic.urls, served.port) == []
    fonts = [url for url in traffic.urls if "/static/fonts/RobotoMono" in url]
    assert fonts and all(traffic.statuses.get(url) == 200 for url in fonts), traffic
    assert not [line for line in traffic.console if "Content Security Policy" in line]

    code, out, err = _stop(served)
    assert code == 0 and "Traceback" not in out + err, out + err
    deadline = time.monotonic() + 10
    while _session_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _session_processes() == [], "the browser session's TUI outlived the server"


def test_a_browser_without_the_token_gets_nothing(served, browser):
    page = browser.new_page()
    page.add_init_script(CATCH_TERMINAL)
    base = f"http://127.0.0.1:{served.port}/"
    response = page.goto(base, wait_until="domcontentloaded")
    assert response.status == 404
    page.wait_for_timeout(1000)
    assert page.evaluate("window.cafleetTerminal === undefined")
    assert "token" in page.content()
    assert _session_processes() == []
