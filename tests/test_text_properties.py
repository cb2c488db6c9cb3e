"""Properties of the composer's mention parsing and of message truncation."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from cafleet.core.errors import InvalidInput
from cafleet.core.mentions import complete, parse
from cafleet.core.text import ELLIPSIS, truncate

names = st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,11}", fullmatch=True), min_size=1, max_size=6, unique_by=str.lower)
words = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=20)


@given(names, st.data(), words)
def test_a_full_name_in_any_case_reaches_that_agent(roster, data, text):
    assume(not text.startswith("@"))
    name = data.draw(st.sampled_from(roster))
    assume(name.lower() != "all")
    mention = data.draw(st.sampled_from([name, name.upper(), name.lower()]))
    assert parse(f"@{mention} {text}", roster) == (name, text)


@given(names, words)
def test_at_all_is_a_broadcast(roster, text):
    assume(not text.startswith("@"))
    assert parse(f"@all {text}", roster) == (None, text)


@given(names, st.text(max_size=40))
def test_parse_either_resolves_or_refuses_clearly(roster, line):
    try:
        composed = parse(line, roster)
    except InvalidInput as exc:
        assert exc.message and "\n" not in exc.message
    else:
        assert composed.text and (composed.to is None or composed.to in roster)


@given(names, st.data())
def test_completion_only_ever_completes_to_a_name_that_starts_with_the_prefix(roster, data):
    name = data.draw(st.sampled_from(roster))
    prefix = name[: data.draw(st.integers(1, len(name)))]
    completed = complete(f"@{prefix}", roster)
    if any(n.lower() == prefix.lower() for n in roster):
        assert completed is None  # a whole name is left as it is
    elif completed is not None:
        completed_name = completed[1:].strip()
        assert completed_name in [*roster, "all"] and completed_name.lower().startswith(prefix.lower())


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_truncate_keeps_short_text_and_cuts_long_text_at_the_limit(text, limit):
    shown, cut = truncate(text, limit)
    if len(text) <= limit:
        assert (shown, cut) == (text, False)
    else:
        assert cut and shown == text[:limit] + ELLIPSIS and len(shown) == limit + 1
