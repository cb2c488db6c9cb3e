"""Render docs/run-a-team.png: the TUI timeline of the team in docs/run-a-team.md.

The fleet is built in a temporary database through the broker (the members' panes are
recorded but not running), with the messages the walkthrough produces, then the TUI renders
it headless and `rsvg-convert` turns Textual's SVG export into a PNG.

    python docs/gen_team_screenshot.py
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent

STEPS = (  # (sender, recipient, text); "director" is the Director, "Administrator" the human
    ("Administrator", "director", "Plan and build: split the tokenizer out of parser.py. Use three members."),
    ("director", "Administrator", "Plan: docs/design/parser-split.md (3 work items). Reviews are in. OK to build?"),
    ("Administrator", "director", "Approved. Go ahead."),
    (
        "director",
        "coder",
        "Items 1-2: move the tokenizer to tokenizer.py; keep parser.py importing it. Reply DONE: with the diff stat.",
    ),
    ("director", "tester", "Item 3: tests for tokenizer.py in tests/test_tokenizer.py. Reply DONE: with the results."),
    ("director", "reviewer", "Review each DONE: against the design; reply with findings."),
    ("coder", "director", "DONE: tokenizer.py +212, parser.py -198. Full suite green."),
    ("tester", "director", "DONE: 41 tests in tests/test_tokenizer.py, all passing."),
    ("reviewer", "director", "DONE: no findings; one nit fixed by coder."),
    ("director", "Administrator", "Built: tokenizer split, 41 new tests, suite green. Report: report.md."),
)


def build() -> int:
    from cafleet.broker.fleets import create_fleet
    from cafleet.broker.members import attach_pane, register_member
    from cafleet.broker.messages import ack_message, send_message
    from cafleet.core.records import PaneLocation
    from cafleet.store.db import open_database

    open_database()
    created = create_fleet(PaneLocation("/tmp/tmux-1000/default", 1, "work", "@1", "%0"), label="parser split")
    fleet = created.fleet.id
    ids = {"director": created.director.id, "Administrator": created.administrator.id}
    for n, (name, what) in enumerate(
        (("coder", "Implements items 1-2"), ("tester", "Implements item 3"), ("reviewer", "Reviews each change")), 1
    ):
        member = register_member(fleet, created.director.id, name, what, "claude")
        attach_pane(member.id, f"%{n}")
        ids[name] = member.id
    for sender, recipient, text in STEPS:
        task = send_message(fleet, ids[sender], str(ids[recipient]), text)
        if recipient != "Administrator":
            ack_message(fleet, ids[recipient], task.id)
    sys.path.insert(0, str(REPO))
    from tests.tui_support import freeze_times

    freeze_times()
    return fleet


async def render(fleet: int, svg: Path) -> None:
    from cafleet.screens.app import build_app
    from tests.tui_support import settle

    app = build_app(fleet, watch_changes=False)
    app.animation_level = "none"
    async with app.run_test(size=(120, 34)) as pilot:
        await settle(pilot)
        await pilot.pause(0.5)
        svg.write_text(app.export_screenshot(title="cafleet: a team of three"))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(CAFLEET_DATABASE_URL=f"sqlite:///{tmp}/team.db", HOME=tmp, XDG_DATA_HOME=tmp)
        os.environ.pop("TMUX", None)
        os.environ.pop("TMUX_PANE", None)
        fleet = build()
        svg = Path(tmp) / "team.svg"
        asyncio.run(render(fleet, svg))
        subprocess.run(["rsvg-convert", "-o", str(DOCS / "run-a-team.png"), str(svg)], check=True)
    print(f"Wrote {DOCS / 'run-a-team.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
