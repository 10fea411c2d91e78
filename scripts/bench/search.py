"""Search at scale: build the index of 100,000 realistic generated messages and measure it.

Prints: the index build rate (messages/s, each message parsed once and sanitised as at
ingest), the index size on disk, p50/p95 of ranked full-text queries (target: p50 <= 10 ms,
p95 <= 50 ms) and of hybrid queries, the process's RSS while it serves them (the daemon holds
the same: the cached vectors and the model), the embedding rate, and recall@10 of full text,
semantic and hybrid search on a labelled set of queries written from a message's meaning
without its words (:data:`LABELLED`, written once, not tuned).

Embedding 100,000 messages on a 2-core machine takes about an hour, so the hybrid latency is
measured over 100,000 vectors made from real embeddings of a pool of generated messages
(``--pool``), each message given its template's vector plus a little noise; the cost of a
query (embedding it, a brute-force cosine over every vector, the fusion) does not depend on
the values. Recall is measured on an index where every vector is real: the labelled targets
among the pool messages as distractors.

    python -m scripts.bench.search [--messages 100000] [--queries 300] [--pool 2000] [--json]

Runs in-process on a temporary database (no daemon, no mail host: the index and the queries
are the service's own code, as the daemon runs it, without the per-page mailbox check).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from agenticmail.config import load_settings
from agenticmail.models import Agent, Role
from agenticmail.providers import embedder
from agenticmail.services import search
from agenticmail.services.context import ServiceContext, build_context, transaction
from agenticmail.store import agents as agent_store
from agenticmail.store import search as store

FIRST = ["Alice", "Bruno", "Chen", "Dana", "Emeka", "Fatima", "Gustav", "Hiro", "Ines",
         "Jonas", "Kavya", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa",
         "Sven", "Tariq", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoe"]
LAST = ["Smith", "Garcia", "Müller", "Tanaka", "Okafor", "Rossi", "Novak", "Kowalski",
        "Haddad", "Larsen", "Dubois", "Silva", "Kim", "Patel", "Ivanova", "Jensen"]
COMPANIES = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne",
             "tyrell", "cyberdyne", "soylent", "wonka", "oceanic", "aperture", "monarch"]
PRODUCTS = ["blender", "laptop stand", "espresso machine", "standing desk", "headphones",
            "router", "monitor", "office chair", "keyboard", "backpack", "printer", "tablet"]
CITIES = ["Lisbon", "Berlin", "Osaka", "Nairobi", "Toronto", "Lima", "Oslo", "Madrid"]
PROJECTS = ["Atlas", "Borealis", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Helix"]

# category -> (subjects, body sentences); {x} fields are filled at random
TEMPLATES: dict[str, tuple[list[str], list[str]]] = {
    "invoice": (["Invoice {num} from {company}", "Payment reminder: invoice {num}",
                 "Your {company} receipt #{num}"],
                ["Please find attached invoice {num} for {amount} EUR.",
                 "Payment is due within 30 days of the invoice date.",
                 "The amount of {amount} EUR covers the services delivered in {month}.",
                 "If you have already paid, please ignore this reminder.",
                 "Bank transfer details are on the second page of the PDF."]),
    "meeting": (["Meeting about {project} on {day}", "Agenda: {project} weekly sync",
                 "Can we meet {day}?"],
                ["Let's meet on {day} at {hour} to go over the {project} milestones.",
                 "I booked room {room} on the third floor.",
                 "Please bring the latest numbers for {project}.",
                 "The call link is in the calendar invite.",
                 "We need to decide on the launch date before the end of {month}."]),
    "support": (["Problem with my {product}", "Ticket {num}: {product} not working",
                 "Question about order {num}"],
                ["My {product} stopped working after two days.",
                 "I ordered it on {date} and the order number is {num}.",
                 "I already tried restarting it, without success.",
                 "Could you tell me how to get it repaired or replaced?",
                 "The screen flickers and then turns off."]),
    "shipping": (["Your order {num} has shipped", "Delivery update for order {num}",
                  "Package {num} is out for delivery"],
                 ["Your {product} left our warehouse in {city} today.",
                  "The tracking number is {num}{num}.",
                  "Expected delivery is on {day} between 9am and 6pm.",
                  "A signature may be required on delivery."]),
    "review": (["Code review: {project} pull request {num}", "Re: {project} PR {num}",
                "CI failing on {project} main"],
                ["I left a few comments on the pull request.",
                 "The migration in the {project} service needs a test for the rollback.",
                 "The build fails on the linter step, see the log.",
                 "Once the comments are addressed I will approve it.",
                 "Consider splitting the change into two smaller commits."]),
    "travel": (["Your trip to {city}", "Booking confirmation {num}", "Flight change to {city}"],
               ["Your flight to {city} departs on {day} at {hour}.",
                "The hotel booking reference is {num}.",
                "Check-in opens 24 hours before departure.",
                "Your seat is {room}A, by the window."]),
    "newsletter": (["{company} news for {month}", "This month at {company}",
                    "{company} product update"],
                   ["Here is what changed at {company} this month.",
                    "We launched a new {product} with a longer warranty.",
                    "Read the full story on our blog.",
                    "You receive this because you subscribed to {company} news."]),
    "hr": (["Holiday request for {day}", "Onboarding for {first}", "Team lunch on {day}"],
           ["{first} starts on {day} and will join the {project} team.",
            "Please approve my holiday request for the week of {date}.",
            "The team lunch is at the Italian place near the office.",
            "Remember to submit your timesheet by {day}."]),
    "es": (["Factura {num} de {company}", "Reunión sobre {project}", "Pedido {num} enviado"],
           ["Adjunto la factura {num} por {amount} euros.",
            "Nos vemos el {day} a las {hour} para hablar de {project}.",
            "Su pedido salió de nuestro almacén en {city}.",
            "Gracias por su paciencia."]),
    "de": (["Rechnung {num} von {company}", "Besprechung zu {project}", "Bestellung {num}"],
           ["Anbei die Rechnung {num} über {amount} Euro.",
            "Wir treffen uns am {day} um {hour} wegen {project}.",
            "Ihre Bestellung wurde heute in {city} versandt.",
            "Vielen Dank für Ihre Geduld."]),
}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]

# Meaning-only queries (none of their content words is in the target), with the message
# each should find. Written once from the message's meaning; not tuned on the results.
LABELLED: list[tuple[str, str, str]] = [
    ("someone wants their money back for a broken purchase",
     "Refund please", "The kettle I got from you leaks. I'd like a full reimbursement to my "
     "card instead of a replacement."),
    ("the landlord is raising what I pay each month",
     "New terms for the flat", "Starting in spring the monthly rent goes up by 80 euros; the "
     "lease otherwise stays unchanged."),
    ("my pet needs to see the animal doctor",
     "Bella's appointment", "Bella has been limping since Sunday, so I booked the vet for "
     "Tuesday morning."),
    ("job offer with salary details",
     "Welcome aboard", "We are delighted to propose you the role of data engineer with an "
     "annual compensation of 72,000 and 25 days of leave."),
    ("a password was changed and it might not have been me",
     "Security alert", "The credentials on your account were reset from a new device in "
     "Jakarta. If this wasn't you, lock your account now."),
    ("party invitation for a kid turning seven",
     "Tom's birthday!", "Tom is having his 7th birthday celebration at the park on "
     "Saturday, with cake and games. RSVP by Thursday."),
    ("the power will be off in the building",
     "Planned outage", "Electricity in block C will be interrupted Wednesday from 8 to 12 "
     "for maintenance of the transformer."),
    ("doctor results from the blood test",
     "Your lab report", "The laboratory analysis of your sample is ready: cholesterol and "
     "glucose are within the normal range."),
    ("conference talk was accepted",
     "Good news about your proposal", "The programme committee selected your session on "
     "streaming databases for the main stage in October."),
    ("suspicious prize that asks for bank details",
     "You are a winner", "Congratulations, you won a lottery jackpot. Send your account "
     "number and PIN to claim the 1,000,000 dollars."),
    ("el cliente quiere cancelar su suscripción",
     "Baja del servicio", "Por favor, den de baja mi plan mensual a partir de este mes; ya "
     "no lo necesito."),
    ("car repair estimate from the garage",
     "Quote for your vehicle", "Replacing the brake pads and the timing belt will cost about "
     "540 including labour; we can start Monday."),
    ("the package was left with a neighbour",
     "Delivered", "Nobody was home, so the courier handed your parcel to the person at "
     "number 12 next door."),
    ("school is closed because of snow",
     "No classes tomorrow", "Due to the blizzard forecast, the primary school will not open "
     "on Friday; lessons resume on Monday."),
    ("request for a letter of recommendation",
     "A favour", "Could you write a reference for my master's application? The deadline "
     "for the university is in two weeks."),
    ("someone resigned from the team",
     "Moving on", "After four years I have decided to leave the company; my last day will "
     "be the 30th."),
    ("neighbour complains about loud music",
     "Noise at night", "The stereo in your apartment was very loud after midnight again; "
     "please keep it down, people are trying to sleep."),
    ("plumbing leak in the bathroom",
     "Water under the sink", "There is a drip from the pipe below the washbasin and the "
     "cabinet floor is soaked."),
    ("wedding invitation",
     "Save the date", "Maria and João are getting married on 14 June in Porto; "
     "the ceremony starts at four."),
    ("the gym membership price is going up",
     "Fitness club update", "From next month the fee for your club pass rises to 39 per "
     "month; classes stay included."),
]


def _fill(text: str, rnd: random.Random, first: str) -> str:
    day = rnd.choice(DAYS)
    return text.format(
        num=rnd.randint(1000, 99999), company=rnd.choice(COMPANIES).title(),
        amount=f"{rnd.randint(20, 9000)}.{rnd.randint(0, 99):02d}", month=rnd.choice(MONTHS),
        project=rnd.choice(PROJECTS), day=day, hour=f"{rnd.randint(8, 18)}:00",
        room=rnd.randint(1, 40), product=rnd.choice(PRODUCTS), city=rnd.choice(CITIES),
        date=f"{rnd.randint(1, 28)} {rnd.choice(MONTHS)}", first=first)


def generate(n: int, seed: int = 12) -> Iterator[tuple[str, bytes]]:
    """``n`` realistic messages: ``(category, raw bytes)``; a tenth with an HTML part, some
    with an attachment, over two years of dates."""
    rnd = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    cats = list(TEMPLATES)
    weights = [14, 14, 12, 12, 12, 8, 10, 8, 5, 5]
    for i in range(n):
        cat = rnd.choices(cats, weights)[0]
        subjects, sentences = TEMPLATES[cat]
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        company = rnd.choice(COMPANIES)
        msg = EmailMessage()
        msg["From"] = f"{first} {last} <{first.lower()}.{last.lower()}@{company}.example>"
        msg["To"] = "agent@bench.test"
        msg["Subject"] = _fill(rnd.choice(subjects), rnd, first)
        msg["Date"] = format_datetime(start + timedelta(minutes=i * 10 + rnd.randint(0, 9)))
        msg["Message-ID"] = f"<bench{i}@{company}.example>"
        body = " ".join(_fill(s, rnd, first) for s in rnd.sample(sentences,
                                                                  k=min(len(sentences), 3)))
        body = f"Hi,\n\n{body}\n\nBest regards,\n{first} {last}\n"
        if rnd.random() < 0.1:
            msg.set_content(body)
            msg.add_alternative(f"<html><body><p>{body}</p></body></html>", subtype="html")
        else:
            msg.set_content(body)
        if cat == "invoice" and rnd.random() < 0.5:
            msg.add_attachment(b"%PDF-1.4\n%%EOF\n", maintype="application",
                               subtype="pdf", filename=f"invoice-{i}.pdf")
        yield cat, msg.as_bytes()


def _labelled_raw(i: int, subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Sender {i} <sender{i}@people.example>"
    msg["To"] = "agent@bench.test"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2025, 6, 1, tzinfo=UTC) + timedelta(hours=i))
    msg["Message-ID"] = f"<labelled{i}@people.example>"
    msg.set_content(body)
    return msg.as_bytes()


def _context(home: Path) -> tuple[ServiceContext, Agent]:
    settings = load_settings(home, env={"AGENTICMAIL_HOME": str(home)})
    ctx = build_context(settings)
    with transaction(ctx) as tx:
        agent_id = agent_store.insert_agent(
            tx.conn, name="bench", address="agent@bench.test", role=Role.SECRETARY,
            display_name="Bench", metadata={}, password_enc="-")
    agent = agent_store.find_agent_by_id(ctx.db, agent_id)
    assert agent is not None
    return ctx, agent


def _index(ctx: ServiceContext, agent: Agent, messages: list[bytes], first_uid: int = 1,
           batch: int = 500) -> list[int]:
    """Index ``messages`` as the ingest does (one parse, the sanitised text); their doc ids."""
    ids: list[int] = []
    for start in range(0, len(messages), batch):
        docs = []
        for offset, raw in enumerate(messages[start:start + batch]):
            uid = first_uid + start + offset
            parsed, text = search.parse_raw(raw, uid, "INBOX", ())
            docs.append(search.document(agent, "INBOX", 1, uid, parsed, text))
        with transaction(ctx) as tx:
            ids += [store.put(tx.conn, doc) for doc in docs]
    return ids


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


PHRASES = ["bank transfer", "tracking number", "pull request", "team lunch"]


def _queries(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    words = ["invoice", "meeting", "refund", "delivery", "warranty", "flight", "hotel",
             "payment", "review", "linter", "holiday", "timesheet", "Rechnung", "factura",
             "screen", "tracking", "agenda", "milestones", "rollback", "signature"]
    shapes = [
        lambda: rnd.choice(words),
        lambda: f"{rnd.choice(words)} {rnd.choice(PROJECTS)}",
        lambda: f"{rnd.choice(PRODUCTS)} {rnd.choice(['broken', 'repaired', 'shipped'])}",
        lambda: f'"{rnd.choice(PHRASES)}"',
        lambda: f"{rnd.choice(words)[:4]}*",
        lambda: f"from:{rnd.choice(FIRST).lower()} {rnd.choice(words)}",
        lambda: f"{rnd.choice(CITIES)} {rnd.choice(['flight', 'order', 'hotel'])}",
        lambda: f"has:attachment invoice {rnd.choice(COMPANIES)}",
        lambda: f"subject:{rnd.choice(PROJECTS)} is:unread",
        lambda: f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
    ]
    return [rnd.choice(shapes)() for _ in range(n)]


def _time(ctx: ServiceContext, agent: Agent, queries: list[str], mode: str,
          order: str | None = None) -> list[float]:
    out = []
    for q in queries:
        began = time.perf_counter()
        search.search(ctx, agent, q, mode=mode, order=order, limit=20, verify=False)
        out.append(time.perf_counter() - began)
    return out


def _recall(ctx: ServiceContext, agent: Agent, targets: dict[str, int]) -> dict[str, float]:
    out = {}
    modes = ["fulltext", *(["semantic", "hybrid"] if embedder.available() else [])]
    for mode in modes:
        found = 0
        for query, doc_id in targets.items():
            page = search.search(ctx, agent, query, mode=mode, limit=10, verify=False)
            found += any(h.doc_id == doc_id for h in page.hits)
        out[mode] = round(found / len(targets), 3)
    return out


def run(messages: int, queries: int, pool: int, semantic: bool = True) -> dict[str, Any]:
    import numpy as np

    result: dict[str, Any] = {"messages": messages}
    with tempfile.TemporaryDirectory(prefix="agenticmail-bench-search-") as tmp:
        ctx, agent = _context(Path(tmp))
        corpus = [raw for _, raw in generate(messages)]
        began = time.perf_counter()
        ids = _index(ctx, agent, corpus)
        elapsed = time.perf_counter() - began
        del corpus  # the RSS below is what serving the index costs, not the generator's
        gc.collect()
        result["build_msgs_per_s"] = round(messages / elapsed)
        result["build_s"] = round(elapsed, 1)
        ctx.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        result["fts_index_mb"] = round(ctx.db.path.stat().st_size / 2**20, 1)
        qs = _queries(queries)
        search.search(ctx, agent, "warm up", verify=False)
        result["fulltext_ranked"] = _percentiles(_time(ctx, agent, qs, "fulltext"))
        result["fulltext_newest"] = _percentiles(
            _time(ctx, agent, qs[:max(queries // 3, 50)], "fulltext", order="newest"))
        if not (semantic and embedder.available()):
            result["semantic"] = ("not measured: install agenticmail[semantic]"
                                  if semantic else "not measured (--fulltext-only)")
            result["rss_mb"] = round(_rss_mb())
            ctx.db.close()
            return result
        # real embeddings of a pool of messages (the build rate of the vectors) ...
        rnd = np.random.default_rng(3)
        sample = rnd.choice(len(ids), size=min(pool, len(ids)), replace=False)
        texts = [_doc_text(ctx, int(ids[i])) for i in sample]
        began = time.perf_counter()
        blobs = embedder.passages(texts)
        result["embed_msgs_per_s"] = round(len(texts) / (time.perf_counter() - began), 1)
        pool_vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)
        # ... spread over all the messages, each its pool neighbour's vector plus noise
        owner = rnd.integers(0, len(blobs), size=len(ids))
        noisy = pool_vectors[owner] + rnd.normal(0, 0.01, size=(len(ids), pool_vectors.shape[1]))
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        noisy = noisy.astype(np.float32)
        with transaction(ctx) as tx:
            store.put_vectors(tx.conn, embedder.MODEL,
                              [(int(d), agent.id, noisy[k].tobytes()) for k, d in enumerate(ids)])
        ctx.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        result["index_with_vectors_mb"] = round(ctx.db.path.stat().st_size / 2**20, 1)
        search.search(ctx, agent, "warm up", mode="hybrid", verify=False)  # loads the cache
        result["hybrid"] = _percentiles(_time(ctx, agent, qs[:max(queries // 3, 50)], "hybrid"))
        result["semantic"] = _percentiles(_time(ctx, agent, qs[:50], "semantic"))
        result["rss_mb"] = round(_rss_mb())
        ctx.db.close()
    result["recall_at_10"] = _recall_run(pool)
    return result


def _doc_text(ctx: ServiceContext, doc_id: int) -> str:
    row = ctx.db.one("SELECT subject, substr(body, 1, 2000) AS body FROM search_fts "
                     "WHERE rowid = ?", (doc_id,))
    assert row is not None
    return f"{row['subject']}\n{row['body']}"


def _recall_run(pool: int) -> dict[str, Any]:
    """Recall@10 on an index where every vector is real: the labelled targets among
    ``pool`` generated distractors."""
    with tempfile.TemporaryDirectory(prefix="agenticmail-bench-recall-") as tmp:
        ctx, agent = _context(Path(tmp))
        distractors = [raw for _, raw in generate(pool, seed=99)]
        _index(ctx, agent, distractors)
        labelled = [_labelled_raw(i, s, b) for i, (_, s, b) in enumerate(LABELLED)]
        ids = _index(ctx, agent, labelled, first_uid=pool + 1)
        while search.embed_pending(ctx, 64):
            pass
        targets = {q: doc_id for (q, _, _), doc_id in zip(LABELLED, ids, strict=True)}
        out: dict[str, Any] = {"queries": len(targets), "distractors": pool,
                               **_recall(ctx, agent, targets)}
        ctx.db.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--pool", type=int, default=2000,
                        help="messages embedded for real (vector rate, recall distractors)")
    parser.add_argument("--fulltext-only", action="store_true",
                        help="skip the embeddings (vector rate, hybrid, recall)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    result = run(args.messages, args.queries, args.pool, semantic=not args.fulltext_only)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
