"""A throw-away home for the real codex CLI (0.171): scripted loopback model, no network, no prompts."""

from __future__ import annotations

import json
from pathlib import Path

MODEL = "scripted"
KEY_VAR = "CAFLEET_TEST_MODEL_KEY"
# Nothing listens on loopback port 9 (discard): a request that escapes NO_PROXY fails at once.
CLOSED_PROXY = "http://127.0.0.1:9"
LOOPBACK = "127.0.0.1,localhost,::1"


def prepare(home: Path, workdir: Path, model_url: str, *, daemon: bool = False) -> dict[str, str]:
    """Write `home/.codex/config.toml` and return the environment that runs codex offline.

    `daemon=False` keeps codex's app server inside the TUI process. With the default shared
    daemon, each fresh CODEX_HOME gets a 400 MB copy of codex (2-4 s at start-up), and two
    `codex app-server` processes outlive the TUI; their tool shells also keep the environment
    of whichever codex started the daemon, not of the pane.
    """
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    config = f"""\
model = {json.dumps(MODEL)}
model_provider = "loopback"
check_for_update_on_startup = false

[features]
daemon_auto_start = {json.dumps(daemon)}

[analytics]
enabled = false

# Tests live under /tmp, which workspace-write leaves writable to every command; excluding it
# makes a database outside the workspace read-only to the shell tool, as in real use, so a
# missing --add-dir shows.
[sandbox_workspace_write]
exclude_slash_tmp = true
exclude_tmpdir_env_var = true

[model_providers.loopback]
name = "loopback"
base_url = {json.dumps(model_url + "/v1")}
wire_api = "responses"
env_key = {json.dumps(KEY_VAR)}

[projects.{json.dumps(str(workdir))}]
trust_level = "trusted"
"""
    (codex_home / "config.toml").write_text(config)
    proxies = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    return {
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        KEY_VAR: "sk-test-loopback",
        **{name: CLOSED_PROXY for name in proxies},
        "NO_PROXY": LOOPBACK,
        "no_proxy": LOOPBACK,
    }
