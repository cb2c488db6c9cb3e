"""`cafleet web`: the TUI served to a browser on 127.0.0.1, behind a token."""
