"""`cafleet demo`: a live fleet of stand-in agents, and the stand-in agent itself
(`python -m cafleet.demo.session.standin_agent`), which tests run in place of a real coding agent."""
