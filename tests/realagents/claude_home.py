"""An isolated HOME in which the real Claude Code CLI starts offline with zero interaction.

`prepare` seeds `~/.claude.json` so claude skips every first-run screen (theme, login, API key
approval, folder trust) and returns the environment to run it against the loopback model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

VERSION = "2.1.332"  # the claude-code release these seeds were taken from
# Any well-formed-looking key: the loopback model never checks it. Claude remembers an
# approved key by its last 20 characters.
API_KEY = "sk-ant-api03-cafleet-loopback-model-key-0000000000"
# Nothing listens on the discard port: anything that ignores NO_PROXY fails fast and locally.
CLOSED_PROXY = "http://127.0.0.1:9"


def prepare(home: Path, workdir: Path, model_url: str) -> dict[str, str]:
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    state = {
        "hasCompletedOnboarding": True,
        "lastOnboardingVersion": VERSION,
        "lastReleaseNotesSeen": VERSION,
        "hasSeenAutoDefaultNotice": True,  # else a first-run notice about auto mode heads the screen
        "theme": "dark",
        "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
        "projects": {
            str(workdir.resolve()): {
                "hasTrustDialogAccepted": True,
                "hasCompletedProjectOnboarding": True,
                "allowedTools": [],
            }
        },
    }
    (home / ".claude.json").write_text(json.dumps(state, indent=2))
    proxies = {
        "HTTP_PROXY": CLOSED_PROXY,
        "HTTPS_PROXY": CLOSED_PROXY,
        "ALL_PROXY": CLOSED_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TERM": "xterm-256color",
        "ANTHROPIC_BASE_URL": model_url,
        "ANTHROPIC_API_KEY": API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        # Without it claude clones its plugin marketplace from github.com (git over https, then ssh)
        # at every start, even with nonessential traffic disabled.
        "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
        **proxies,
        **{key.lower(): value for key, value in proxies.items()},  # curl and git read lowercase
        # Claude keeps per-session task output and sockets under $TMPDIR/claude-<uid>/.
        "TMPDIR": str(tmp),
    }
