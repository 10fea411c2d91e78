"""The whole agenticmail exception tree.

Every adapter (hosts/, gateway/, providers/, mail/) converts foreign exceptions into these
types at its edge, so nothing above an adapter catches a third-party exception. The API maps
each class to an HTTP status and a stable ``code``; the CLI maps each to a one-line message
and an exit code.

    AgenticMailError                    code              HTTP
    ├── ConfigError                     config_error      500
    │   └── NotConfigured               not_configured    503
    ├── StorageUnavailable              storage_unavailable 503
    ├── DependencyMissing               dependency_missing 503
    ├── InvalidRequest                  invalid_request   400
    │   └── PayloadTooLarge             payload_too_large 413
    ├── AuthenticationFailed            unauthorized      401
    ├── PermissionDenied                forbidden         403
    ├── NotFound                        not_found         404
    ├── Conflict                        conflict          409
    ├── RateLimited                     rate_limited      429
    ├── MailHostError                   mail_host_error   502
    │   ├── MailHostUnavailable         mail_host_unavailable 503
    │   └── SignInRequired              signin_required   502 (an OAuth2 grant expired/revoked)
    ├── DeliveryError                   delivery_failed   502
    │   ├── TransientDeliveryError      delivery_deferred 503
    │   │   └── DeliveryInDoubt         delivery_in_doubt 503
    │   └── PermanentDeliveryError      delivery_rejected 502
    ├── DaemonUnavailable               daemon_unavailable (CLI only: exit 2)
    ├── DnsUnavailable                  dns_unavailable   503 (a lookup failed for now)
    ├── RegistryUnavailable             registry_unavailable 503 (RDAP unreachable or failing)
    └── CloudflareError                 cloudflare_error  502 (Cloudflare's API refused a call)
        └── CloudflareUnavailable       cloudflare_unavailable 503 (unreachable, 5xx, 429)
"""

from __future__ import annotations


class AgenticMailError(Exception):
    """Base of every error this package raises on purpose."""

    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(AgenticMailError):
    code = "config_error"


class NotConfigured(ConfigError):
    code = "not_configured"


class StorageUnavailable(AgenticMailError):
    """The database cannot be read or written (disk full, I/O error, a damaged file)."""

    code = "storage_unavailable"


class DependencyMissing(AgenticMailError):
    """A required program (e.g. Dovecot) is not installed; ``hint`` says how to install it."""

    code = "dependency_missing"


class InvalidRequest(AgenticMailError):
    code = "invalid_request"


class PayloadTooLarge(InvalidRequest):
    code = "payload_too_large"


class AuthenticationFailed(AgenticMailError):
    code = "unauthorized"


class PermissionDenied(AgenticMailError):
    code = "forbidden"


class NotFound(AgenticMailError):
    code = "not_found"


class Conflict(AgenticMailError):
    code = "conflict"


class RateLimited(AgenticMailError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class MailHostError(AgenticMailError):
    """The mail host (Dovecot, Stalwart) refused or failed an operation."""

    code = "mail_host_error"


class MailHostUnavailable(MailHostError):
    """The mail host cannot be reached at all (not running, connection refused)."""

    code = "mail_host_unavailable"


class SignInRequired(MailHostError):
    """An OAuth2 grant (the relay account's refresh token) was revoked or expired: nothing
    works until the owner signs in again; retrying cannot help."""

    code = "signin_required"


class DeliveryError(AgenticMailError):
    code = "delivery_failed"


class TransientDeliveryError(DeliveryError):
    """4xx or network failure: retrying later may succeed."""

    code = "delivery_deferred"


class DeliveryInDoubt(TransientDeliveryError):
    """The whole message reached the server but its answer did not come back (a timeout or
    a cut connection after the final dot): it may have been accepted (RFC 5321 §6.1)."""

    code = "delivery_in_doubt"


class PermanentDeliveryError(DeliveryError):
    """5xx: the server refused the message; retrying will not help."""

    code = "delivery_rejected"


class DaemonUnavailable(AgenticMailError):
    """The CLI could not reach the daemon's API."""

    code = "daemon_unavailable"


class DnsUnavailable(AgenticMailError):
    """A DNS lookup failed for now (timeout, SERVFAIL, no resolver): a verdict that needed it
    is ``temperror``, never a crash."""

    code = "dns_unavailable"


class RegistryUnavailable(AgenticMailError):
    """A domain registry's RDAP service (or IANA's bootstrap file naming it) could not be
    reached or failed for now: whether a name is registered is unknown, not "available"."""

    code = "registry_unavailable"


class CloudflareError(AgenticMailError):
    """Cloudflare's API refused a call (its ``errors`` are in the message): a bad token, a
    missing permission, a conflicting record. Retrying the same call will not help."""

    code = "cloudflare_error"


class CloudflareUnavailable(CloudflareError):
    """Cloudflare's API could not be reached or failed for now (network, 5xx, 429)."""

    code = "cloudflare_unavailable"
