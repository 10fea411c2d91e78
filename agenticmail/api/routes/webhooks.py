"""/v1/webhooks: register, list, show, change and delete webhook endpoints; rotate a secret,
send a test event, replay messages, list delivery attempts. An agent key sees and changes only
its own endpoints (and may register only public https URLs)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...client import models as answers
from ...services import webhooks as svc
from .. import errors
from ..auth import Caller, Ctx
from ..schemas import Offset, WebhookCreate, WebhookPatch, WebhookReplay
from .mail import AgentQ

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"],
                   responses=errors.documented(403, 404))


@router.post("", status_code=201, response_model=answers.CreatedWebhook)
def create_webhook(body: WebhookCreate, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """Register an endpoint; the answer holds its ``whsec_…`` signing secret, once."""
    return svc.create(ctx, caller, body.url, body.events, body.agent,
                      body.description).to_dict()


@router.get("", response_model=answers.WebhookList)
def list_webhooks(ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    return {"webhooks": [e.to_dict() for e in svc.list_endpoints(ctx, caller, agent)]}


@router.get("/{webhook_id}", response_model=answers.WebhookOne)
def get_webhook(webhook_id: str, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    return {"webhook": svc.get(ctx, caller, webhook_id).to_dict()}


@router.patch("/{webhook_id}", response_model=answers.WebhookOne)
def update_webhook(webhook_id: str, body: WebhookPatch, ctx: Ctx, caller: Caller
                   ) -> dict[str, Any]:
    """Change the URL, the event filter, the description; ``enabled`` turns deliveries off
    or back on (after a 410 or too many failures)."""
    endpoint = svc.update(ctx, caller, webhook_id, url=body.url, events=body.events,
                          description=body.description, enabled=body.enabled)
    return {"webhook": endpoint.to_dict()}


@router.delete("/{webhook_id}")
def delete_webhook(webhook_id: str, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    svc.delete(ctx, caller, webhook_id)
    return {"id": webhook_id, "deleted": True}


@router.post("/{webhook_id}/rotate-secret", response_model=answers.CreatedWebhook)
def rotate_webhook_secret(webhook_id: str, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """A new signing secret (shown once); the old one stops being used at once."""
    return svc.rotate_secret(ctx, caller, webhook_id).to_dict()


@router.post("/{webhook_id}/test", status_code=202, response_model=answers.WebhookTestSent)
def test_webhook(webhook_id: str, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """Queue a ``webhook.test`` event for this endpoint alone."""
    return {"event": svc.send_test(ctx, caller, webhook_id).to_dict()}


@router.post("/{webhook_id}/replay", status_code=202, response_model=answers.WebhookReplayed)
def replay_webhook(webhook_id: str, body: WebhookReplay, ctx: Ctx, caller: Caller
                   ) -> dict[str, Any]:
    """Send one message again (``webhook_id``) or every message since a time: same
    ``webhook-id`` and body, new ``webhook-timestamp``."""
    count = svc.replay(ctx, caller, webhook_id, webhook_id=body.webhook_id, since=body.since)
    return {"replayed": count}


@router.get("/{webhook_id}/deliveries", response_model=answers.WebhookDeliveries)
def webhook_deliveries(webhook_id: str, ctx: Ctx, caller: Caller,
                       limit: Annotated[int, Query(ge=1, le=svc.MAX_DELIVERIES)] = 50,
                       offset: Offset = 0) -> dict[str, Any]:
    """Recent delivery attempts, newest first: status code, response time, outcome."""
    return {"deliveries": svc.deliveries(ctx, caller, webhook_id, limit, offset)}
