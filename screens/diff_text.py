"""A member's diff as the diff view's lines: its commits and files first (a stat header), then
the patch coloured by Pygments' diff lexer through Rich's `Syntax`, cut at `SHOWN_LINES`.

Pure functions, run in a worker: lexing and splitting 5,000 lines takes ~0.1 s, which the UI
thread never pays; the view then draws only the lines on screen (`diff_view.DiffView`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from pygments.token import Generic, Token
from rich.style import Style
from rich.syntax import ANSISyntaxTheme, Syntax
from rich.text import Text

from cafleet.core.terminal import block, one_line
from cafleet.core.text import counted

from .render import GAP, fields

if TYPE_CHECKING:
    from cafleet.git.review import Commit, FileChange
    from cafleet.services.worktree_review import MemberDiff

SHOWN_LINES = 5000  # of the patch; the CLI prints the rest
SHOWN_COMMITS = 30
SHOWN_FILES = 300
TAB_SIZE = 4
STATUS_STYLES = {"A": "green", "D": "red", "M": "yellow", "R": "cyan", "C": "cyan", "T": "magenta"}
FILE_HEADER = "diff --git "
# Pygments' diff tokens in the terminal's own colours; a hunk's header apart from the red of a
# removed line (Rich's ansi_dark draws both in the same red in Textual's palette).
DIFF_THEME = ANSISyntaxTheme(
    {
        Token: Style(),
        Generic.Inserted: Style(color="green"),
        Generic.Deleted: Style(color="red"),
        Generic.Subheading: Style(color="cyan"),
        Generic.Heading: Style(bold=True),
        Generic.Strong: Style(bold=True),
    }
)


class DiffPage(NamedTuple):
    """What the diff view shows: a title above it, its lines, where each file's patch starts."""

    title: Text
    lines: list[Text]
    width: int  # of the widest line, in cells
    file_starts: list[int]  # the index of each file's `diff --git` line
    hidden: int  # lines of the patch left out


def diff_page(diff: MemberDiff, full_command: str, limit: int = SHOWN_LINES) -> DiffPage:
    """`diff` as lines; `full_command` prints all of it (named when lines are left out)."""
    head = _header(diff)
    patch = diff.text.split("\n")
    if patch and patch[-1] == "":
        patch.pop()
    shown, hidden = patch[:limit], max(0, len(patch) - limit)
    body = _highlighted(shown)
    lines = head + ([Text("")] if head and body else [])
    starts = [len(lines) + i for i, line in enumerate(shown) if line.startswith(FILE_HEADER)]
    lines += body
    if hidden:
        lines += [
            Text(""),
            Text(f"… {counted(hidden, 'more line')} not shown: `{full_command}` prints them all", style="bold yellow"),
        ]
    if not diff.text:
        lines.append(Text(_nothing(diff), style="dim italic"))
    return DiffPage(_title(diff), lines, max((line.cell_len for line in lines), default=0), starts, hidden)


def _title(diff: MemberDiff) -> Text:
    worktree, member = diff.worktree, diff.member
    if diff.uncommitted:
        what = fields(("uncommitted", "bold yellow"), "in its worktree", sep=Text(" ", style=GAP))
    else:
        what = fields(
            ("committed", "bold cyan"),
            f"on {one_line(worktree.branch)} since {one_line(worktree.base_name)}",
            sep=Text(" ", style=GAP),
        )
    return fields((member.handle, "bold"), what, _totals(diff.commits, diff.files, diff.uncommitted))


def _totals(commits: list[Commit], files: list[FileChange], uncommitted: bool) -> Text:
    added = sum(f.added or 0 for f in files)
    deleted = sum(f.deleted or 0 for f in files)
    parts: list = [] if uncommitted else [(counted(len(commits), "commit"), "")]
    parts.append((counted(len(files), "file"), ""))
    if files:
        parts += [(f"+{added:,}", "green"), (f"−{deleted:,}", "red")]
    return fields(*parts, sep=Text(" ", style=GAP))


def _header(diff: MemberDiff) -> list[Text]:
    lines: list[Text] = []
    if diff.commits:
        lines.append(Text("Commits", style="bold"))
        lines += [commit_line(commit) for commit in diff.commits[:SHOWN_COMMITS]]
        if len(diff.commits) > SHOWN_COMMITS:
            lines.append(Text(f"  … and {len(diff.commits) - SHOWN_COMMITS:,} more", style="dim"))
    if diff.files:
        lines.append(Text("Files", style="bold"))
        width = name_width(diff.files[:SHOWN_FILES])
        lines += [file_line(change, width) for change in diff.files[:SHOWN_FILES]]
        if len(diff.files) > SHOWN_FILES:
            lines.append(Text(f"  … and {len(diff.files) - SHOWN_FILES:,} more", style="dim"))
    return lines


def commit_line(commit: Commit) -> Text:
    return Text.assemble(("  ", GAP), (commit.short, "yellow"), (" ", GAP), one_line(commit.subject))


def name_width(files: list[FileChange], widest: int = 60) -> int:
    """The column the files' counts line up at."""
    return min(max((len(file_name(f)) for f in files), default=0), widest)


def file_name(change: FileChange) -> str:
    name = one_line(change.path)
    return f"{one_line(change.old_path)} → {name}" if change.old_path else name


def file_line(change: FileChange, width: int) -> Text:
    counts = (
        Text.assemble((f"+{change.added}", "green"), (" ", GAP), (f"−{change.deleted}", "red"))
        if change.added is not None and change.deleted is not None
        else Text("binary", style="dim")
    )
    return Text.assemble(
        ("  ", GAP),
        (change.status, STATUS_STYLES.get(change.status, "")),
        ("  ", GAP),
        file_name(change).ljust(width),
        ("  ", GAP),
        counts,
    )


def _highlighted(lines: list[str]) -> list[Text]:
    """The patch's lines, their control characters escaped and tabs expanded, coloured."""
    if not lines:
        return []
    code = "\n".join(block(line).expandtabs(TAB_SIZE) for line in lines)
    text = Syntax("", "diff", theme=DIFF_THEME).highlight(code)
    split = list(text.split("\n", allow_blank=True))[: len(lines)]  # highlight() ends the code with a newline
    for line in split:
        if line.plain.startswith(FILE_HEADER):
            line.stylize("bold reverse")  # where one file's patch starts, for the eye that scrolls
    return split


def _nothing(diff: MemberDiff) -> str:
    if diff.uncommitted:
        return "Nothing uncommitted: its worktree is as its last commit left it."
    return f"No commits on {one_line(diff.worktree.branch)} that {one_line(diff.worktree.base_name)} lacks."
