"""An isolated, offline HOME for the real opencode CLI talking to the scripted loopback model.

The provider uses `@ai-sdk/openai-compatible`, which ships inside opencode's binary. At
start-up opencode also installs `@opencode-ai/plugin` from the npm registry into every config
directory (in the background, for custom tools) unless that directory already has a
`node_modules` and a `package-lock.json` listing it, so `prepare` writes those: no request
leaves the machine.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

PROVIDER = "scripted"
MODEL = "loop"


def _closed_port() -> int:
    """A loopback port nothing listens on: proxied requests fail at once instead of leaving."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config(model_url: str) -> dict:
    return {
        "$schema": "https://opencode.ai/config.json",
        "provider": {
            PROVIDER: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Scripted loopback",
                "options": {"baseURL": model_url.rstrip("/") + "/v1", "apiKey": "scripted"},
                "models": {MODEL: {"name": "Scripted loop", "tool_call": True}},
            }
        },
        "model": f"{PROVIDER}/{MODEL}",
        "small_model": f"{PROVIDER}/{MODEL}",
        "autoupdate": False,
        "share": "disabled",
    }


def _seed_plugin_install(config_dir: Path) -> None:
    """Make opencode's start-up `npm install @opencode-ai/plugin` see nothing to do."""
    (config_dir / "node_modules").mkdir(exist_ok=True)
    (config_dir / "package.json").write_text(json.dumps({"dependencies": {}}))
    lock = {"lockfileVersion": 3, "packages": {"": {"dependencies": {"@opencode-ai/plugin": "*"}}}}
    (config_dir / "package-lock.json").write_text(json.dumps(lock))


def prepare(home: Path, workdir: Path, model_url: str, extra: dict | None = None) -> dict[str, str]:
    """Write HOME's opencode config and return the environment for an offline opencode.

    `extra` is merged into the user config (e.g. `{"permission": {"bash": "ask"}}`).
    """
    config_dir = home / ".config" / "opencode"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "opencode.json").write_text(json.dumps({**config(model_url), **(extra or {})}, indent=2))
    _seed_plugin_install(config_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)  # opencode's scratch dir is $TMPDIR/opencode, shared by default
    proxy = f"http://127.0.0.1:{_closed_port()}"
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "TMPDIR": str(home / "tmp"),
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "ALL_PROXY": proxy,
        "http_proxy": proxy,
        "https_proxy": proxy,
        "all_proxy": proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
