"""``agenticmail mcp install``: give an MCP client (Claude Code, Claude Desktop, Cursor) one
agent's mailbox — a named key for that client, and the client's MCP configuration with it,
merged into the file that is there (other servers' entries are never touched), 0600."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InvalidRequest

CLIENTS = ("claude-code", "claude-desktop", "cursor")


def config_path(client: str, home: Path | None = None, cwd: Path | None = None) -> Path:
    """Where ``client`` reads its MCP servers (Claude Code: the project's ``.mcp.json``)."""
    home = home or Path.home()
    if client == "claude-code":
        return (cwd or Path.cwd()) / ".mcp.json"
    if client == "cursor":
        return home / ".cursor" / "mcp.json"
    if client == "claude-desktop":
        system = platform.system()
        if system == "Darwin":
            return home / "Library" / "Application Support" / "Claude" / \
                "claude_desktop_config.json"
        if system == "Windows":
            base = Path(os.environ.get("APPDATA", home / "AppData" / "Roaming"))
            return base / "Claude" / "claude_desktop_config.json"
        return home / ".config" / "Claude" / "claude_desktop_config.json"
    raise InvalidRequest(f"unknown MCP client {client!r}; one of {', '.join(CLIENTS)}")


def server_name(agent: str) -> str:
    return f"agenticmail-{agent}"


def server_entry(api_key: str, base_url: str) -> dict[str, Any]:
    """How the client starts ``agenticmail mcp`` with this key."""
    exe = shutil.which("agenticmail")
    command, args = (exe, ["mcp"]) if exe else (sys.executable, ["-m", "agenticmail", "mcp"])
    return {"command": command, "args": args,
            "env": {"AGENTICMAIL_API_KEY": api_key, "AGENTICMAIL_URL": base_url}}


def merged(existing: dict[str, Any], agent: str, entry: dict[str, Any]) -> dict[str, Any]:
    """``existing`` with this agent's server set; every other entry and key kept."""
    out = dict(existing)
    servers = out.get("mcpServers")
    if servers is None:
        servers = {}
    if not isinstance(servers, dict):
        raise ConfigError("the MCP configuration's mcpServers is not an object; not touching it")
    out["mcpServers"] = {**servers, server_name(agent): entry}
    return out


def read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text() or "{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); not overwriting it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object; not overwriting it")
    return data


def write_config(path: Path, data: dict[str, Any]) -> None:
    """Write atomically with mode 0600 (the file now holds an agent key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".agenticmail-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
        out.write("\n")
    os.replace(tmp, path)
