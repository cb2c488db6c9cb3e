"""The Textual TUI, installed as `cafleet.screens`. Every database or tmux call runs in a
thread worker; only main-thread callbacks touch widgets.

- `app`, and its screens: `fleet_picker`, `fleet_view`, `agent_detail`, `member_pane`
- the fleet view's parts: `roster` (laid out by `roster_layout`), `timeline`, `composer`,
  `hosts`, `search` with `timeline_search`; `fleet_data` (what its workers compute) and
  `live` (reloading when another process commits)
- `render` (records into Rich text), `dialogs` and `message_modal`, `worker_errors`
"""
