"""Every REST route as a :class:`Call` (method, path, parameters, how to read the answer):
the sync and async clients both execute these, so each route is described once."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import AgenticMailError
from . import models as m
from ._base import Call, path_part

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

Attachments = Sequence[dict[str, Any]] | None


def _list(key: str, model: type[m.Model]) -> Any:
    return lambda body: [model.model_validate(x) for x in body[key]]


def _one(key: str, model: type[m.Model]) -> Any:
    return lambda body: model.model_validate(body[key])


def _model(model: type[m.Model]) -> Any:
    return model.model_validate


def as_is(body: Any) -> Any:
    """The JSON answer as it came (routes without a model of their own)."""
    return body


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _idem(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key} if key else {}


def whoami(agent: str | None) -> Call[list[m.Agent]]:
    return Call("GET", "/v1/agents", _list("agents", m.Agent))


def get_agent(name: str) -> Call[m.Agent]:
    return Call("GET", f"/v1/agents/{path_part(name)}", _one("agent", m.Agent))


def create_agent(name: str, role: str, display_name: str | None) -> Call[m.CreatedAgent]:
    return Call("POST", "/v1/agents", _model(m.CreatedAgent),
                body=_drop_none({"name": name, "role": role, "display_name": display_name}))


def delete_agent(name: str) -> Call[m.DeletedAgent]:
    return Call("DELETE", f"/v1/agents/{path_part(name)}", _model(m.DeletedAgent))


def list_keys(name: str) -> Call[list[m.KeyInfo]]:
    return Call("GET", f"/v1/agents/{path_part(name)}/keys", _list("keys", m.KeyInfo))


def create_key(name: str, key_name: str) -> Call[m.CreatedKey]:
    return Call("POST", f"/v1/agents/{path_part(name)}/keys", _model(m.CreatedKey),
                body={"name": key_name})


def revoke_key(name: str, key_name: str) -> Call[dict[str, Any]]:
    return Call("DELETE", f"/v1/agents/{path_part(name)}/keys/{path_part(key_name)}", as_is)


def list_folders(agent: str | None) -> Call[list[m.Folder]]:
    return Call("GET", "/v1/mail/folders", _list("folders", m.Folder), {"agent": agent})


def list_messages(agent: str | None, folder: str, limit: int, offset: int
                  ) -> Call[m.MessagePage]:
    return Call("GET", "/v1/mail/messages", _model(m.MessagePage),
                {"agent": agent, "folder": folder, "limit": limit, "offset": offset})


def get_message(agent: str | None, uid: int, folder: str, fence: bool) -> Call[m.Message]:
    def parse(body: Any) -> m.Message:
        return m.Message.model_validate({**body["message"], "security": body.get("security")})

    return Call("GET", f"/v1/mail/messages/{int(uid)}", parse,
                {"agent": agent, "folder": folder, "fence": fence or None})


def search(agent: str | None, folder: str, limit: int, **query: Any) -> Call[m.SearchResult]:
    params = {"agent": agent, "folder": folder, "limit": limit,
              **{("from" if k == "from_" else k): v for k, v in query.items()}}
    return Call("GET", "/v1/mail/search", _model(m.SearchResult), params)


def search_messages(agent: str | None, query: str, mode: str, order: str | None, limit: int,
                    offset: int) -> Call[m.SearchHits]:
    params = {"agent": agent, "q": query, "mode": mode, "order": order, "limit": limit,
              "offset": offset}
    return Call("GET", "/v1/mail/search", _model(m.SearchHits), params)


def send(agent: str | None, mail: dict[str, Any], idempotency_key: str | None
         ) -> Call[m.Accepted]:
    return Call("POST", "/v1/mail/send", _model(m.Accepted),
                body=_drop_none({"agent": agent, **mail}), headers=_idem(idempotency_key))


def reply(agent: str | None, uid: int, folder: str, text: str | None, html: str | None,
          reply_all: bool, attachments: Attachments, idempotency_key: str | None,
          signature: bool = True) -> Call[m.Accepted]:
    return Call("POST", f"/v1/mail/messages/{int(uid)}/reply", _model(m.Accepted),
                body=_drop_none({"agent": agent, "folder": folder, "text": text, "html": html,
                                 "reply_all": reply_all,
                                 "attachments": list(attachments or []),
                                 "signature": signature}),
                headers=_idem(idempotency_key))


def forward(agent: str | None, uid: int, folder: str, to: Sequence[str], cc: Sequence[str],
            text: str | None, html: str | None, as_attachment: bool, attachments: Attachments,
            idempotency_key: str | None, signature: bool = True) -> Call[m.Accepted]:
    return Call("POST", f"/v1/mail/messages/{int(uid)}/forward", _model(m.Accepted),
                body=_drop_none({"agent": agent, "folder": folder, "to": list(to),
                                 "cc": list(cc), "text": text, "html": html,
                                 "as_attachment": as_attachment,
                                 "attachments": list(attachments or []),
                                 "signature": signature}),
                headers=_idem(idempotency_key))


def set_flags(agent: str | None, uid: int, folder: str, add: Sequence[str],
              remove: Sequence[str]) -> Call[list[str]]:
    return Call("POST", f"/v1/mail/messages/{int(uid)}/flags", lambda b: list(b["flags"]),
                body=_drop_none({"agent": agent, "folder": folder, "add": list(add),
                                 "remove": list(remove)}))


def move(agent: str | None, uid: int, folder: str, to: str) -> Call[dict[str, Any]]:
    return Call("POST", f"/v1/mail/messages/{int(uid)}/move", as_is,
                body=_drop_none({"agent": agent, "folder": folder, "to": to}))


def delete(agent: str | None, uid: int, folder: str) -> Call[dict[str, Any]]:
    return Call("DELETE", f"/v1/mail/messages/{int(uid)}", as_is,
                {"agent": agent, "folder": folder})


def attachment(agent: str | None, uid: int, index: int, folder: str) -> Call[bytes]:
    return Call("GET", f"/v1/mail/messages/{int(uid)}/attachments/{int(index)}", as_is,
                {"agent": agent, "folder": folder}, headers={"Accept": "*/*"})


def list_threads(agent: str | None, limit: int, offset: int, fence: bool
                 ) -> Call[m.ThreadPage]:
    return Call("GET", "/v1/mail/threads", _model(m.ThreadPage),
                {"agent": agent, "limit": limit, "offset": offset, "fence": fence or None})


def get_thread(agent: str | None, thread_id: str, fence: bool) -> Call[m.Thread]:
    return Call("GET", f"/v1/mail/threads/{path_part(thread_id)}", _model(m.Thread),
                {"agent": agent, "fence": fence or None})


def wait(agent: str | None, thread: str | None, from_: str | None, subject: str | None,
         timeout: float, since: int | None, fence: bool) -> Call[m.WaitResult]:
    return Call("GET", "/v1/mail/wait", _model(m.WaitResult),
                {"agent": agent, "thread": thread, "from": from_, "subject": subject,
                 "timeout": timeout, "since": since, "fence": fence or None},
                timeout=timeout + 30)


def list_outbox(agent: str | None, status: str | None, limit: int, offset: int
                ) -> Call[list[m.OutboxEntry]]:
    return Call("GET", "/v1/mail/outbox", _list("outbox", m.OutboxEntry),
                {"agent": agent, "status": status, "limit": limit, "offset": offset})


def list_held(agent: str | None, status: str | None) -> Call[list[m.HeldMail]]:
    return Call("GET", "/v1/pending", lambda b: m.HeldList.model_validate(b).pending,
                {"agent": agent, "status": status})


def create_draft(agent: str | None, fields: dict[str, Any]) -> Call[m.Draft]:
    return Call("POST", "/v1/mail/drafts", _one("draft", m.Draft),
                body=_drop_none({"agent": agent, **fields}))


def update_draft(agent: str | None, draft_id: str, fields: dict[str, Any]) -> Call[m.Draft]:
    return Call("PATCH", f"/v1/mail/drafts/{path_part(draft_id)}", _one("draft", m.Draft),
                body=_drop_none({"agent": agent, **fields}))


def list_drafts(agent: str | None, limit: int, offset: int) -> Call[list[m.Draft]]:
    return Call("GET", "/v1/mail/drafts", _list("drafts", m.Draft),
                {"agent": agent, "limit": limit, "offset": offset})


def get_draft(agent: str | None, draft_id: str) -> Call[m.Draft]:
    return Call("GET", f"/v1/mail/drafts/{path_part(draft_id)}", _one("draft", m.Draft),
                {"agent": agent})


def send_draft(agent: str | None, draft_id: str, idempotency_key: str | None
               ) -> Call[m.Accepted]:
    return Call("POST", f"/v1/mail/drafts/{path_part(draft_id)}/send", _model(m.Accepted),
                body=_drop_none({"agent": agent}), headers=_idem(idempotency_key))


def delete_draft(agent: str | None, draft_id: str) -> Call[dict[str, Any]]:
    return Call("DELETE", f"/v1/mail/drafts/{path_part(draft_id)}", as_is, {"agent": agent})


# -- organising: tags, rules, contacts -----------------------------------------------------
def list_tags(agent: str | None) -> Call[list[m.Tag]]:
    return Call("GET", "/v1/tags", _list("tags", m.Tag), {"agent": agent})


def create_tag(agent: str | None, name: str, color: str | None) -> Call[m.Tag]:
    return Call("POST", "/v1/tags", _one("tag", m.Tag),
                body=_drop_none({"agent": agent, "name": name, "color": color}))


def delete_tag(agent: str | None, name: str) -> Call[dict[str, Any]]:
    return Call("DELETE", f"/v1/tags/{path_part(name)}", as_is, {"agent": agent})


def tag_messages(agent: str | None, name: str, uids: Sequence[int], folder: str
                 ) -> Call[m.Tagged]:
    return Call("POST", f"/v1/tags/{path_part(name)}/messages", _model(m.Tagged),
                body=_drop_none({"agent": agent, "folder": folder,
                                 "uids": [int(u) for u in uids]}))


def untag_message(agent: str | None, name: str, uid: int, folder: str) -> Call[m.Tagged]:
    return Call("DELETE", f"/v1/tags/{path_part(name)}/messages/{int(uid)}", _model(m.Tagged),
                {"agent": agent, "folder": folder})


def tagged_messages(agent: str | None, name: str, folder: str | None
                    ) -> Call[m.TaggedMessages]:
    return Call("GET", f"/v1/tags/{path_part(name)}/messages", _model(m.TaggedMessages),
                {"agent": agent, "folder": folder})


def list_rules(agent: str | None) -> Call[list[m.Rule]]:
    return Call("GET", "/v1/rules", _list("rules", m.Rule), {"agent": agent})


def create_rule(agent: str | None, rule: dict[str, Any]) -> Call[m.Rule]:
    return Call("POST", "/v1/rules", _one("rule", m.Rule),
                body=_drop_none({"agent": agent, **rule}))


def get_rule(agent: str | None, ref: str) -> Call[m.Rule]:
    return Call("GET", f"/v1/rules/{path_part(ref)}", _one("rule", m.Rule), {"agent": agent})


def update_rule(agent: str | None, ref: str, changes: dict[str, Any]) -> Call[m.Rule]:
    return Call("PATCH", f"/v1/rules/{path_part(ref)}", _one("rule", m.Rule),
                body=_drop_none({"agent": agent, **changes}))


def delete_rule(agent: str | None, ref: str) -> Call[dict[str, Any]]:
    return Call("DELETE", f"/v1/rules/{path_part(ref)}", as_is, {"agent": agent})


def test_rules(agent: str | None, rule: str | None, spec: dict[str, Any] | None, folder: str,
               limit: int) -> Call[m.RuleTest]:
    return Call("POST", "/v1/rules/test", _model(m.RuleTest),
                body=_drop_none({"agent": agent, "rule": rule, "spec": spec, "folder": folder,
                                 "limit": limit}))


def list_contacts(agent: str | None, status: str | None, query: str | None, limit: int,
                  offset: int) -> Call[m.ContactPage]:
    return Call("GET", "/v1/contacts", _model(m.ContactPage),
                {"agent": agent, "status": status, "q": query, "limit": limit,
                 "offset": offset})


def save_contact(agent: str | None, address: str, fields: dict[str, Any]) -> Call[m.Contact]:
    return Call("POST", "/v1/contacts", _one("contact", m.Contact),
                body={**_drop_none({"agent": agent}), "address": address, **fields})


def get_contact(agent: str | None, address: str) -> Call[m.Contact]:
    return Call("GET", f"/v1/contacts/{path_part(address)}", _one("contact", m.Contact),
                {"agent": agent})


def update_contact(agent: str | None, address: str, fields: dict[str, Any]
                   ) -> Call[m.Contact]:
    return Call("PATCH", f"/v1/contacts/{path_part(address)}", _one("contact", m.Contact),
                body={**_drop_none({"agent": agent}), **fields})


def delete_contact(agent: str | None, address: str) -> Call[dict[str, Any]]:
    return Call("DELETE", f"/v1/contacts/{path_part(address)}", as_is, {"agent": agent})
def list_scheduled(agent: str | None, limit: int, offset: int) -> Call[list[m.OutboxEntry]]:
    return Call("GET", "/v1/mail/scheduled", _list("scheduled", m.OutboxEntry),
                {"agent": agent, "limit": limit, "offset": offset})


def cancel_send(outbox_id: str) -> Call[m.OutboxEntry]:
    return Call("POST", f"/v1/mail/outbox/{path_part(outbox_id)}/cancel",
                _one("outbox", m.OutboxEntry))


def create_signature(agent: str | None, name: str, text: str | None, html: str | None,
                     default: bool) -> Call[m.Signature]:
    return Call("POST", "/v1/signatures", _one("signature", m.Signature),
                body=_drop_none({"agent": agent, "name": name, "text": text, "html": html,
                                 "default": default}))


def list_signatures(agent: str | None) -> Call[list[m.Signature]]:
    return Call("GET", "/v1/signatures", _list("signatures", m.Signature), {"agent": agent})


def update_signature(agent: str | None, name: str, text: str | None, html: str | None,
                     default: bool | None) -> Call[m.Signature]:
    return Call("PATCH", f"/v1/signatures/{path_part(name)}", _one("signature", m.Signature),
                body=_drop_none({"agent": agent, "text": text, "html": html,
                                 "default": default}))


def delete_signature(agent: str | None, name: str) -> Call[dict[str, Any]]:
    return Call("DELETE", f"/v1/signatures/{path_part(name)}", as_is, {"agent": agent})


def create_template(agent: str | None, name: str, subject: str, text: str | None,
                    html: str | None) -> Call[m.Template]:
    return Call("POST", "/v1/templates", _one("template", m.Template),
                body=_drop_none({"agent": agent, "name": name, "subject": subject,
                                 "text": text, "html": html}))


def list_templates(agent: str | None) -> Call[list[m.Template]]:
    return Call("GET", "/v1/templates", _list("templates", m.Template), {"agent": agent})


def get_template(agent: str | None, name: str) -> Call[m.Template]:
    return Call("GET", f"/v1/templates/{path_part(name)}", _one("template", m.Template),
                {"agent": agent})


def render_template(agent: str | None, name: str, variables: dict[str, Any]
                    ) -> Call[m.Rendered]:
    return Call("POST", f"/v1/templates/{path_part(name)}/render", _one("rendered", m.Rendered),
                body=_drop_none({"agent": agent, "variables": variables}))


def delete_template(agent: str | None, name: str) -> Call[dict[str, Any]]:
    return Call("DELETE", f"/v1/templates/{path_part(name)}", as_is, {"agent": agent})


def assign_task(agent: str | None, assignee: str, type_: str, payload: Any,
                deadline: str | None) -> Call[m.Task]:
    return Call("POST", "/v1/tasks", _one("task", m.Task),
                body=_drop_none({"agent": agent, "assignee": assignee, "type": type_,
                                 "payload": payload, "deadline": deadline}))


def list_tasks(agent: str | None, role: str, status: str | None, limit: int, offset: int
               ) -> Call[list[m.Task]]:
    return Call("GET", "/v1/tasks", _list("tasks", m.Task),
                {"agent": agent, "role": role, "status": status, "limit": limit,
                 "offset": offset})


def get_task(agent: str | None, task_id: str) -> Call[m.Task]:
    return Call("GET", f"/v1/tasks/{path_part(task_id)}", _one("task", m.Task),
                {"agent": agent})


def task_step(agent: str | None, task_id: str, step: str, result: Any) -> Call[m.Task]:
    """``claim``, ``complete`` or ``fail`` a task (with a JSON ``result``)."""
    body: dict[str, Any] = _drop_none({"agent": agent})
    if step != "claim":
        body["result"] = result
    return Call("POST", f"/v1/tasks/{path_part(task_id)}/{step}", _one("task", m.Task),
                body=body)


def export_page(agent: str | None, folder: str, after_uid: int, limit: int
                ) -> Call[m.ExportPage]:
    return Call("GET", "/v1/mail/export", _model(m.ExportPage),
                {"agent": agent, "folder": folder, "after_uid": after_uid, "limit": limit})


def import_message(agent: str | None, raw: bytes, flags: Sequence[str], date: str | None
                   ) -> Call[m.Imported]:
    return Call("POST", "/v1/mail/import", _model(m.Imported),
                body=_drop_none({"agent": agent, "flags": list(flags), "date": date,
                                 "raw_base64": base64.b64encode(raw).decode()}))


# -- the owner's routes (master key) and the rest of the mailbox ---------------------------
def rotate_key(name: str) -> Call[m.RotatedKey]:
    return Call("POST", f"/v1/agents/{path_part(name)}/rotate-key", _model(m.RotatedKey))


def rotate_password(name: str) -> Call[m.RotatedPassword]:
    return Call("POST", f"/v1/agents/{path_part(name)}/rotate-password",
                _model(m.RotatedPassword))


def update_metadata(name: str, metadata: dict[str, Any]) -> Call[m.Agent]:
    return Call("PATCH", f"/v1/agents/{path_part(name)}/metadata", _one("agent", m.Agent),
                body={"metadata": metadata})


def get_outbox(outbox_id: str) -> Call[m.OutboxEntry]:
    return Call("GET", f"/v1/mail/outbox/{path_part(outbox_id)}", _one("outbox", m.OutboxEntry))


def spam_log(agent: str | None, limit: int) -> Call[list[m.SpamLogEntry]]:
    return Call("GET", "/v1/mail/spam-log", lambda b: m.SpamLog.model_validate(b).spam,
                {"agent": agent, "limit": limit})


def not_spam(agent: str | None, uid: int, folder: str) -> Call[dict[str, Any]]:
    return Call("POST", f"/v1/mail/messages/{int(uid)}/not-spam", as_is,
                {"agent": agent, "folder": folder})


def create_folder(agent: str | None, name: str) -> Call[dict[str, Any]]:
    return Call("POST", "/v1/mail/folders", as_is, body=_drop_none({"agent": agent,
                                                                   "name": name}))


def batch(agent: str | None, action: str, folder: str, uids: Sequence[int], to: str | None
          ) -> Call[m.BatchResult]:
    return Call("POST", "/v1/mail/batch", _model(m.BatchResult),
                body=_drop_none({"agent": agent, "action": action, "folder": folder,
                                 "uids": list(uids), "to": to}))


def _held(body: Any) -> m.HeldMail:
    return m.HeldOne.model_validate(body).pending


def get_pending(pending_id: str) -> Call[m.HeldMail]:
    return Call("GET", f"/v1/pending/{path_part(pending_id)}", _held)


def decide_pending(pending_id: str, approve: bool) -> Call[m.HeldMail]:
    verb = "approve" if approve else "reject"
    return Call("POST", f"/v1/pending/{path_part(pending_id)}/{verb}", _held)


def audit(limit: int, offset: int, action: str | None, actor: str | None
          ) -> Call[m.AuditPage]:
    return Call("GET", "/v1/audit", _model(m.AuditPage),
                {"limit": limit, "offset": offset, "action": action, "actor": actor})


def verify_audit(anchors: Sequence[str]) -> Call[m.AuditCheck]:
    return Call("GET", "/v1/audit/verify", _model(m.AuditCheck),
                {"anchor": list(anchors) or None})


def _route(body: Any) -> m.Route | None:
    return m.RouteAnswer.model_validate(body).route


def _saved(extract: Callable[[Any], T | None], what: str) -> Callable[[Any], T]:
    """``extract``, for an answer that must carry ``what`` (the thing just saved)."""

    def parse(body: Any) -> T:
        value = extract(body)
        if value is None:
            raise AgenticMailError(f"the daemon answered without the {what} it saved")
        return value

    return parse


def get_route() -> Call[m.Route | None]:
    return Call("GET", "/v1/route", _route)


def set_route(route: dict[str, Any]) -> Call[m.Route]:
    return Call("PUT", "/v1/route", _saved(_route, "route"), body=route)


def clear_route() -> Call[m.Route | None]:
    return Call("DELETE", "/v1/route", _route)


def get_relay() -> Call[m.RelayStatus]:
    return Call("GET", "/v1/relay", lambda b: m.RelayAnswer.model_validate(b).relay)


def relay_presets() -> Call[dict[str, m.RelayPreset]]:
    return Call("GET", "/v1/relay/presets", lambda b: m.RelayPresets.model_validate(b).presets)


def _relay(body: Any) -> m.RelaySaved | None:
    return m.RelaySavedAnswer.model_validate(body).relay


def set_relay(relay: dict[str, Any]) -> Call[m.RelaySaved]:
    return Call("PUT", "/v1/relay", _saved(_relay, "relay account"), body=relay)


def disable_relay() -> Call[m.RelaySaved | None]:
    return Call("DELETE", "/v1/relay", _relay)


def create_webhook(url: str, events: Sequence[str], agent: str | None,
                   description: str | None) -> Call[m.CreatedWebhook]:
    return Call("POST", "/v1/webhooks", _model(m.CreatedWebhook),
                body=_drop_none({"url": url, "events": list(events), "agent": agent,
                                 "description": description}))


def list_webhooks(agent: str | None) -> Call[list[m.Webhook]]:
    return Call("GET", "/v1/webhooks", _list("webhooks", m.Webhook), {"agent": agent})


def get_webhook(webhook_id: str) -> Call[m.Webhook]:
    return Call("GET", f"/v1/webhooks/{path_part(webhook_id)}", _one("webhook", m.Webhook))


def update_webhook(webhook_id: str, changes: dict[str, Any]) -> Call[m.Webhook]:
    return Call("PATCH", f"/v1/webhooks/{path_part(webhook_id)}", _one("webhook", m.Webhook),
                body=_drop_none(changes))


def delete_webhook(webhook_id: str) -> Call[dict[str, Any]]:
    return Call("DELETE", f"/v1/webhooks/{path_part(webhook_id)}", as_is)


def rotate_webhook_secret(webhook_id: str) -> Call[m.CreatedWebhook]:
    return Call("POST", f"/v1/webhooks/{path_part(webhook_id)}/rotate-secret",
                _model(m.CreatedWebhook))


def test_webhook(webhook_id: str) -> Call[m.Event]:
    return Call("POST", f"/v1/webhooks/{path_part(webhook_id)}/test",
                lambda b: m.WebhookTestSent.model_validate(b).event)


def replay_webhook(webhook_id: str, message: str | None, since: str | None) -> Call[int]:
    return Call("POST", f"/v1/webhooks/{path_part(webhook_id)}/replay",
                lambda b: m.WebhookReplayed.model_validate(b).replayed,
                body=_drop_none({"webhook_id": message, "since": since}))


def webhook_deliveries(webhook_id: str, limit: int, offset: int
                       ) -> Call[list[m.WebhookDelivery]]:
    return Call("GET", f"/v1/webhooks/{path_part(webhook_id)}/deliveries",
                _list("deliveries", m.WebhookDelivery), {"limit": limit, "offset": offset})


def degraded(response: httpx.Response) -> bool:
    """A 503 that carries a health report (not an error body) is an answer, not a failure."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return False
    return response.status_code == 503 and isinstance(body, dict) and "error" not in body
