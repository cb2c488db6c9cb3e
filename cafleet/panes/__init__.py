"""Everything that touches a tmux pane. A module here that talks to tmux pulls in libtmux
(~90 ms), so only commands that really touch a pane import one; the message path hands
delivery to a background process instead (`courier`).

- tmux: `tmux` (libtmux over one server), `calling_pane` (which pane runs this process,
  without libtmux), `processes` (a pane's foreground program)
- looking: `safety` (is the recorded pane still there; what text may be typed), `observe`
  (what the agent there shows), `agent_process` and `pane_program` (which agent runs there),
  `lost_fleets` (fleets whose panes are gone, for `doctor`)
- typing: `keystrokes` (look, lock, type under a guard, verify), `preview` (a notice's line)
- members: `members` (spawn, steer, retire), `prompt` and `prompt_file` (the starting
  prompt), `spawn_recovery` (spawns that died half-way), `activity` (`member list --activity`)
- loops: `courier/` (types this host's notices), `monitor_loop` (`cafleet monitor start`)
"""
