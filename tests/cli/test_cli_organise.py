"""``agenticmail tags``, ``rules`` and ``contacts`` against the session's real daemon: the
commands a user types, their ``--json`` documents, and one-line errors for bad input (an
invalid regex, a tag on a message that does not exist)."""

from __future__ import annotations

import json

from agenticmail_testing.daemon import DaemonHandle, wait_until

from .support import Invoke, run_json
from .test_cli_commands import make_agent, wait_for_mail


def test_tags_rules_and_contacts_from_the_command_line(cli: Invoke, daemon: DaemonHandle
                                                       ) -> None:
    alice = make_agent(cli, daemon, "alice")["agent"]
    bob = make_agent(cli, daemon, "bob")["agent"]
    home, b = daemon.home, ["-a", bob["name"]]

    # a rule added before the mail arrives acts on it at ingest
    rule = run_json(cli, home, "rules", "add", *b, "reports", "--if",
                    r"subject matches ^weekly\s+report", "--if", "from contains alice",
                    "--then", "tag reports", "--then", "mark_read")["rules"][0]
    assert rule["conditions"][0] == {"field": "subject", "op": "matches",
                                     "value": r"^weekly\s+report"}
    run_json(cli, home, "send", "-a", alice["name"], "--to", bob["address"], "-s",
             "Weekly report 12", "--text", "numbers")

    def ruled() -> list[dict] | None:  # listed a moment before the daemon's ingest ran the rule
        messages = wait_for_mail(cli, daemon, bob["name"])
        return messages if {"reports", "\\Seen"} <= set(messages[0]["flags"]) else None

    (message,) = wait_until(ruled, timeout=15, what="the rule's tag and read flag")

    # tags: create with a colour, put on a message, list what carries it
    tag = run_json(cli, home, "tags", "create", *b, "to do", "--color", "blue")["tags"][0]
    assert tag["keyword"].startswith("to_do-") and tag["color"] == "blue"
    done = run_json(cli, home, "tags", "add", *b, "to do", str(message["uid"]))
    assert tag["keyword"] in done["messages"][0]["flags"]
    listed = run_json(cli, home, "tags", "messages", *b, "to do")
    assert [m["uid"] for m in listed["messages"]] == [message["uid"]]
    names = [t["name"] for t in run_json(cli, home, "tags", "list", *b)["tags"]]
    assert names == ["reports", "to do"]

    # bad input: one line, a stable code, nothing else
    result = cli(home, "tags", "add", *b, "to do", "999999", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "message_not_found"
    result = cli(home, "rules", "add", *b, "broken", "--if", "subject matches (a",
                 "--then", "stop")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid regular expression '(a': missing )")
    assert len(result.stderr.strip().splitlines()) == 1

    # the dry run names the message and what would happen to it
    run = run_json(cli, home, "rules", "test", *b, "--if", "body contains numbers",
                   "--then", "move Trash")
    assert run["matched"] == 1 and run["matches"][0]["subject"] == "Weekly report 12"
    assert run["matches"][0]["rules"][0]["actions"] == [{"type": "move", "folder": "Trash"}]
    human = cli(home, "rules", "test", *b, "reports")
    assert human.exit_code == 0 and "Weekly report 12" in human.stdout

    run_json(cli, home, "rules", "edit", *b, "reports", "--disable")
    assert run_json(cli, home, "rules", "list", *b)["rules"][0]["enabled"] is False
    run_json(cli, home, "rules", "delete", *b, "reports")
    assert run_json(cli, home, "rules", "list", *b)["rules"] == []

    # contacts: filled from the mail, then edited and blocked
    page = run_json(cli, home, "contacts", "list", *b)
    assert [(c["address"], c["received"]) for c in page["contacts"]] == [(alice["address"], 1)]
    sent = run_json(cli, home, "contacts", "show", "-a", alice["name"], bob["address"])
    assert sent["contact"]["sent"] == 1
    edited = run_json(cli, home, "contacts", "edit", *b, alice["address"], "--name", "Alice",
                      "--tag", "team")["contact"]
    assert (edited["name"], edited["tags"]) == ("Alice", ["team"])
    assert run_json(cli, home, "contacts", "block", *b, "@spam.example")["contact"][
        "status"] == "block"
    blocked = run_json(cli, home, "contacts", "list", *b, "--status", "block")["contacts"]
    assert [c["address"] for c in blocked] == ["@spam.example"]
    assert run_json(cli, home, "contacts", "clear", *b, "@spam.example")["contact"][
        "status"] is None
    result = cli(home, "contacts", "edit", *b, "nobody@nowhere.example", "--name", "x")
    assert result.exit_code == 1 and "has no contact" in result.stderr
