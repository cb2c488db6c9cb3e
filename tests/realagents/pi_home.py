"""An isolated, offline HOME for the real pi (pi-coding-agent 0.73.1) and the scripted loopback model.

Pi has no base-URL variable: the loopback model is a custom provider in
`~/.pi/agent/models.json` (`"api": "openai-completions"`), made the default in its
`settings.json`. `PI_OFFLINE=1` stops its start-up downloads (fd, ripgrep) and update checks.
"""

from __future__ import annotations

import json
from pathlib import Path

PROVIDER = "scripted"
MODEL = "loop"
# Nothing listens on the discard port: anything that ignores NO_PROXY fails fast and locally.
CLOSED_PROXY = "http://127.0.0.1:9"
LOOPBACK = "127.0.0.1,localhost,::1"


def prepare(home: Path, workdir: Path, model_url: str, extra: dict | None = None) -> dict[str, str]:
    """Write HOME's pi models and settings and return the environment for an offline pi.

    `extra` is merged into pi's settings."""
    agent = home / ".pi" / "agent"
    agent.mkdir(parents=True, exist_ok=True)
    provider = {
        "baseUrl": model_url.rstrip("/") + "/v1",
        "api": "openai-completions",
        "apiKey": "loopback-pi-key",
        "compat": {"supportsDeveloperRole": False, "supportsReasoningEffort": False},
        "models": [{"id": MODEL, "name": "Scripted loop", "reasoning": False, "contextWindow": 128000, "maxTokens": 8000}],
    }
    (agent / "models.json").write_text(json.dumps({"providers": {PROVIDER: provider}}, indent=2))
    settings = {"defaultProvider": PROVIDER, "defaultModel": MODEL, **(extra or {})}
    (agent / "settings.json").write_text(json.dumps(settings, indent=2))
    workdir.mkdir(parents=True, exist_ok=True)
    proxies = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    return {
        "HOME": str(home),
        "TERM": "xterm-256color",
        "PI_OFFLINE": "1",
        **{name: CLOSED_PROXY for name in proxies},
        "NO_PROXY": LOOPBACK,
        "no_proxy": LOOPBACK,
    }
