"""Gateways to internet mail: the relay (a person's own SMTP+IMAP account)."""
