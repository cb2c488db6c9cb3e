"""What the CLI fuzzer feeds cafleet, how it runs a call in-process, and what every call must satisfy.

The budget comes from a hypothesis profile picked by CAFLEET_FUZZ_PROFILE: `cafleet-ci`
(default, a few seconds per test) or `cafleet-long` (CAFLEET_FUZZ_PROFILE=cafleet-long, for
a run of minutes: `pytest tests/test_fuzz_cli.py -p no:xdist`).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

_COMMON = dict(
    deadline=None,
    database=None,  # no .hypothesis/ directory in the checkout; a failure prints its example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("cafleet-ci", max_examples=100, **_COMMON)
settings.register_profile("cafleet-long", max_examples=4000, **_COMMON)
FUZZ = settings.get_profile(os.environ.get("CAFLEET_FUZZ_PROFILE") or "cafleet-ci")

# Output must never carry these raw: C0 controls but tab and newline, DEL, C1, bidi controls,
# the Unicode line separators, lone surrogates.
UNSAFE_OUTPUT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

# -- values ---------------------------------------------------------------------------------

# Placeholders filled with the ids of the example's own fleet (see `Ids.fill`).
PLACEHOLDERS = ["{fleet}", "{director}", "{admin}", "{alice}", "{bob}", "{task}", "{summary}"]

NASTY = [
    "",
    " ",
    "\t",
    "\x1b]52;c;ZXZpbA==\x07",
    "\r#1 from director#1",
    "\u202eevil",
    "\x9b31m",
    "\x7f",
    "\u2028",
    "\u200f",
    "\udcff",
    "\udc80abc",
    "\x01!cmd",
    "!ls",
    "-",
    "--",
    "--text",
    "@all",
    "all",
    "Administrator",
    "٦",
    "²",
    "１",
    "🙂",
    "a\nb",
    "x" * 300,
    "{name:%}",
    "{nope}",
    "{",
    "}",
]
# What the shell hands Python: arbitrary bytes, the undecodable ones as lone surrogates.
shell_bytes = st.binary(max_size=24).map(lambda b: b.replace(b"\0", b"").decode("utf-8", "surrogateescape"))
plain_text = st.text(st.characters(blacklist_characters="\x00"), max_size=40)
anything = st.one_of(st.sampled_from(NASTY), shell_bytes, plain_text, st.sampled_from(PLACEHOLDERS))

ids = st.one_of(
    st.sampled_from(PLACEHOLDERS),
    st.integers(min_value=-(2**66), max_value=2**66).map(str),
    st.sampled_from(
        [
            "0",
            "-0",
            "+3",
            "3.0",
            "0x10",
            "1_0",
            " 3 ",
            "9223372036854775807",
            "9223372036854775808",
            "00000000000000000000000000003",
            "9" * 5000,
            "٦",
            "²",
            "１",
            "߁",
        ]
    ),
    st.text(st.characters(whitelist_categories=["Nd"]), min_size=1, max_size=25),
    anything,
)
numbers = st.one_of(
    st.floats().map(repr),
    st.floats().map(str),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.decimals(allow_nan=True).map(str),
    st.sampled_from(
        [
            "nan",
            "NaN",
            "-nan",
            "inf",
            "-inf",
            "Infinity",
            "1e400",
            "1e-400",
            ".5",
            "5.",
            "0x1p3",
            "1_0",
            "٣",
            " 5 ",
            "",
            "0",
            "0.1",
            "0.2",
            "3600",
            "3600.0001",
            "600",
            "604800",
            "604801",
        ]
    ),
    anything,
)
_offsets = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59))
times = st.one_of(
    st.builds(lambda d, o: d.replace(tzinfo=timezone(o)).isoformat(), st.datetimes(), _offsets),
    st.datetimes().map(datetime.isoformat),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(
        [
            "",
            " ",
            "Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "0001-01-01",
            "9999-12-31T23:59:59.999999Z",
            "0999-06-01",
            "2026-02-30",
            "2026-W01",
            "20260101",
            "2026-01-01T24:00:00",
            "2026-01-01T23:59:60Z",
            "yesterday",
        ]
    ),
    anything,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | plain_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(plain_text, inner, max_size=4),
    max_leaves=12,
)
json_texts = st.one_of(
    json_values.map(json.dumps),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    st.integers(min_value=1, max_value=20_000).map(lambda n: "[" * n),
    st.sampled_from(['"\\ud800"', '"\\udcff"', "1" * 5000, "[1e999]", "NaN", "-Infinity", "{", '{"a":1,}', "x" * 10_001]),
    anything,
)
names = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,70}", fullmatch=True),
    st.sampled_from(["alice", "BOB", "director", "all", "Administrator", "123", "٦", "a b", "é"]),
    anything,
)
texts = st.one_of(
    plain_text,
    st.lists(st.sampled_from(NASTY), min_size=1, max_size=4).map("".join),
    st.text(
        st.characters(whitelist_categories=["Cc", "Cf", "Zs", "Zl", "Zp"], blacklist_characters="\x00"), min_size=1, max_size=8
    ),
    anything,
)
prompts = st.one_of(
    texts,
    st.lists(
        st.sampled_from(["{name}", "{fleet_id}", "{name:%}", "{name!r}", "{x}", "{}", "{{", "}}", "{", "text "]),
        min_size=1,
        max_size=5,
    ).map("".join),
)


class Ids(NamedTuple):
    """The fleet an example acts in (made fresh for each example)."""

    fleet: int
    director: int
    admin: int
    alice: int
    bob: int
    task: int
    summary: int

    def fill(self, value: str) -> str:
        for field in self._fields:
            value = value.replace("{" + field + "}", str(getattr(self, field)))
        return value


def paths(directory: Path):
    """Existing files with random bytes, '-' (stdin), a directory, missing and odd paths."""

    def write(data: bytes) -> str:
        path = directory / f"input-{abs(hash(data)) % 10**12}.txt"
        path.write_bytes(data)
        return str(path)

    return st.one_of(
        st.binary(max_size=64).map(write),
        st.text(max_size=40).map(lambda s: write(s.encode("utf-8"))),
        st.sampled_from(["-", str(directory), str(directory / "missing.txt"), "/nonexistent/x", "", "x" * 5000]),
        shell_bytes,
    )


# -- running and checking -------------------------------------------------------------------


class Outcome(NamedTuple):
    code: int
    out: str
    err: str


def invoke(args: list[str], stdin: bytes = b"") -> Outcome:
    """One in-process `cafleet` call; an exception that escapes click is re-raised (a bug)."""
    from cafleet.cli import cli

    result = CliRunner(catch_exceptions=False).invoke(cli, args, input=stdin, prog_name="cafleet")
    return Outcome(result.exit_code, result.stdout, result.stderr)


def dump(database: Path) -> list[str]:
    """Every row of the fuzzed SQLite file (each example has one of its own, whatever the engine)."""
    with sqlite3.connect(database) as connection:
        return list(connection.iterdump())


def check(outcome: Outcome, args: list[str], before: list[str], after: list[str], json_output: bool = False) -> None:
    """The promises every call keeps, whatever it was given. `json_output`: the call asked for
    JSON, so a success prints a JSON document (unless a stray --help or --version took over)."""
    shown = f"args={args!r}\nexit={outcome.code}\nstdout={outcome.out!r}\nstderr={outcome.err!r}"
    assert outcome.code in (0, 1, 2), shown
    assert "cafleet bug" not in outcome.err and "Error: unexpected" not in outcome.err, shown
    assert not UNSAFE_OUTPUT.search(outcome.out) and not UNSAFE_OUTPUT.search(outcome.err), shown
    if outcome.code != 0:
        assert any(line.startswith("Error:") for line in outcome.err.splitlines()), shown
        assert before == after, shown + "\na refused call changed the database"
    elif json_output and not {"--help", "-h", "--version"} & set(args) and outcome.out.strip():
        # --quiet prints bare ids (one per line) even with --json; export has its own --format.
        if "--quiet" not in args and "export" not in args:
            json.loads(outcome.out)
