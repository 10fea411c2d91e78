"""The dependency direction of ARCHITECTURE.md, checked on the source: a layer imports only
layers below it, and foreign protocol libraries stay inside the adapters that wrap them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "agenticmail"
TOP = {"cli", "api", "mcp", "daemon", "__main__"}
SERVICES = {"services"}
ADAPTERS = {"store", "mail", "security", "hosts", "gateway", "providers", "client"}
BASE = {"errors", "models", "config", "events", "log", "processes", "__init__"}
RANK = {**{n: 3 for n in TOP}, **{n: 2 for n in SERVICES}, **{n: 1 for n in ADAPTERS},
        **{n: 0 for n in BASE}}
# third-party libraries that speak a foreign protocol: only these layers may import them
FOREIGN = {
    "imapclient": {"mail", "gateway"}, "aiosmtplib": {"mail", "gateway"},
    "aiosmtpd": {"daemon"},
    "docker": {"providers"}, "sqlite_utils": {"store"}, "fastapi": {"api"},
    "uvicorn": {"daemon", "mcp"}, "typer": {"cli"}, "rich": {"cli"}, "mcp": {"mcp"},
}


# the package's public face re-exports the client lazily (agenticmail.Client)
ALLOWED = {("__init__", "agenticmail.client")}


def _layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[str, int]]:
    """(top-level module, line) for each import; package-relative ones as 'agenticmail.X'."""
    tree = ast.parse(path.read_text(), str(path))
    depth = len(path.relative_to(PACKAGE).parts) - 1
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this file's package
                up = node.level - 1
                if up > depth:
                    continue
                base = list(path.relative_to(PACKAGE).parts[:depth - up])
                target = ".".join(["agenticmail", *base, *(node.module or "").split(".")])
                names = [target.rstrip(".")] if node.module else [
                    ".".join(["agenticmail", *base, a.name]) for a in node.names]
                found += [(n, node.lineno) for n in names]
            elif node.module:
                found.append((node.module, node.lineno))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    own = _layer(path)
    problems = []
    for module, line in _imports(path):
        parts = module.split(".")
        if parts[0] == "agenticmail" and len(parts) > 1:
            target = parts[1]
            if (target in RANK and target != own and RANK[target] > RANK[own]
                    and (own, module) not in ALLOWED):
                problems.append(f"line {line}: {own} (layer {RANK[own]}) imports {module}")
        elif parts[0] in FOREIGN and own not in FOREIGN[parts[0]]:
            problems.append(f"line {line}: {own} imports {parts[0]}, which belongs in "
                            f"{'/'.join(sorted(FOREIGN[parts[0]]))}")
    assert problems == []


def test_every_layer_is_classified() -> None:
    layers = {_layer(p) for p in SOURCES}
    assert layers <= set(RANK), layers - set(RANK)
