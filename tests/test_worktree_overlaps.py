"""The overlap warning's record: which files two members' branches both change and the Director
was told of, so each overlap is told once. The whole loop (git, the courier, `member list`) is in
tests/test_worktrees_tmux.py."""

from __future__ import annotations


def _record(fleet, seen: dict[tuple[int, int], set[str]]) -> list[str]:
    from cafleet.broker.messages import load_task
    from cafleet.broker.worktree_overlaps import MemberPair, SeenOverlap, record_overlaps

    overlaps = [SeenOverlap(MemberPair(*pair), frozenset(paths)) for pair, paths in seen.items()]
    directors = {fleet.alice_id: fleet.director_id, fleet.bob_id: fleet.director_id}
    sent = record_overlaps(fleet.fleet_id, overlaps, directors, lambda new: f"new {','.join(new.new_paths)}")
    return [load_task(task_id).text for task_id in sent]


def test_each_overlap_is_told_once_and_again_only_after_it_went(fleet):
    from cafleet.broker.worktree_overlaps import overlaps_of

    pair = (fleet.alice_id, fleet.bob_id)
    assert _record(fleet, {pair: {"a.py"}}) == ["new a.py"]
    assert _record(fleet, {pair: {"a.py"}}) == []
    assert _record(fleet, {pair: {"a.py", "b.py"}}) == ["new b.py"]
    shown = overlaps_of(fleet.fleet_id)
    assert [(o.member_id, o.paths) for o in shown[fleet.alice_id]] == [(fleet.bob_id, ("a.py", "b.py"))]
    assert [(o.member_id, o.paths) for o in shown[fleet.bob_id]] == [(fleet.alice_id, ("a.py", "b.py"))]
    assert _record(fleet, {pair: {"b.py"}}) == []  # a.py was merged or reverted: nothing to tell
    assert _record(fleet, {}) == [] and overlaps_of(fleet.fleet_id) == {}
    assert _record(fleet, {pair: {"a.py"}}) == ["new a.py"]  # it came back: told again


def test_the_directors_overlap_message_is_unread_from_the_later_member(fleet):
    from cafleet.broker.inbox import poll_inbox
    from cafleet.broker.worktree_overlaps import MemberPair, SeenOverlap, record_overlaps

    seen = [SeenOverlap(MemberPair(fleet.alice_id, fleet.bob_id), frozenset({"x.py"}))]
    record_overlaps(fleet.fleet_id, seen, {fleet.bob_id: fleet.director_id}, lambda new: "[overlap] x.py")
    unread = poll_inbox(fleet.fleet_id, fleet.director_id).tasks
    assert [(t.from_agent_id, t.text) for t in unread] == [(fleet.bob_id, "[overlap] x.py")]
