"""Tests of the agenticmail command line (agenticmail/cli)."""
