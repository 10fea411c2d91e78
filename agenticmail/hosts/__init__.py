"""Mail hosts: where agent mailboxes live. ``build_host`` picks the configured one."""

from __future__ import annotations

from ..config import Settings
from ..errors import ConfigError
from .base import PUSH_PATH, MailHost


def build_host(settings: Settings) -> MailHost:
    if settings.mail_host == "local":
        from .local import LocalHost

        return LocalHost(
            settings.dovecot_dir, domain=settings.domain, imap_port=settings.imap_port,
            lmtp_port=settings.lmtp_port, submission_port=settings.submission_port,
            push_url=f"{settings.api_url}{PUSH_PATH}",
        )
    if settings.mail_host == "stalwart":
        from ..store.secret_key import load_or_create
        from .stalwart import StalwartHost

        return StalwartHost(
            settings.stalwart_dir, secrets_box=load_or_create(settings.secret_key_path),
            domain=settings.domain, http_port=settings.stalwart_http_port,
            smtp_port=settings.stalwart_smtp_port,
            stalwart_submission_port=settings.stalwart_submission_port,
            imap_port=settings.imap_port, lmtp_port=settings.lmtp_port,
            submission_port=settings.submission_port, docker_url=settings.docker_host,
        )
    raise ConfigError(f"mail host {settings.mail_host!r} is not available in this version")


__all__ = ["PUSH_PATH", "MailHost", "build_host"]
