"""``agenticmail rules``: an agent's server-side rules, run on each new INBOX message before
it is announced: list, add, show, edit, delete, and ``test`` (a dry run on existing mail).

Conditions and actions are written as short phrases (the API takes the same as JSON)::

    --if "subject matches invoice\\s+\\d+"   --if "from contains @supplier.example"
    --if "has_attachment"   --if "score gte 40"   --if "dmarc pass"   --if "not to equals x@y"
    --then "move Invoices"  --then "tag finance"  --then mark_read  --then "forward bob"
    --then delete           --then stop
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from ..errors import InvalidRequest
from .conversation import _client
from .mail import AgentOpt, FolderOpt
from .output import JsonFlag, emit, table

app = typer.Typer(no_args_is_help=True)
RefArg = Annotated[str, typer.Argument(help="The rule's name or id.")]
IfOpt = Annotated[list[str] | None, typer.Option(
    "--if", help='A condition, e.g. "subject contains invoice" (repeat: all must hold).')]
ThenOpt = Annotated[list[str] | None, typer.Option(
    "--then", help='An action, e.g. "move Invoices", "tag x", mark_read (repeat).')]
AnyFlag = Annotated[bool, typer.Option("--any", help="Any condition is enough (not all).")]

TEXT_FIELDS = ("from", "to", "subject", "body")
FLAG_FIELDS = ("has_attachment", "authenticated")
WORD_FIELDS = ("category", "spf", "dkim", "dmarc")
FALSE = ("false", "no", "0")


def parse_condition(phrase: str) -> dict[str, Any]:
    """``"[not] FIELD [OP] VALUE"`` as the API's condition object."""
    words = phrase.strip().split(None, 1)
    negate = bool(words) and words[0].lower() == "not"
    rest = words[1] if negate and len(words) > 1 else phrase.strip()
    head = rest.split(None, 1)
    if not head:
        raise InvalidRequest("an empty condition", code="invalid_rule")
    field, tail = head[0].lower(), (head[1] if len(head) > 1 else "")
    cond: dict[str, Any] = {"field": field}
    if field in FLAG_FIELDS:
        cond["value"] = tail.strip().lower() not in FALSE
    elif field == "score":
        op, _, value = tail.partition(" ")
        if not value.strip().lstrip("-").isdigit():
            raise InvalidRequest(f"{phrase!r}: write e.g. 'score gte 40'", code="invalid_rule")
        cond.update(op=op, value=int(value))
    elif field in WORD_FIELDS:
        parts = tail.split()
        cond["value"] = parts[-1] if parts else ""
    else:
        op, _, value = tail.partition(" ")
        if op not in ("contains", "equals", "matches"):
            op, value = "contains", tail
        cond.update(op=op, value=value.strip())
    if negate:
        cond["not"] = True
    return cond


def parse_action(phrase: str) -> dict[str, Any]:
    """``"move FOLDER"``, ``"tag NAME"``, ``"forward AGENT"``, ``mark_read``, ``delete``,
    ``stop`` as the API's action object."""
    kind, _, arg = phrase.strip().partition(" ")
    kind = kind.lower().replace("-", "_")
    key = {"move": "folder", "tag": "tag", "forward": "to"}.get(kind)
    return {"type": kind, key: arg.strip()} if key else {"type": kind}


def _describe(rule: Mapping[str, Any]) -> tuple[str, str]:
    def cond(c: Mapping[str, Any]) -> str:
        text = " ".join(str(c[k]) for k in ("field", "op", "value") if k in c)
        return f"not {text}" if c.get("not") else text

    def act(a: Mapping[str, Any]) -> str:
        return " ".join(str(v) for k, v in a.items() if k != "result")

    joiner = " and " if rule.get("match", "all") == "all" else " or "
    return (joiner.join(cond(c) for c in rule["conditions"]) or "(all mail)",
            ", ".join(act(a) for a in rule["actions"]))


def _render_rules(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    if not data["rules"]:
        yield Text("No rules yet (agenticmail rules add).")
        return
    yield table(("#", "name", "on", "if", "then"),
                ((r["position"], r["name"], "yes" if r["enabled"] else "no", *_describe(r))
                 for r in data["rules"]))


@app.command("list")
def list_rules(ctx: typer.Context, agent: AgentOpt, as_json: JsonFlag = False) -> None:
    """The agent's rules in the order they run."""
    with _client(ctx, agent) as client:
        found = client.list_rules()
    emit({"rules": [r.model_dump() for r in found]}, as_json, _render_rules)


@app.command()
def add(ctx: typer.Context, agent: AgentOpt,
        name: Annotated[str, typer.Argument(help="A name for the rule.")],
        conditions: IfOpt = None, actions: ThenOpt = None, match_any: AnyFlag = False,
        position: Annotated[int | None, typer.Option("--position", min=1)] = None,
        disabled: Annotated[bool, typer.Option("--disabled")] = False,
        as_json: JsonFlag = False) -> None:
    """Add a rule (last, or at --position). Without --if it acts on all new mail."""
    with _client(ctx, agent) as client:
        rule = client.create_rule(name, [parse_action(a) for a in actions or []],
                                  [parse_condition(c) for c in conditions or []],
                                  match="any" if match_any else "all", position=position,
                                  enabled=not disabled)
    emit({"rules": [rule.model_dump()]}, as_json, _render_rules)


@app.command()
def show(ctx: typer.Context, agent: AgentOpt, ref: RefArg, as_json: JsonFlag = False) -> None:
    """One rule."""
    with _client(ctx, agent) as client:
        rule = client.get_rule(ref)
    emit({"rules": [rule.model_dump()]}, as_json, _render_rules)


@app.command()
def edit(ctx: typer.Context, agent: AgentOpt, ref: RefArg,
         name: Annotated[str | None, typer.Option("--name")] = None,
         conditions: IfOpt = None, actions: ThenOpt = None,
         match_any: Annotated[bool | None, typer.Option("--any/--all")] = None,
         position: Annotated[int | None, typer.Option("--position", min=1)] = None,
         enabled: Annotated[bool | None, typer.Option("--enable/--disable")] = None,
         as_json: JsonFlag = False) -> None:
    """Change a rule (--if/--then replace all its conditions/actions)."""
    changes: dict[str, Any] = {
        "name": name, "position": position, "enabled": enabled,
        "match": None if match_any is None else ("any" if match_any else "all"),
        "conditions": [parse_condition(c) for c in conditions] if conditions else None,
        "actions": [parse_action(a) for a in actions] if actions else None}
    with _client(ctx, agent) as client:
        rule = client.update_rule(ref, **changes)
    emit({"rules": [rule.model_dump()]}, as_json, _render_rules)


@app.command()
def delete(ctx: typer.Context, agent: AgentOpt, ref: RefArg, as_json: JsonFlag = False
           ) -> None:
    """Delete a rule."""
    with _client(ctx, agent) as client:
        client.delete_rule(ref)
    emit({"rule": ref, "deleted": True}, as_json, lambda d: iter([f"deleted rule {ref}"]))


def _render_test(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield Text(f"{data['matched']} of the {data['checked']} newest messages in "
               f"{data['folder']} would be acted on:")
    yield table(("uid", "from", "subject", "rules → actions"),
                ((m["uid"], m["from"], m["subject"],
                  "; ".join(f"{r['name']}: {_describe({**r, 'conditions': []})[1]}"
                            for r in m["rules"]))
                 for m in data["matches"]))


@app.command()
def test(ctx: typer.Context, agent: AgentOpt,
         ref: Annotated[str | None, typer.Argument(
             help="Only this saved rule (default: all, in order).")] = None,
         conditions: IfOpt = None, actions: ThenOpt = None, match_any: AnyFlag = False,
         folder: FolderOpt = "INBOX",
         limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=200)] = 50,
         as_json: JsonFlag = False) -> None:
    """Dry run on a folder's newest messages: which the rules would act on, and how.

    All rules in order, one saved rule, or an unsaved one given with --if/--then. Changes
    nothing."""
    spec = None
    if conditions or actions:
        spec = {"conditions": [parse_condition(c) for c in conditions or []],
                "actions": [parse_action(a) for a in actions or ["stop"]],
                "match": "any" if match_any else "all"}
    with _client(ctx, agent) as client:
        run = client.test_rules(ref, spec=spec, folder=folder, limit=limit)
    emit(run.model_dump(), as_json, _render_test)
