"""`cafleet demo`: a live fleet with no coding agent installed. `session` builds it and spawns
stand-in agents (`standin_agent`: `python -m cafleet.demo.standin_agent`, which tests also
run in place of a real coding agent); `responder` is what a stand-in does with a notice.
"""
