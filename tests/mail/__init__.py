"""Tests for the mail/ adapter (addresses, MIME, IMAP, LMTP delivery)."""
