"""The relay worker: watches the relay account's INBOX and hands each new message to
:func:`agenticmail.services.relay_gateway.handle`.

One thread with one IMAP connection (IMAPS). IDLE where the server supports it (Gmail and
Outlook do), with a check every ``relay_poll_seconds`` that also proves the connection is
alive; otherwise a poll every ``relay_poll_seconds``. Messages are fetched with BODY.PEEK (the
owner's mail is never marked read). Any failure (network loss, server restart, revoked app
password, the agents' mail host down) is recorded in plain words in the relay status and
retried after 30 s, 1 m, 2 m, 4 m, then every 5 m, for as long as the daemon runs. Setup and
disable (``relay.configured`` / ``relay.disabled`` events) make it reconnect at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..errors import AgenticMailError, DeliveryError, MailHostUnavailable, SignInRequired
from ..events import RELAY_CONFIGURED, RELAY_DISABLED
from ..models import Event
from ..services import relay_gateway as service
from ..services.context import ServiceContext
from ..timestamps import now_iso
from .component import ComponentExited, Scope, in_thread

if TYPE_CHECKING:
    from ..mail.idle import FolderWatch

log = logging.getLogger(__name__)

WAIT_SLICE = 1.0  # how often the loop checks for stop/reconfigure while idling
UNCONFIGURED_RECHECK = 10.0
ACTIVITY_WRITE_EVERY = 10.0
POISON_LIMIT = 5  # a message that crashes the handler this often is skipped, not retried
STOP_WAIT = 3.0  # how long a stop waits for the thread before leaving it behind


class _Reconfigure(Exception):
    """Setup changed the account: reconnect now (not a failure)."""


class RelayWorker:
    """A supervised component: one thread running :meth:`_run`."""

    name = "relay"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.failures = 0
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._activity_written = 0.0
        self._poison: dict[int, int] = {}  # uid -> consecutive unexpected failures
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, stack: Scope) -> None:
        try:  # whatever a previous run left behind is stale now
            await in_thread(service.note, self.ctx, mode="starting", connected=0, failures=0,
                            next_retry_at=None)
        except AgenticMailError as exc:
            log.warning("relay: cannot reset its status: %s", exc)
        if self._thread is not None and self._thread.is_alive():  # left behind by a stop
            raise RuntimeError("the relay thread of the previous run is still busy (a call "
                               "to the provider hangs); starting again later")
        self._stop.clear()
        self._kick.clear()
        self.ctx.bus.add_listener(self._on_event)
        stack.callback(self.ctx.bus.remove_listener, self._on_event)
        thread = threading.Thread(target=self._thread_main, args=(stack,), name="relay",
                                  daemon=True)
        thread.start()
        self._thread = thread
        stack.push_async_callback(self._stop_thread, thread)

    async def _stop_thread(self, thread: threading.Thread) -> None:
        """Tell the thread to stop and wait :data:`STOP_WAIT` seconds for it; a call to the
        provider that hangs (its IMAP timeout is 30 s) is left behind: the thread never holds
        up the process's exit, a message it was handling is not checkpointed (handled again,
        duplicates skipped, at the next start), and no second loop starts while it lives."""
        self._stop.set()
        self._kick.set()
        await asyncio.to_thread(thread.join, STOP_WAIT)
        if thread.is_alive():
            log.warning("relay: still busy %.0f s after the stop (a call to the provider "
                        "hangs); left behind", STOP_WAIT)

    def _thread_main(self, scope: Scope) -> None:
        try:
            self._run()
        except BaseException as exc:  # the loop retries everything it expects; this is a bug
            scope.fail(exc)
        else:
            if not self._stop.is_set():
                scope.fail(ComponentExited("the relay loop stopped by itself"))

    def _on_event(self, event: Event) -> None:
        if event.type in (RELAY_CONFIGURED, RELAY_DISABLED):
            self._kick.set()

    # -- the loop ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._kick.clear()
            try:
                account = service.get_account(self.ctx)
            except Exception:
                log.exception("relay: cannot read the relay account")
                account = None
            if account is None:
                self._kick.wait(UNCONFIGURED_RECHECK)
                continue
            try:  # an OAuth2 account gets a fresh access token for each connection
                account, renew_at = service.signed_in(self.ctx, account)
            except SignInRequired as exc:
                self._signin_required(account, exc)
                continue
            except AgenticMailError as exc:  # the provider's token endpoint is unreachable
                self._failed(account, exc)
                continue
            watch = service.open_watch(self.ctx, account)
            try:
                self._session(watch, account, renew_at)
            except _Reconfigure:
                self.failures = 0
            except AgenticMailError as exc:
                self._failed(account, exc)
            except Exception as exc:  # a bug must not stop the relay for good
                log.exception("relay worker crashed; retrying")
                self._failed(account, exc)
            finally:
                watch.close()

    def _failed(self, account: service.RelayAccount, exc: BaseException) -> None:
        if self._stop.is_set():
            return
        try:  # OAuth2: the token may have been revoked; the retry renews it
            service.login_failed(self.ctx, account)
        except AgenticMailError as error:
            log.warning("relay: cannot drop its access token: %s", error)
        self.failures += 1
        delay = service.retry_delay(self.ctx, self.failures)
        why = service.explain(exc, account)
        retry_at = datetime.now(UTC) + timedelta(seconds=delay)
        log.warning("relay %s: %s; retry %d in %.0f s", account.address, why, self.failures,
                    delay)
        try:
            service.note(self.ctx, mode="retrying", connected=0, last_error=why,
                         last_error_at=now_iso(), failures=self.failures,
                         next_retry_at=retry_at.isoformat())
        except Exception:
            log.exception("relay: cannot record status")
        self._kick.wait(delay)

    def _signin_required(self, account: service.RelayAccount, exc: SignInRequired) -> None:
        """The OAuth2 grant is gone: no retries (they cannot help) until setup runs again."""
        why = service.explain(exc, account)
        log.warning("relay %s stopped: %s", account.address, why)
        self.failures = 0
        try:
            service.note(self.ctx, mode="signin_required", connected=0, last_error=why,
                         failures=0, next_retry_at=None)
        except Exception:
            log.exception("relay: cannot record status")
        self._kick.wait()  # relay.configured / relay.disabled, or the daemon stopping

    def _session(self, watch: FolderWatch, account: service.RelayAccount,
                 renew_at: float | None = None) -> None:
        """One connection; returns (to reconnect with a new token) at ``renew_at``."""
        uidvalidity = watch.connect()
        idle = watch.has_capability("IDLE")
        mode = "idle" if idle else "poll"
        service.note(self.ctx, mode=mode, connected=1, last_activity_at=now_iso(),
                     next_retry_at=None)
        saved = service.checkpoint(self.ctx, account)
        last_uid = saved[1] if saved is not None and saved[0] == uidvalidity else None
        if saved is not None and last_uid is None:
            log.warning("relay %s: UIDVALIDITY changed (%d -> %d); rescanning the newest %d "
                        "messages (duplicates are skipped)", account.address, saved[0],
                        uidvalidity, service.FIRST_RUN_NEWEST)
        last_uid = self._sync(watch, account, uidvalidity, last_uid)
        if self.failures:
            log.info("relay %s: connected again (%s) after %d failed attempts",
                     account.address, mode, self.failures)
        self.failures = 0
        service.note(self.ctx, failures=0)
        poll = max(float(self.ctx.settings.relay_poll_seconds), 1.0)
        last_sync = time.monotonic()
        while not self._stop.is_set():
            if self._kick.is_set():
                raise _Reconfigure
            if renew_at is not None and time.time() >= renew_at:
                log.info("relay %s: reconnecting with a renewed OAuth2 token", account.address)
                return
            due = time.monotonic() - last_sync >= poll
            if idle:
                kinds = watch.wait(WAIT_SLICE)
                if kinds:
                    self._activity(force=True)
                if "exists" in kinds or due:
                    last_uid = self._sync(watch, account, uidvalidity, last_uid)
                    last_sync = time.monotonic()
            elif due:
                last_uid = self._sync(watch, account, uidvalidity, last_uid)
                last_sync = time.monotonic()
            else:
                self._kick.wait(min(WAIT_SLICE, poll))

    def _handle(self, account: service.RelayAccount, uidvalidity: int, uid: int, raw: bytes
                ) -> None:
        try:
            outcome = service.handle(self.ctx, account, uidvalidity, uid, raw)
        except (DeliveryError, MailHostUnavailable):
            raise  # the agents' mail host: retried for as long as it takes
        except Exception as exc:
            count = self._poison.get(uid, 0) + 1
            if count < POISON_LIMIT:
                self._poison[uid] = count
                raise
            self._poison.pop(uid, None)
            log.error("relay uid %d failed %d times (%s); skipping it", uid, count, exc)
            service.advance(self.ctx, account, uidvalidity, uid, "failed")
            return
        self._poison.pop(uid, None)
        log.debug("relay uid %d: %s", uid, outcome)

    def _activity(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._activity_written >= ACTIVITY_WRITE_EVERY:
            self._activity_written = now
            service.note(self.ctx, last_activity_at=now_iso())

    def _sync(self, watch: FolderWatch, account: service.RelayAccount, uidvalidity: int,
              last_uid: int | None) -> int:
        """Handle every message after the checkpoint, in UID order; stop at the first
        failure (it raises), leaving the checkpoint on the last message handled."""
        if last_uid is None:  # first run (or a new UIDVALIDITY): the newest 50 only
            uids = watch.uids_after(0)[-service.FIRST_RUN_NEWEST:]
            last_uid = uids[0] - 1 if uids else 0
            service.advance(self.ctx, account, uidvalidity, last_uid)
        else:
            uids = watch.uids_after(last_uid)
        self._activity()
        for uid in uids:
            if self._stop.is_set():
                break
            fetched = watch.fetch(uid)  # BODY.PEEK[]: \Seen stays as the owner left it
            if fetched is None:  # expunged meanwhile
                service.advance(self.ctx, account, uidvalidity, uid)
            else:
                self._handle(account, uidvalidity, uid, fetched[0])
            last_uid = uid
        return last_uid
