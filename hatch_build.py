"""Copies the TUI's screens/ and styles/ into the package of a built wheel.

Only for real wheels: an editable install finds them in the checkout (cafleet/__init__.py),
and a copy in site-packages would go stale at the first edit.
"""

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CheckoutLayoutHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"]["screens"] = "cafleet/screens"
            build_data["force_include"]["styles"] = "cafleet/styles"
