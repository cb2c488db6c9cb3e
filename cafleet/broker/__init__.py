"""Broker operations: the only code that writes the database.

Plain functions over the peewee models that return `cafleet.core.records` values and raise
`cafleet.core.errors` exceptions. They know nothing of click, Textual or tmux. Import the
submodule you need (`cafleet.broker.messages`, …) so a CLI call loads only what it uses.
"""
