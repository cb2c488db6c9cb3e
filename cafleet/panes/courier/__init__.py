"""The courier, one process per database on each host: `python -m cafleet.panes.courier`.

`loop` runs it (claims, scheduling, workers, leaving), `delivery` types one claimed notice
or finishes a dead courier's, `schedule` decides which panes go next."""
