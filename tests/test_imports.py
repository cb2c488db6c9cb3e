"""Agents call the CLI constantly: the hot commands must not import Textual, libtmux or rich."""

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
sys.argv = ["cafleet"] + json.loads(sys.argv[1])
from cafleet.cli import main
try:
    main()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"textual", "libtmux", "rich"})
print(json.dumps(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["message", "poll"],
        ["message", "send", "--to", "bob", "--text", "hi"],
        ["message", "ack", "--task-id", "{task}"],
        ["agent", "list"],
    ],
)
def test_hot_commands_import_no_heavy_modules(fleet, args):
    from cafleet.broker.messages import send_message

    task = send_message(fleet.fleet_id, fleet.bob_id, "alice", "for alice")
    args = [a.format(task=task.id) for a in args]
    argv = ["--fleet-id", str(fleet.fleet_id)] + args + ["--agent-id", str(fleet.alice_id)]
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], capture_output=True, text=True, timeout=30)
    *_, heavy = result.stderr.strip().splitlines()
    assert "Error" not in result.stderr, result.stderr
    assert json.loads(heavy) == []


def test_probe_detects_a_heavy_import(fleet):
    """Guard against a probe that can never fail."""
    result = subprocess.run(
        [sys.executable, "-c", "import libtmux\n" + PROBE, json.dumps(["--version"])],
        capture_output=True, text=True, timeout=30,
    )
    assert json.loads(result.stderr.strip().splitlines()[-1]) == ["libtmux"]
