"""Merging a worktree member's branch from the TUI: what the merge would bring (its commits and
files) or why it cannot be done, a confirmation, then the same service `member merge` calls.

The TUI merges into the work tree the member's worktree was made from (the CLI: the one it
runs in). git runs in workers; a refusal changes nothing and is said in the TUI's words.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual.worker import get_current_worker

from cafleet.core.terminal import one_line
from cafleet.core.text import counted

from .diff_text import SHOWN_COMMITS, SHOWN_FILES, commit_line, file_line, name_width
from .render import GAP, home_path

if TYPE_CHECKING:
    from cafleet.services.worktree_review import Merged, MergePlan


class MergeChoice(StrEnum):
    MERGE = "merge"  # a merge commit
    SQUASH = "squash"  # one ordinary commit holding all of the branch's changes


class MergeModal(ModalScreen[MergeChoice | None]):
    """What merging a member's branch would bring and where, with Merge, Squash and Cancel;
    or, when the merge is refused, why (and Close)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("s", "squash", "Squash", show=False),
    ]

    def __init__(self, title: str, plan: MergePlan | None, refusal: str | None = None):
        super().__init__()
        self.title_text, self.plan, self.refusal = title, plan, refusal

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="merge-dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-message"):
                if self.plan is not None:
                    yield Static(merge_summary(self.plan), id="merge-summary")
                else:
                    yield Static(Text(f"✗ {self.refusal}", style="bold"), id="merge-refusal", classes="refused")
            with Horizontal(classes="dialog-actions"):
                if self.plan is not None:
                    yield Button("Merge", id="merge", variant="primary")
                    yield Button("Squash", id="squash")
                    yield Button("Cancel", id="cancel")
                else:
                    yield Button("Close", id="cancel", variant="primary")
            hint = (
                "Enter merges · s squashes into one commit · Escape cancels"
                if self.plan
                else "Nothing was changed · Escape closes"
            )
            yield Static(hint, classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#merge" if self.plan is not None else "#cancel", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss({"merge": MergeChoice.MERGE, "squash": MergeChoice.SQUASH}.get(event.button.id or ""))

    def action_squash(self) -> None:
        if self.plan is not None:
            self.dismiss(MergeChoice.SQUASH)

    def action_cancel(self) -> None:
        self.dismiss(None)


def merge_summary(plan: MergePlan) -> Text:
    """`cafleet/3/coder → main in ~/repo`, then its commits and the files the merge changes."""
    lines = [
        Text.assemble(
            (one_line(plan.worktree.branch), "bold"),
            (" ", GAP),
            "→",
            (" ", GAP),
            (one_line(plan.into), "bold"),
            (" ", GAP),
            (f"in {home_path(str(plan.root))}", "dim"),
        ),
        Text(counted(len(plan.commits), "commit"), style="bold"),
        *[commit_line(c) for c in plan.commits[:SHOWN_COMMITS]],
    ]
    if len(plan.commits) > SHOWN_COMMITS:
        lines.append(Text(f"  … and {len(plan.commits) - SHOWN_COMMITS:,} more", style="dim"))
    added, deleted = sum(f.added or 0 for f in plan.files), sum(f.deleted or 0 for f in plan.files)
    lines.append(
        Text.assemble(
            (counted(len(plan.files), "file"), "bold"), (" ", GAP), (f"+{added:,}", "green"), (" ", GAP), (f"−{deleted:,}", "red")
        )
    )
    width = name_width(plan.files[:SHOWN_FILES], widest=40)
    lines += [file_line(f, width) for f in plan.files[:SHOWN_FILES]]
    if len(plan.files) > SHOWN_FILES:
        lines.append(Text(f"  … and {len(plan.files) - SHOWN_FILES:,} more", style="dim"))
    return Text("\n").join(lines)


def merged_note(merged: Merged) -> str:
    how = "squashed into commit" if merged.squash else "merge commit"
    return (
        f"Merged {merged.member.handle}'s branch {one_line(merged.worktree.branch)} into {one_line(merged.into)}: "
        f"{counted(len(merged.commits), 'commit')}, {counted(len(merged.files), 'file')} ({how} {merged.head[:7]}); "
        f"recorded in the timeline as message #{merged.message.id}."
    )


class MergePreviewed(Message):
    """What the merge would bring (`plan`), or why it cannot be done (`refusal`)."""

    def __init__(self, director_id: int, handle: str, plan: MergePlan | None, refusal: str | None):
        super().__init__()
        self.director_id, self.handle, self.plan, self.refusal = director_id, handle, plan, refusal


class MergeFinished(Message):
    def __init__(self, merged: Merged | None, refusal: str | None):
        super().__init__()
        self.merged, self.refusal = merged, refusal


class WorktreeMerged(Message):
    """The member's branch was merged: the screen shows its state anew."""


# For the type checker the mixin is the screen it is mixed into; at run time it adds only itself.
if TYPE_CHECKING:
    from textual.screen import Screen as _ScreenBase
else:
    _ScreenBase = object


class MergesWorktree(_ScreenBase):
    """A screen's `M` key: preview the merge of member `member_id`'s branch (as its Director),
    confirm it, merge it, say how it went; then the screen gets `WorktreeMerged`."""

    if TYPE_CHECKING:
        fleet_id: int

    member_id: int

    def merge_director(self) -> tuple[int, str] | None:
        """The member's Director and the member's handle; None while they are not known."""
        raise NotImplementedError

    def action_merge(self) -> None:
        who = self.merge_director()
        if who is not None:
            self.preview_merge(*who)

    @work(thread=True, exit_on_error=False, exclusive=True, group="worktree-merge")
    def preview_merge(self, director_id: int, handle: str) -> None:
        from cafleet.core.errors import CafleetError
        from cafleet.services.worktree_review import plan_merge

        from .error_text import error_text

        try:
            previewed = MergePreviewed(director_id, handle, plan_merge(self.fleet_id, director_id, self.member_id), None)
        except CafleetError as exc:
            previewed = MergePreviewed(director_id, handle, None, error_text(exc))
        if not get_current_worker().is_cancelled:  # M pressed again meanwhile: one dialog, the newer
            self.post_message(previewed)

    # Named, not @on: Textual collects @on handlers only from message-pump classes, not mixins.
    def on_merge_previewed(self, previewed: MergePreviewed) -> None:
        plan = previewed.plan
        if plan is None:
            title = f"{previewed.handle}'s branch cannot be merged"
        else:
            title = f"Merge {previewed.handle}'s branch into {one_line(plan.into)}?"

        def chosen(choice: MergeChoice | None) -> None:
            if choice is not None and plan is not None:
                self.run_merge(previewed.director_id, choice is MergeChoice.SQUASH, plan.tip)

        self.app.push_screen(MergeModal(title, plan, previewed.refusal), chosen)

    @work(thread=True, exit_on_error=False, exclusive=True, group="worktree-merge")
    def run_merge(self, director_id: int, squash: bool, tip: str) -> None:
        from cafleet.core.errors import CafleetError
        from cafleet.services.worktree_review import merge_member

        from .error_text import error_text

        try:
            merged = merge_member(self.fleet_id, director_id, self.member_id, squash=squash, expected_tip=tip)
        except CafleetError as exc:
            self.post_message(MergeFinished(None, error_text(exc)))
            return
        self.post_message(MergeFinished(merged, None))

    def on_merge_finished(self, finished: MergeFinished) -> None:
        if finished.merged is None:
            self.notify(finished.refusal or "", severity="error", timeout=15)
            return
        self.notify(merged_note(finished.merged), timeout=10)
        self.post_message(WorktreeMerged())
