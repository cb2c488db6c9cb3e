"""Look-alike agent names: the skeleton two names share when a reader could take one for the other.

Agents address each other by name (`--to coder-l`, `@coder-l`), and a model or a human that
misreads `coder-I` as `coder-l` sends a message to the wrong agent. Names are ASCII (see
`cafleet.broker.agents.NAME_PATTERN`) and already unique regardless of case, so a closed table
of the ASCII characters that are commonly misread for one another is enough: two names with
the same skeleton may not be active in one fleet together.
"""

from __future__ import annotations

# Applied to the name as written, before lowercasing: a capital I looks like a lowercase l,
# a lowercase i does not. Letters that read as a pair are folded to the pair (m -> rn,
# w -> vv), so `rnm`, `mrn` and `rnrn` all reach one skeleton whatever the grouping.
LOOK_ALIKES = str.maketrans(
    {
        "0": "o",
        "O": "o",
        "1": "l",
        "I": "l",
        "m": "rn",
        "M": "rn",
        "w": "vv",
        "W": "vv",
    }
)

# In words, for error messages and the docs.
LOOK_ALIKE_GROUPS = "0/O/o, 1/l/I, rn/m, vv/w"


def skeleton(name: str) -> str:
    """What `name` reads as once look-alike characters and case are folded together."""
    return name.translate(LOOK_ALIKES).lower()
