"""What a face calls that spans the broker and the courier: send-and-deliver, and keeping
this host's courier running."""
