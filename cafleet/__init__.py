"""cafleet: a local message broker and agent registry for coding agents in tmux panes."""

__version__ = "0.1.0"
