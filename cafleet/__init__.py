"""cafleet: a local message broker and agent registry for coding agents in tmux panes.

Its subpackages are layers; each imports only those below it (`lint-imports` holds this):

- faces: `cli` (the `cafleet` command), `web` (the TUI in a browser), `demo`, `setup` (the
  skills and doctor's in-pane check); the TUI itself is `cafleet.screens` (screens/ in a checkout)
- `panes` (tmux: looking, typing, spawning, the courier) and `backends` (one per coding agent)
- `services`: what every face calls that spans the broker and the courier
- `broker`: the only code that writes the database
- `store`: models, migrations, engines, database files and locks
- `core`: closed sets, errors, records, text, time and settings

`skills/` holds the agent skills `cafleet setup` installs. Importing cafleet finds
`cafleet.screens` in a checkout and keeps the PostgreSQL drivers unloaded until used.
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"

_package_dir = _os.path.dirname(__file__)
_checkout = _os.path.dirname(_package_dir)


class _CheckoutScreens:
    """Finds `cafleet.screens` in a source checkout (editable install, pytest).

    The TUI's screens/ live at the repository root and are copied into the package only when
    a wheel is built (hatch_build.py). This maps that one package and nothing else, so
    `cafleet.tests` or `cafleet.docs` stay unimportable.
    """

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname != "cafleet.screens":
            return None
        from importlib.util import spec_from_file_location

        screens = _os.path.join(_checkout, "screens")
        return spec_from_file_location(fullname, _os.path.join(screens, "__init__.py"), submodule_search_locations=[screens])


if not _os.path.isdir(_os.path.join(_package_dir, "screens")) and _os.path.isdir(_os.path.join(_checkout, "screens")):
    _sys.meta_path.append(_CheckoutScreens)


def styles_dir() -> str:
    """Where the .tcss stylesheets are: inside the installed package, else the checkout."""
    packaged = _os.path.join(_package_dir, "styles")
    return packaged if _os.path.isdir(packaged) else _os.path.join(_checkout, "styles")
