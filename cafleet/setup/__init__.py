"""Making this machine's coding agents ready for cafleet: the skills `cafleet setup` installs,
and `doctor`'s check, run inside an agent's pane, that the agent can run cafleet."""
