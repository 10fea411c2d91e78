"""``python -m agenticmail``: the same as the ``agenticmail`` command."""

from agenticmail.cli.main import run

if __name__ == "__main__":
    run()
