"""The foundations every layer uses. Nothing here imports another cafleet package.

- closed sets: `domain` (what the database stores), `agent_state` (what an agent in a pane
  is doing), `pane_problem` (why nothing may be typed into a pane)
- values: `records` (what the broker returns), `errors` (typed; printed as `Error: …`)
- text: `text` (message bodies), `terminal` (untrusted text made safe to print), `mentions`
  (the composer's `@name`), `names` (look-alike names), `timestamps`
- settings: `config` (from the environment), `limits` (shared bounds), `hosts` (this
  machine's id), `invocation` (how any shell reaches this same cafleet)
"""
