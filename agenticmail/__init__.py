"""agenticmail: self-hosted email for AI agents."""

__version__ = "0.1.0"
