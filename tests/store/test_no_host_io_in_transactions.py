"""No mail-host I/O while the write lock is held (issue 16 item 7).

A write transaction (``with transaction(ctx)`` or ``with <db>.write()``) in services/ and
daemon/ must not call the mail host, open an IMAP session, deliver by LMTP or send by SMTP
in its body: every other writer would wait for the network. A static check of each block's
own statements (a helper called from the block is not followed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import agenticmail

PACKAGE = Path(agenticmail.__file__).parent
HOST_IO = ("ctx.host.", "open_session(", "deliver_lmtp(", "smtp.send(", "check_smtp_login(",
           "check_imap_login(", "session.")


def _is_write(item: ast.withitem) -> bool:
    call = item.context_expr
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    return (isinstance(func, ast.Name) and func.id == "transaction") or (
        isinstance(func, ast.Attribute) and func.attr == "write")


def host_io_in_transactions(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.With | ast.AsyncWith) and any(map(_is_write, node.items)):
            for inner in (n for stmt in node.body for n in ast.walk(stmt)):
                if isinstance(inner, ast.Call):
                    text = ast.unparse(inner)
                    if any(marker in text for marker in HOST_IO):
                        found.append(f"line {inner.lineno}: {text}")
    return found


def test_the_check_finds_host_io_in_a_transaction() -> None:
    code = ("def f(ctx):\n    with transaction(ctx) as tx:\n"
            "        ctx.host.delete_account('a@b')\n")
    assert host_io_in_transactions(code) == ["line 3: ctx.host.delete_account('a@b')"]


def test_no_write_transaction_does_mail_host_io() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): found
        for folder in ("services", "daemon")
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        if (found := host_io_in_transactions(path.read_text()))
    }
    assert offenders == {}
