"""cafleet: a local message broker and agent registry for coding agents in tmux panes."""

import os as _os

__version__ = "0.1.0"

_package_dir = _os.path.dirname(__file__)
if not _os.path.isdir(_os.path.join(_package_dir, "screens")):
    # A source checkout (editable install, pytest): the TUI's screens/ and styles/ live at
    # the repository root and are copied into the package only when a wheel is built.
    __path__.append(_os.path.dirname(_package_dir))


def styles_dir() -> str:
    """Where the .tcss stylesheets are: inside the installed package, else the checkout."""
    packaged = _os.path.join(_package_dir, "styles")
    return packaged if _os.path.isdir(packaged) else _os.path.join(_os.path.dirname(_package_dir), "styles")
