"""The MCP server: a thin adapter over :class:`agenticmail.AsyncClient`, scoped to one agent
key (``server``), its untrusted-content rendering (``render``) and client set-up (``install``)."""
