"""`cafleet web`: the TUI served to a browser on 127.0.0.1, behind a token. `server` serves it
(textual-serve, every route behind the token); `session` is the TUI each page runs.
"""
