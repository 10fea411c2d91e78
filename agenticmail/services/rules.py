"""Server-side rules: an agent's ordered filters, saved, changed, listed and tried on mail.

A rule (:mod:`.rule_spec`) is checked whole when it is saved: an invalid pattern, an unknown
field, a move to a folder the mailbox does not have, a forward to no agent, are ``400
invalid_rule`` then, never a failure at delivery. A tag action creates its tag if needed.
The rules run on each new INBOX message (:mod:`.sorting`); :func:`dry_run` says which existing
messages they would act on and how, changing nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..errors import Conflict, InvalidRequest, NotFound
from ..mail.mime import parse_message
from ..models import Agent, SearchQuery
from ..store import agents as agent_store
from ..store import rules as store
from ..store import tags as tag_store
from ..store import verdicts
from . import rule_spec
from .context import ServiceContext, transaction
from .mailbox import resolve_folder
from .screening import Deadline, screen
from .sessions import open_session
from .tag_names import check_name, keyword_for

MAX_RULES = 200
MAX_NAME = 100
DRY_RUN_LIMIT = 200


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise InvalidRequest(f"a rule name is 1-{MAX_NAME} characters", code="invalid_rule")
    return name.strip()


def forward_target(ctx: ServiceContext, agent: Agent, to: str) -> Agent:
    """The agent a forward action names (by name or address): another agent of this host."""
    found = (agent_store.find_agent_by_address(ctx.db, to) if "@" in to
             else agent_store.find_agent(ctx.db, to.lower()))
    if found is None:
        raise InvalidRequest(f"a forward action names no agent: {to[:100]!r}",
                             code="invalid_rule",
                             hint="rules forward only to another agent of this host")
    if found.id == agent.id:
        raise InvalidRequest("a rule cannot forward an agent's mail to itself",
                             code="invalid_rule")
    return found


def _resolve_actions(ctx: ServiceContext, agent: Agent, actions: list[dict[str, Any]]
                     ) -> list[dict[str, Any]]:
    """Actions with their folder, tag and agent checked against what exists now."""
    out: list[dict[str, Any]] = []
    folders = [a for a in actions if a["type"] == "move"]
    real: dict[str, str] = {}
    if folders:
        with open_session(ctx, agent) as session:
            for action in folders:
                try:
                    real[action["folder"]] = resolve_folder(session, action["folder"])
                except NotFound as exc:
                    raise InvalidRequest(f"a move action names no folder: {exc.message}",
                                         code="invalid_rule", hint=exc.hint) from None
    for action in actions:
        if action["type"] == "move":
            action = {**action, "folder": real[action["folder"]]}
        elif action["type"] == "tag":
            action = {**action, "tag": check_name(action["tag"])}
        elif action["type"] == "forward":
            action = {**action, "to": forward_target(ctx, agent, action["to"]).name}
        out.append(action)
    return out


def _ensure_tags(conn: Any, agent: Agent, actions: list[dict[str, Any]]) -> None:
    for action in actions:
        if action["type"] == "tag":
            tag_store.insert(conn, agent.id, action["tag"], keyword_for(action["tag"]),
                             None)


def create(ctx: ServiceContext, agent: Agent, name: str, conditions: Any, actions: Any, *,
           match: str = "all", position: int | None = None, enabled: bool = True
           ) -> store.RuleRow:
    """Save a new rule (last, or at ``position``, moving later ones down)."""
    name = _check_name(name)
    conds, acts = rule_spec.check(match, conditions, actions)
    acts = _resolve_actions(ctx, agent, acts)
    with transaction(ctx) as tx:
        if store.name_taken(tx.conn, agent.id, name):
            raise Conflict(f"agent {agent.name} already has a rule named {name!r}",
                           code="rule_exists")
        last = store.next_position(tx.conn, agent.id)
        if last > MAX_RULES:
            raise InvalidRequest(f"at most {MAX_RULES} rules per agent", code="invalid_rule")
        where = last if position is None else max(1, min(position, last))
        _ensure_tags(tx.conn, agent, acts)
        rule = store.RuleRow(f"ru_{uuid.uuid4().hex[:12]}", name, where, enabled, match,
                             conds, acts, "", "")
        return store.save(tx.conn, agent.id, rule)


def get(ctx: ServiceContext, agent: Agent, ref: str) -> store.RuleRow:
    found = store.find(ctx.db, agent.id, ref)
    if found is None:
        raise NotFound(f"agent {agent.name} has no rule {ref[:100]!r}", code="rule_not_found")
    return found


def list_rules(ctx: ServiceContext, agent: Agent) -> list[store.RuleRow]:
    return store.list_rules(ctx.db, agent.id)


def update(ctx: ServiceContext, agent: Agent, ref: str, changes: Mapping[str, Any]
           ) -> store.RuleRow:
    """Change the given fields (``name``, ``enabled``, ``position``, ``match``,
    ``conditions``, ``actions``); the rule is checked whole again."""
    rule = get(ctx, agent, ref)
    name = _check_name(changes["name"]) if changes.get("name") is not None else rule.name
    match = changes.get("match") or rule.match
    conds, acts = rule_spec.check(
        match, rule.conditions if changes.get("conditions") is None else changes["conditions"],
        rule.actions if changes.get("actions") is None else changes["actions"])
    acts = _resolve_actions(ctx, agent, acts)
    enabled = rule.enabled if changes.get("enabled") is None else bool(changes["enabled"])
    position = changes.get("position") or rule.position
    with transaction(ctx) as tx:
        if store.name_taken(tx.conn, agent.id, name, but=rule.id):
            raise Conflict(f"agent {agent.name} already has a rule named {name!r}",
                           code="rule_exists")
        _ensure_tags(tx.conn, agent, acts)
        return store.save(tx.conn, agent.id, replace(
            rule, name=name, match=match, conditions=conds, actions=acts, enabled=enabled,
            position=max(1, int(position))))


def delete(ctx: ServiceContext, agent: Agent, ref: str) -> dict[str, Any]:
    rule = get(ctx, agent, ref)
    with transaction(ctx) as tx:
        store.delete(tx.conn, agent.id, rule.id)
    return {"id": rule.id, "name": rule.name, "deleted": True}


def dry_run(ctx: ServiceContext, agent: Agent, *, ref: str | None = None,
            rule: Mapping[str, Any] | None = None, folder: str = "INBOX",
            limit: int = 50) -> dict[str, Any]:
    """Which of the newest ``limit`` messages in ``folder`` the rules would act on, and how:
    all the agent's rules in order, one saved rule (``ref``), or an unsaved ``rule``
    (``conditions``, ``actions``, ``match``) checked as :func:`create` would. Changes
    nothing."""
    if not 1 <= limit <= DRY_RUN_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {DRY_RUN_LIMIT}")
    if rule is not None:
        conds, acts = rule_spec.check(rule.get("match") or "all", rule.get("conditions") or [],
                                      rule.get("actions"))
        candidates = [store.RuleRow("(unsaved)", str(rule.get("name") or "(unsaved)"), 1, True,
                                    rule.get("match") or "all", conds,
                                    _resolve_actions(ctx, agent, acts), "", "")]
    elif ref is not None:
        candidates = [replace(get(ctx, agent, ref), enabled=True)]
    else:
        candidates = list_rules(ctx, agent)
    fetched: list[tuple[int, bytes, tuple[str, ...]]] = []
    with open_session(ctx, agent) as session:
        folder = resolve_folder(session, folder)
        uids = sorted(session.search(folder, SearchQuery()), reverse=True)[:limit]
        for uid in uids:
            try:
                fetched.append((uid, *session.fetch_raw(folder, uid)))
            except NotFound:  # expunged meanwhile
                continue
    matches: list[dict[str, Any]] = []
    for uid, raw, flags in fetched:
        parsed = parse_message(raw, uid=uid, folder=folder, flags=flags)
        stored = verdicts.find(ctx.db, agent.id, raw)
        assessment = screen(ctx, raw, stored, Deadline.for_message(ctx))
        found = rule_spec.evaluate(candidates, parsed, assessment.text, assessment.security)
        if found:
            matches.append({"uid": uid, "folder": folder, "subject": parsed.subject,
                            "from": parsed.from_, "rules": [m.to_dict() for m in found]})
    return {"folder": folder, "checked": len(uids), "matched": len(matches),
            "matches": matches}

