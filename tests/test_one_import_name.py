"""The TUI has one import name, `cafleet.screens`: a second name (`screens`, the checkout's
directory) would load every module twice, as two different classes."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = [*REPO.glob("cafleet/**/*.py"), *REPO.glob("screens/*.py"), *REPO.glob("tests/**/*.py"), *REPO.glob("bench/*.py")]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_nothing_imports_the_tui_by_its_directory_name():
    offenders = {
        str(path.relative_to(REPO)): sorted(n for n in imported_modules(path) if n == "screens" or n.startswith("screens."))
        for path in SOURCES
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_an_import_by_the_directory_name(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from screens.render import body\nimport screens.app\n")
    assert imported_modules(sample) == {"screens.render", "screens.app"}


def test_starting_the_app_loads_each_screen_module_once():
    """Run in a fresh interpreter from the checkout, where `screens` is importable too."""
    probe = (
        "import sys; import cafleet.screens.app, cafleet.screens.render;"
        "print(sorted(m for m in sys.modules if m == 'screens' or m.startswith('screens.')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
