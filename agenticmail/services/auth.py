"""Who is calling: the owner (master key) or one agent (its API key)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import AuthenticationFailed, InvalidRequest, PermissionDenied
from ..models import Agent
from ..security.keys import hash_key, looks_like_key, same_secret
from ..store import agents as agent_store
from .context import ServiceContext


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
    if not looks_like_key(key):
        raise AuthenticationFailed("invalid API key")
    digest = hash_key(key)
    row = agent_store.key_by_hash(ctx.db, digest)
    if row is None or not same_secret(row["key_hash"], digest):
        raise AuthenticationFailed("invalid API key")
    if row["kind"] == "master":
        return Principal("master")
    return Principal("agent", agent_store.get_agent_by_id(ctx.db, row["agent_id"]))


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
