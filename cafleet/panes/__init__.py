"""Everything that touches a tmux pane. Importing this package pulls in libtmux (~90 ms), so
only commands that really touch a pane import it; the message path hands delivery to a
background process instead (`cafleet.panes.courier.delivery`)."""
