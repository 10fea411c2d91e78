"""The CLI's conversation commands on the real daemon: wait, reply --all, threads, thread,
forward with a local file, drafts, and ``agents keys``."""

from __future__ import annotations

from pathlib import Path

import httpx

from agenticmail_testing.daemon import DaemonHandle

from .support import Invoke, run_json
from .test_cli_commands import make_agent


def test_reply_threads_forward_drafts(cli: Invoke, daemon: DaemonHandle, tmp_path: Path
                                      ) -> None:
    alice = make_agent(cli, daemon, "alice")["agent"]
    bob = make_agent(cli, daemon, "bob")["agent"]
    home = daemon.home
    run_json(cli, home, "send", "-a", alice["name"], "--to", bob["address"], "-s", "plan",
             "--text", "first")
    got = run_json(cli, home, "wait", "-a", bob["name"], "--subject", "plan",
                   "--timeout", "20", "--since", "0")
    assert got["timed_out"] is False and got["message"]["subject"] == "plan"
    sent = run_json(cli, home, "reply", "-a", bob["name"], str(got["uid"]), "--text", "ok",
                    "--all")
    assert sent["status"] == "queued"
    back = run_json(cli, home, "wait", "-a", alice["name"], "--thread", got["thread_id"],
                    "--timeout", "20", "--since", "0")
    assert back["message"]["subject"] == "Re: plan"
    threads = run_json(cli, home, "threads", "-a", alice["name"])["threads"]
    assert threads[0]["id"] == got["thread_id"] and threads[0]["message_count"] == 2
    thread = run_json(cli, home, "thread", "-a", alice["name"], got["thread_id"])
    assert [m["text"] for m in thread["messages"]] == ["first", "ok"]

    note = tmp_path / "note.txt"
    note.write_text("attached note")
    fwd = run_json(cli, home, "forward", "-a", alice["name"], str(back["uid"]), "--to",
                   bob["address"], "--text", "fyi", "--attach", str(note))
    assert fwd["status"] == "queued"
    got_fwd = run_json(cli, home, "wait", "-a", bob["name"], "--subject", "Fwd: Re: plan",
                       "--timeout", "20", "--since", "0")
    assert [a["filename"] for a in got_fwd["message"]["attachments"]] == ["note.txt"]

    draft = run_json(cli, home, "drafts", "create", "-a", alice["name"], "--to",
                     bob["address"], "-s", "later", "--text", "draft body")["drafts"][0]
    listed = run_json(cli, home, "drafts", "list", "-a", alice["name"])["drafts"]
    assert [d["id"] for d in listed] == [draft["id"]]
    assert run_json(cli, home, "drafts", "send", "-a", alice["name"], draft["id"]
                    )["status"] == "queued"
    assert run_json(cli, home, "drafts", "list", "-a", alice["name"])["drafts"] == []

    none = cli(home, "wait", "-a", alice["name"], "--subject", "never", "--timeout", "0.2")
    assert none.exit_code == 1


def test_agents_keys(cli: Invoke, daemon: DaemonHandle) -> None:
    alice = make_agent(cli, daemon, "alice")["agent"]
    home = daemon.home
    created = run_json(cli, home, "agents", "keys", "create", alice["name"], "script")
    key = created["api_key"]
    names = [k["name"] for k in run_json(cli, home, "agents", "keys", "list",
                                         alice["name"])["keys"]]
    assert names == ["default", "script"]
    with httpx.Client(base_url=daemon.api_url, headers={"Authorization": f"Bearer {key}"}) as c:
        assert c.get("/v1/mail/messages").status_code == 200
        run_json(cli, home, "agents", "keys", "revoke", alice["name"], "script")
        assert c.get("/v1/mail/messages").status_code == 401
    again = cli(home, "agents", "keys", "revoke", alice["name"], "script")
    assert again.exit_code == 1 and "no key named" in again.output
