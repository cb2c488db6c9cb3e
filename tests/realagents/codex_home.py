"""A throw-away home for the real codex CLI: scripted loopback model, no network, no prompts."""

from __future__ import annotations

import json
from pathlib import Path

MODEL = "scripted"
KEY_VAR = "CAFLEET_TEST_MODEL_KEY"
# Nothing listens on port 9 (discard) on loopback: any request that escapes NO_PROXY fails fast.
CLOSED_PROXY = "http://127.0.0.1:9"


def prepare(home: Path, workdir: Path, model_url: str) -> dict[str, str]:
    """Write `home/.codex/config.toml` and return the environment to run codex offline."""
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    config = f"""\
model = {json.dumps(MODEL)}
model_provider = "loopback"
check_for_update_on_startup = false

[model_providers.loopback]
name = "loopback"
base_url = {json.dumps(model_url + "/v1")}
wire_api = "responses"
env_key = {json.dumps(KEY_VAR)}

[projects.{json.dumps(str(workdir))}]
trust_level = "trusted"
"""
    (codex_home / "config.toml").write_text(config)
    return {
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        KEY_VAR: "sk-test-loopback",
        "HTTP_PROXY": CLOSED_PROXY,
        "HTTPS_PROXY": CLOSED_PROXY,
        "ALL_PROXY": CLOSED_PROXY,
        "http_proxy": CLOSED_PROXY,
        "https_proxy": CLOSED_PROXY,
        "all_proxy": CLOSED_PROXY,
        "NO_PROXY": "127.0.0.1,localhost,::1",
        "no_proxy": "127.0.0.1,localhost,::1",
    }
