"""An isolated, offline HOME for the real Qwen Code (0.24.4) talking to the scripted loopback model.

Qwen speaks OpenAI chat completions to `OPENAI_BASE_URL` with `OPENAI_API_KEY` and
`OPENAI_MODEL`; `security.auth.selectedType: openai` in `~/.qwen/settings.json` skips its
"Connect a Provider" dialog, and the update check is off there too.
"""

from __future__ import annotations

import json
from pathlib import Path

MODEL = "scripted-loop"
API_KEY = "loopback-qwen-key"
# Nothing listens on the discard port: anything that ignores NO_PROXY fails fast and locally.
CLOSED_PROXY = "http://127.0.0.1:9"
LOOPBACK = "127.0.0.1,localhost,::1"


def prepare(home: Path, workdir: Path, model_url: str, extra: dict | None = None) -> dict[str, str]:
    """Write HOME's qwen settings and return the environment for an offline qwen.

    `extra` is merged into the settings (e.g. `{"permissions": {"ask": ["Bash"]}}`)."""
    qwen = home / ".qwen"
    qwen.mkdir(parents=True, exist_ok=True)
    settings = {
        "security": {"auth": {"selectedType": "openai"}},
        "general": {"enableAutoUpdate": False, "disableAutoUpdate": True, "disableUpdateNag": True},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        **(extra or {}),
    }
    (qwen / "settings.json").write_text(json.dumps(settings, indent=2))
    workdir.mkdir(parents=True, exist_ok=True)
    proxies = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    return {
        "HOME": str(home),
        "TERM": "xterm-256color",
        "OPENAI_BASE_URL": model_url.rstrip("/") + "/v1",
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_MODEL": MODEL,
        **{name: CLOSED_PROXY for name in proxies},
        "NO_PROXY": LOOPBACK,
        "no_proxy": LOOPBACK,
    }
