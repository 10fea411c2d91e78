"""Who is calling: the owner (master key) or one agent (its API key, or for a mail login its
address with its mail password or API key). Every secret is compared in constant time."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import AgenticMailError, AuthenticationFailed, InvalidRequest, PermissionDenied
from ..models import Agent
from ..security.keys import hash_key, looks_like_key, same_secret
from ..store import agents as agent_store
from .context import ServiceContext
from .sessions import credentials


@dataclass(frozen=True)
class Principal:
    kind: str  # "master" | "agent"
    agent: Agent | None = None

    @property
    def is_master(self) -> bool:
        return self.kind == "master"


def authenticate(ctx: ServiceContext, key: str | None) -> Principal:
    if not key:
        raise AuthenticationFailed(
            "missing API key", hint="send 'Authorization: Bearer <key>' (master mk_… or agent ak_…)"
        )
    principal = _by_key(ctx, key)
    if principal is None:
        raise AuthenticationFailed("invalid API key")
    return principal


def _by_key(ctx: ServiceContext, key: str) -> Principal | None:
    """The holder of an API key, or None when it is no current key."""
    if not looks_like_key(key):
        return None
    digest = hash_key(key)
    holder = agent_store.key_holder(ctx.db, digest)
    if holder is None or not same_secret(holder.key_hash, digest):
        return None
    if holder.kind == "master":
        return Principal("master")
    return None if holder.agent is None else Principal("agent", holder.agent)


def login_agent(ctx: ServiceContext, login: str, secret: str) -> Agent:
    """A mail login (SMTP submission AUTH): the agent's address (or name) with its mail
    password or its own API key. The same ``AuthenticationFailed`` whichever part was wrong."""
    login = login.strip().lower()
    agent = agent_store.find_agent_by_address(ctx.db, login) or (
        agent_store.find_agent(ctx.db, login) if "@" not in login else None)
    if agent is None:
        raise AuthenticationFailed("invalid login")
    try:
        password_ok = same_secret(credentials(ctx, agent).password, secret)
    except AgenticMailError:  # the stored password cannot be read: only the key can log in
        password_ok = False
    holder = None if password_ok else _by_key(ctx, secret)
    if password_ok or (holder is not None and holder.agent is not None
                       and holder.agent.id == agent.id):
        return agent
    raise AuthenticationFailed("invalid login")


def require_master(principal: Principal, action: str = "this") -> None:
    if not principal.is_master:
        raise PermissionDenied(f"only the owner's master key may do {action}")


def resolve_agent(ctx: ServiceContext, principal: Principal, name: str | None) -> Agent:
    """The agent a request acts on: an agent key acts on itself; the master key names one."""
    if principal.agent is not None:
        if name is not None and name.lower() != principal.agent.name:
            raise PermissionDenied(
                f"this API key belongs to agent {principal.agent.name!r}; "
                f"it cannot act on agent {name!r}"
            )
        return principal.agent
    if not name:
        raise InvalidRequest("the master key must name the agent (?agent=NAME or an 'agent' field)")
    return agent_store.get_agent(ctx.db, name.lower())
