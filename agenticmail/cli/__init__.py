"""The ``agenticmail`` command line: a thin Typer client of the daemon's HTTP API."""
