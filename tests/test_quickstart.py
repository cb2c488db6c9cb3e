"""README quickstart command 1: the example session runs end to end on the default database."""

import os
import re
import subprocess
import uuid
from pathlib import Path

from tests.support import stop_tmux_server

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "quickstart.sh"


def test_quickstart_runs_a_real_fleet_on_the_default_database(tmp_path):
    socket = f"cafleet-test-qs-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("CAFLEET_DATABASE_URL", "TMUX", "TMUX_PANE")}
    env["CAFLEET_QUICKSTART_SOCKET"] = socket
    try:
        result = subprocess.run(["bash", str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=120)
    finally:
        stop_tmux_server(socket)
    assert result.returncode == 0, result.stderr
    assert "Error" not in result.stderr
    out = result.stdout
    assert re.search(r"Broadcast task \d+ to 2 agents: planner#3 \(task \d+\), reviewer#4 \(task \d+\)\.", out)
    assert re.search(r"#\d+ from planner#3 .* reply-to=1\n  1\) split tokenizer", out)
    assert "Acked task 1." in out
    database = Path(env["XDG_DATA_HOME"]) / "cafleet" / "cafleet.store.db"
    assert database.exists()
