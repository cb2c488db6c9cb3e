"""`python -m cafleet.panes.courier`."""

import sys

from cafleet.panes.courier.loop import main

sys.exit(main())
