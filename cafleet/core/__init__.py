"""The foundations every layer uses: closed sets, errors, records, text, time, settings.

Nothing here imports another cafleet package."""
