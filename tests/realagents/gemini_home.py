"""An isolated, offline HOME for the real Gemini CLI (0.61) talking to the scripted loopback model.

`GOOGLE_GEMINI_BASE_URL` and `GEMINI_API_KEY` reach the loopback model; the auth dialog, which
no flag skips, needs `security.auth.selectedType` in `~/.gemini/settings.json`, and the
folder-trust dialog the project trusted in `~/.gemini/trustedFolders.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

API_KEY = "loopback-gemini-key"
# Nothing listens on the discard port: anything that ignores NO_PROXY fails fast and locally.
CLOSED_PROXY = "http://127.0.0.1:9"
LOOPBACK = "127.0.0.1,localhost,::1"


def prepare(home: Path, workdir: Path, model_url: str, extra: dict | None = None) -> dict[str, str]:
    """Write HOME's gemini settings and return the environment for an offline gemini.

    `extra` is merged into the settings (e.g. `{"general": {"defaultApprovalMode": "yolo"}}`)."""
    gemini = home / ".gemini"
    gemini.mkdir(parents=True, exist_ok=True)
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "ui": {"hideTips": True},
        **(extra or {}),
    }
    (gemini / "settings.json").write_text(json.dumps(settings, indent=2))
    workdir.mkdir(parents=True, exist_ok=True)
    (gemini / "trustedFolders.json").write_text(json.dumps({str(workdir.resolve()): "TRUST_FOLDER"}))
    proxies = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    return {
        "HOME": str(home),
        "TERM": "xterm-256color",
        "GEMINI_API_KEY": API_KEY,
        "GOOGLE_GEMINI_BASE_URL": model_url,
        **{name: CLOSED_PROXY for name in proxies},
        "NO_PROXY": LOOPBACK,
        "no_proxy": LOOPBACK,
    }
