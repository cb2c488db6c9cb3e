"""What a face calls that spans the broker and the courier: `sending` (record a message, then
make sure a courier types its notice), `courier_launcher` (keep this host's courier running),
`tmux_probe` (whether a tmux server answers at a socket, asked without tmux or libtmux) and
`lost_servers` (which placed agents are `lost`: their pane or tmux server gone for sure).
"""
