"""``agenticmail policy``: each agent's per-sender policy (``/v1/policies/{agent}``, owner).

``show`` prints the policy in force (and why the file on disk is not, when it cannot be
used); ``set FILE`` replaces it after checking it; ``edit`` opens it in ``$EDITOR`` and saves
it only when it is valid (a broken edit is reported and can be fixed in place); ``test FILE.eml``
says which rule matches a message and why, without delivering anything; ``remove`` goes back
to the open policy. The daemon reloads a policy file edited by hand within a second.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import RenderableType
from rich.syntax import Syntax
from rich.text import Text

from ..errors import InvalidRequest
from .client import Client, path_part
from .output import JsonFlag, details, emit
from .state import settings_from

app = typer.Typer(no_args_is_help=True)

AgentOpt = Annotated[str, typer.Option("--agent", "-a", help="The agent whose policy this is.")]
MAX_MESSAGE = 25 * 1024 * 1024


def _render(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield details([
        ("agent", data.get("agent")),
        ("file", data.get("path")),
        ("default", data.get("default")),
        ("sender rules", data.get("rules")),
        ("capabilities", ", ".join(data.get("capabilities") or []) or "none"),
    ])
    if data.get("error"):
        yield Text(f"The file cannot be used; the last good policy stays in force: "
                   f"{data['error']}", style="bold red")
    text = data.get("policy")
    yield Syntax(text, "toml") if text else Text(
        "No policy file: every sender is delivered with every capability (the open policy).")


def _render_test(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    decision = data.get("decision") or {}
    rule = decision.get("rule")
    auth = data.get("auth") or {}
    yield details([
        ("sender", data.get("sender")),
        ("action", decision.get("action")),
        ("rule", "default" if rule is None else f"#{rule + 1}: {decision.get('match')}"),
        ("why", decision.get("reason")),
        ("capabilities", ", ".join(decision.get("capabilities") or []) or "none"),
        ("authentication", ", ".join(f"{k}={auth.get(k)}" for k in ("spf", "dkim", "dmarc"))),
    ])


def _read(path: Path, limit: int) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as error:
        raise InvalidRequest(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > limit:
        raise InvalidRequest(f"{path} is over {limit} bytes")
    return data.decode("utf-8", "surrogateescape")


@app.command()
def show(ctx: typer.Context, agent: AgentOpt, as_json: JsonFlag = False) -> None:
    """Show the agent's policy in force (and whether its file has a problem)."""
    with Client(settings_from(ctx)) as client:
        data = client.get(f"/v1/policies/{path_part(agent)}")
    emit(data, as_json, _render)


@app.command("set")
def set_policy(
    ctx: typer.Context, agent: AgentOpt,
    file: Annotated[Path, typer.Argument(help="A TOML policy file.", dir_okay=False)],
    as_json: JsonFlag = False,
) -> None:
    """Replace the agent's policy with FILE (checked first; a bad file changes nothing)."""
    text = _read(file, 64 * 1024)
    with Client(settings_from(ctx)) as client:
        data = client.request("PUT", f"/v1/policies/{path_part(agent)}",
                              json_body={"policy": text})
    emit(data, as_json, _render)


@app.command()
def edit(ctx: typer.Context, agent: AgentOpt, as_json: JsonFlag = False) -> None:
    """Edit the agent's policy in $EDITOR (or $VISUAL); saved only when valid."""
    with Client(settings_from(ctx)) as client:
        current = client.get(f"/v1/policies/{path_part(agent)}")
        text = current.get("policy") or _starter(agent)
        edited = click.edit(text, extension=".toml", require_save=True)
        if edited is None:  # closed without saving
            emit(current, as_json, _render)
            return
        data = client.request("PUT", f"/v1/policies/{path_part(agent)}",
                              json_body={"policy": edited})
    emit(data, as_json, _render)


def _starter(agent: str) -> str:
    from ..services.policies import template  # only here: the CLI needs no services else

    return template(agent)


@app.command()
def test(
    ctx: typer.Context, agent: AgentOpt,
    message: Annotated[Path, typer.Argument(help="A message (.eml) to try.", dir_okay=False)],
    policy_file: Annotated[Path | None, typer.Option(
        "--policy", help="Try this policy file instead of the one in force.",
        dir_okay=False)] = None,
    as_json: JsonFlag = False,
) -> None:
    """Say which rule of the policy matches MESSAGE and why (nothing is delivered)."""
    body: dict[str, Any] = {"message": _read(message, MAX_MESSAGE)}
    if policy_file is not None:
        body["policy"] = _read(policy_file, 64 * 1024)
    with Client(settings_from(ctx)) as client:
        data = client.post(f"/v1/policies/{path_part(agent)}/test", body)
    emit(data, as_json, _render_test)


@app.command()
def remove(ctx: typer.Context, agent: AgentOpt, as_json: JsonFlag = False) -> None:
    """Remove the agent's policy file: the open policy applies again."""
    with Client(settings_from(ctx)) as client:
        data = client.delete(f"/v1/policies/{path_part(agent)}")
    emit(data, as_json, _render)
