"""The Textual TUI: fleet picker, fleet view, agent detail, member pane and their modals.

Installed as `cafleet.screens`. Every database or tmux call runs in a thread worker; only
main-thread callbacks touch widgets.
"""
