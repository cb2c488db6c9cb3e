"""Making this machine's coding agents ready for cafleet: `skill_install` (the skills
`cafleet setup` installs and `doctor` checks) and `agent_check` (`doctor` run inside an
agent's pane: can the agent there run cafleet?).
"""
