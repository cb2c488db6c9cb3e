"""Bounds on user-supplied values that the CLI, the TUI and the broker share (no imports:
the CLI reads them when its options are declared)."""

# SQLite's INTEGER is a signed 64-bit number: the largest id any table can hold.
MAX_ID = 2**63 - 1
# A monitor schedule wakes an agent at least once a week.
MAX_INTERVAL_SECONDS = 7 * 24 * 3600
MAX_LABEL_LEN = 200
MAX_SKILLS_CHARS = 10_000
