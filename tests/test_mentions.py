"""Composer parsing: @name, @all, and the errors for unknown, ambiguous, mixed or empty."""

import pytest

from cafleet.core.errors import InvalidInput
from cafleet.core.mentions import Composed, complete, parse

NAMES = ["director", "reviewer", "researcher", "Planner"]


@pytest.mark.parametrize(
    "line, expected",
    [
        ("@reviewer please look", Composed("reviewer", "please look")),
        ("@PLANNER  split it\nin two", Composed("Planner", "split it\nin two")),
        ("@dir status?", Composed("director", "status?")),
        ("@all standup", Composed(None, "standup")),
        ("@ALL standup", Composed(None, "standup")),
    ],
)
def test_parse(line, expected):
    assert parse(line, NAMES) == expected


@pytest.mark.parametrize(
    "line, message",
    [
        ("hello", "start with @name"),
        ("@nobody hi", "no active agent named @nobody"),
        ("@re hi", "@re is ambiguous: it could be @researcher, @reviewer"),
        ("@all @reviewer hi", "@all cannot be mixed"),
        ("@reviewer @planner hi", "one recipient per message"),
        ("@reviewer   ", "is empty"),
        ("@all", "is empty"),
    ],
)
def test_parse_errors(line, message):
    with pytest.raises(InvalidInput, match=message):
        parse(line, NAMES)


def test_complete():
    assert complete("@revi", NAMES) == "@reviewer "
    assert complete("hey @pl", NAMES) == "hey @Planner "
    assert complete("@re", NAMES) is None  # ambiguous
    assert complete("@a", NAMES) == "@all "
    assert complete("no mention", NAMES) is None
