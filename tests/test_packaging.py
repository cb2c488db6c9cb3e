"""The built wheel carries the TUI: screens/ and styles/ end up inside the installed package."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

from tests.support import REPO


def test_wheel_installs_screens_and_styles_and_the_ui_starts(tmp_path, tmux_server):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("cafleet-*.whl")
    env_dir = tmp_path / "venv"
    # Reuse the dependencies installed for this test run (in a virtualenv or not: a .pth line
    # names this interpreter's site-packages; `system_site_packages` would name the base
    # interpreter's instead). The venv's own site-packages, with the wheel, comes first, and
    # .pth files of a directory added that way are not run, so this checkout's editable
    # install stays out: `cafleet` resolves to the wheel.
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    own_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(own_site, "test-run-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import cafleet, cafleet.screens.app as a; print(cafleet.__file__); print(a.__file__); print(cafleet.styles_dir())",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout.split()
    site = str(env_dir)
    assert all(path.startswith(site) for path in probe), probe
    assert Path(probe[2], "app.tcss").exists()

    pane = tmux_server.tmux(
        "new-window", "-P", "-F", "#{pane_id}", "-t", "main", f"cd {tmp_path} && {env_dir}/bin/cafleet ui; sleep 30"
    ).stdout.strip()
    deadline = time.monotonic() + 20
    screen = ""
    while time.monotonic() < deadline and "No fleets yet" not in screen:
        time.sleep(0.2)
        screen = tmux_server.tmux("capture-pane", "-p", "-t", pane).stdout
    assert "No fleets yet" in screen and "cafleet fleet create" in screen
    tmux_server.tmux("send-keys", "-t", pane, "C-q")
