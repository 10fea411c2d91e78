"""Migrations are frozen: a released step's SQL never changes, and no module but
``store/migrations.py`` holds DDL."""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

import agenticmail
from agenticmail.store.db import Database
from agenticmail.store.migrations import MIGRATIONS, applied, migrate

# The digest of every released step. A new step gets a new row; an existing row never changes
# (change the schema with a new step instead). A failure here means a released step was edited.
RELEASED = {
    "0001_initial": "35e2476dfb66e77f2132641b1bba482666a09d9fa3a46197b2413c508a914ace",
    "0002_audit_log": "283127f6019b6d8089198d7c2e025d225fe0e3c3240f76ce5ee0abfd55e61c01",
    "0003_outbound": "4e2609c49b2e4a685265c3f46dc0de71b386b7555614d1bbde539e6250e69d1c",
    "0004_inbound_protection": "d4b0b1e139779ec6ed330ca29efe3785ca1506612f844f2ed3d52401888d9261",
    "0005_relay": "af93565272a68e7b41b463098200246b4084e2dbb4ab55cb68e5e55f78fae3be",
    "0006_approval_hardening": "35b788224a9a9c7b067d6ad5936d2e12f1f7c6690ff52db6b7a7e96cc9d00f95",
    "0007_verdicts_by_message": "482e4188282db70cb9ab156ae514eaf5b5990f6a0c247888889035fbe98f6bfc",
    "0008_agent_identity": "bae75e4b147991c175fe50a2c0809b9134e20572053d51141ca2a65755edba47",
    "0009_agent_mail_ops": "408ad16d00f08c1746fac688d3f4ed691dcdc68c7822d896a52559c8fbe0bf78",
    "0010_outbox_retry_budget": "db8f49a3d675527d561c03b5eff2bc3f86c7ca8da9b9a7974670e8bfc6d9bfd9",
    "0011_webhooks": "e8f59c69512aea0cf82b4f9357ac346d1a516894093f4d9556187c7435424267",
    "0012_bounces": "689d72ae7b3517c89659b4a86a90ccd2e2cb6362c03174aacccf510553ac0474",
    "0013_search_index": "9993ef223bd71b061fd144fb0c8499311e6b9abe154380c3ab05b2315b18bfda",
    "0014_tags_rules_contacts": "87deb31ee1f9c06a87c0a740d0ff34c356598605b9bcf30aaf2471b240a6c34d",
    "0015_signatures_templates_tasks":
        "a80213bbf96a7c87d834e7421931847ec652ec76b0b02ee709dc0be04ca42fa7",
    "0016_domain_inbound": "10a5d1ba5c554eb7f03ddefefc57af97da8bfc7b773d4c8c1f13e72cdd5a0c8c",
    "0017_dmarc_reports": "f08fed9704b1aff89e6db8b9a2b3887274934386d9578785c441753c594c41c0",
}

_DDL = re.compile(r"\b(CREATE|ALTER|DROP)\s+(TABLE|INDEX|UNIQUE\s+INDEX|TRIGGER|VIEW)\b",
                  re.IGNORECASE)


def _digest(step: tuple[str, ...]) -> str:
    return hashlib.sha256("\n;\n".join(step).encode()).hexdigest()


def test_released_steps_never_change() -> None:
    names = [name for name, _ in MIGRATIONS]
    assert names[:len(RELEASED)] == list(RELEASED), "steps are only ever appended"
    changed = [name for name, step in MIGRATIONS if name in RELEASED
               and _digest(step) != RELEASED[name]]
    assert not changed, f"released migration steps were edited: {changed}; add a new step"


def test_step_names_are_numbered_in_order() -> None:
    numbers = [int(name.split("_", 1)[0]) for name, _ in MIGRATIONS]
    assert numbers == sorted(set(numbers))


def test_no_ddl_outside_the_migrations() -> None:
    package = Path(agenticmail.__file__).parent
    found = []
    for path in package.rglob("*.py"):
        if path.name == "migrations.py" and path.parent.name == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and _DDL.search(node.value):
                found.append(f"{path.relative_to(package)}:{node.lineno}")
    assert not found, f"DDL outside store/migrations.py: {found}"


def test_a_new_database_gets_every_step(tmp_path: Path) -> None:
    database = Database(tmp_path / "new.db")
    assert migrate(database) == [name for name, _ in MIGRATIONS]
    assert migrate(database) == []
    assert applied(database) == [name for name, _ in MIGRATIONS]
    database.close()
