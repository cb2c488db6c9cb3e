"""Rules of the layers that import contracts (pyproject.toml, `lint-imports`) cannot express."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FACES = [
    *sorted((REPO / "cafleet" / "cli").glob("*.py")),
    *sorted((REPO / "screens").glob("*.py")),
    *sorted((REPO / "cafleet" / "demo").glob("*.py")),
]


def calls_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else "")
    return names


def test_faces_send_through_the_seam_that_delivers_notices():
    """A face that called the broker's send directly would record messages whose notices no
    courier ever types; cafleet.services.sending does both."""
    offenders = {str(path.relative_to(REPO)): sorted(calls_in(path) & {"send_message", "broadcast_message"}) for path in FACES}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_a_direct_call(tmp_path):
    sample = tmp_path / "face.py"
    sample.write_text("from cafleet.broker.messages import send_message\nsend_message(1, 2, 'x', 'hi')\n")
    assert "send_message" in calls_in(sample)


def test_the_layer_contracts_hold():
    """`lint-imports` (contracts in pyproject.toml) also runs here, so a plain test run catches a
    layer violation before CI's gate does."""
    import shutil
    import subprocess

    linter = shutil.which("lint-imports")
    assert linter, "import-linter is a test dependency: pip install -e '.[test]'"
    result = subprocess.run([linter, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "broken" in result.stdout and " 0 broken" in result.stdout
